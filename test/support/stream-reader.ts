/**
 * Reads a Dequeue stream into an array; tests await counts and the end instead of
 * sleeping.
 */
import type { ClientReadableStream, StatusObject } from '@grpc/grpc-js';
import type { DequeueResponse, Message } from '../../generated/coramq/v1/queue';

export class StreamReader {
  readonly messages: Message[] = [];
  /** How many messages each frame (DequeueResponse) carried, in order. */
  readonly frameSizes: number[] = [];
  status: StatusObject | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly call: ClientReadableStream<DequeueResponse>) {
    call.on('data', (r: DequeueResponse) => {
      this.frameSizes.push(r.messages.length);
      this.messages.push(...r.messages);
      this.notify();
    });
    call.on('status', (s: StatusObject) => {
      this.status = s;
      this.notify();
    });
    call.on('error', () => {}); // the status event carries it
  }

  get frames(): number {
    return this.frameSizes.length;
  }

  get ids(): string[] {
    return this.messages.map((m) => m.id);
  }

  /** Resolves with the first n messages once they have arrived; rejects if the stream ends first. */
  async take(n: number): Promise<Message[]> {
    await this.until(() => this.messages.length >= n || this.status !== null);
    if (this.messages.length < n) {
      throw new Error(`stream ended (${this.status?.code} ${this.status?.details}) after ${this.messages.length} of ${n} messages`);
    }
    return this.messages.slice(0, n);
  }

  /** Resolves with the final status. */
  async ended(): Promise<StatusObject> {
    await this.until(() => this.status !== null);
    return this.status as StatusObject;
  }

  cancel(): void {
    this.call.cancel();
  }

  private until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (cond()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }
}

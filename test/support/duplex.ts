/**
 * A bidirectional call (EnqueueStream, AckStream) of the generated client, read into an
 * array: tests send requests, then await a count of responses or the final status instead
 * of sleeping.
 */
import type { ClientDuplexStream, StatusObject } from '@grpc/grpc-js';

export class Duplex<Req, Res> {
  readonly responses: Res[] = [];
  status: StatusObject | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly call: ClientDuplexStream<Req, Res>) {
    call.on('data', (r: Res) => this.push(() => this.responses.push(r)));
    call.on('status', (s: StatusObject) => this.push(() => (this.status = s)));
    call.on('error', () => {}); // the status event carries it
  }

  send(r: Req): void {
    this.call.write(r);
  }

  /** The first n responses, once they have arrived; rejects if the stream ends first. */
  async take(n: number): Promise<Res[]> {
    await this.until(() => this.responses.length >= n || this.status !== null);
    if (this.responses.length < n) throw new Error(`stream ended (${this.status?.code} ${this.status?.details}) after ${this.responses.length}`);
    return this.responses.slice(0, n);
  }

  /** The final status. */
  async ended(): Promise<StatusObject> {
    await this.until(() => this.status !== null);
    return this.status as StatusObject;
  }

  private push(f: () => void): void {
    f();
    const w = this.waiters;
    this.waiters = [];
    w.forEach((g) => g());
  }

  private until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => (cond() ? resolve() : void this.waiters.push(check));
      this.waiters.push(check);
    });
  }
}

/**
 * @coramq/client: the TypeScript client of CoraMQ. See README.md.
 */
export { CoraMQClient } from './client';
export type { ClientOptions, EnqueueOptions, BatchMessage, BatchResult, ReceiveOptions } from './client';
export type { CallOptions } from './call-options';
export type { BackoffOptions } from './backoff';
export type { BatchingOptions } from './coalescer';
export type { Clock } from './clock';
export type { TlsOptions } from './connection';
export type { Payload, JsonValue, QueueConfig, QueueStats, QueueInfo } from './convert';
export type { EnqueueResult } from './enqueuer';
export { ReceivedMessage } from './received-message';
export type { NackOptions } from './received-message';
export { Subscription } from './subscription';
export type { SubscribeOptions } from './subscription';
export { Worker, defaultRetryDelay } from './worker';
export type { ConsumeOptions, Handler, WorkerEvent } from './worker';
export {
  CoraMQError,
  QueueNotFoundError,
  QueueExistsError,
  QueueInUseError,
  MessageNotFoundError,
  InvalidReceiptError,
  InvalidArgumentError,
  ResourceExhaustedError,
  UnavailableError,
  UnauthenticatedError,
  DeadlineExceededError,
  CancelledError,
} from './errors';

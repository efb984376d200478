/**
 * Server configuration: one table of options, each settable by a command-line flag and an
 * environment variable (the flag wins). README's configuration table mirrors OPTIONS (a
 * test keeps them in step).
 */
import { HTTP2_DEFAULT_WINDOW, HTTP2_MAX_WINDOW } from './wire/http2-window';

export interface Limits {
  maxPayloadBytes: number;
  maxBatchSize: number;
  maxAttributes: number;
  maxAttributeValueBytes: number;
  maxQueues: number;
  defaultMaxDepth: number;
  maxConsumersPerQueue: number;
  defaultMaxInFlight: number;
  maxInFlight: number;
  maxDelayMs: number;
  defaultVisibilityTimeoutMs: number;
  maxRequestBytes: number;
}

/** The write-ahead log (--storage wal); src/storage/wal/ says what each does. */
export interface WalConfig {
  fsync: 'always' | 'interval' | 'never';
  fsyncIntervalMs: number;
  /** How many batches of records may be on their way to disk at once. */
  writesInFlight: number;
  /** Size of each (preallocated) segment file. */
  segmentSize: number;
  /** Log space kept free beyond reservations when a new message is taken. */
  headroom: number;
  /** Compact when dead bytes reach this many times the live bytes. */
  compactRatio: number;
  /** Bytes read and moved per compaction step. */
  compactStepBytes: number;
  /** Drop damaged records instead of refusing to start. */
  repair: boolean;
}

export interface ServerConfig {
  host: string;
  port: number;
  logLevel: string;
  storage: 'memory' | 'wal';
  dataDir: string;
  wal: WalConfig;
  authToken: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  shutdownGraceMs: number;
  /** Most deliveries made in one turn of the event loop, across Dequeue streams (delivery-pacer.ts). */
  deliveriesPerTurn: number;
  /** HTTP/2 receive window per connection and per stream, in bytes (receive-window.ts). */
  receiveWindow: number;
  limits: Limits;
  // HTTP JSON API (src/http/)
  /** null: the HTTP API is off. */
  httpPort: number | null;
  httpMaxBodyBytes: number;
  httpRequestTimeoutMs: number;
}

type Kind = 'string' | 'int' | 'bytes' | 'duration' | 'bool';

interface Option {
  flag: string;
  env: string;
  kind: Kind;
  default: string | null;
  help: string;
  apply(config: ServerConfig, value: string | number | boolean): void;
  choices?: string[];
}

const limit =
  (key: keyof Limits) =>
  (c: ServerConfig, v: string | number | boolean): void => {
    c.limits[key] = v as number;
  };

const wal =
  <K extends keyof WalConfig>(key: K) =>
  (c: ServerConfig, v: string | number | boolean): void => {
    c.wal[key] = v as WalConfig[K];
  };

export const OPTIONS: Option[] = [
  { flag: 'host', env: 'CORAMQ_HOST', kind: 'string', default: '127.0.0.1', help: 'Address to listen on (0.0.0.0 for every interface).', apply: (c, v) => (c.host = v as string) },
  { flag: 'port', env: 'CORAMQ_PORT', kind: 'int', default: '50051', help: 'gRPC port (0 picks a free one).', apply: (c, v) => (c.port = v as number) },
  { flag: 'log-level', env: 'CORAMQ_LOG_LEVEL', kind: 'string', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], help: 'pino log level.', apply: (c, v) => (c.logLevel = v as string) },
  { flag: 'storage', env: 'CORAMQ_STORAGE', kind: 'string', default: 'wal', choices: ['wal', 'memory'], help: 'Where queues live: wal (a write-ahead log in --data-dir, survives crashes) or memory (nothing survives a restart).', apply: (c, v) => (c.storage = v as ServerConfig['storage']) },
  { flag: 'data-dir', env: 'CORAMQ_DATA_DIR', kind: 'string', default: './data', help: 'Directory for durable storage (created if missing; one server per directory).', apply: (c, v) => (c.dataDir = v as string) },
  // ---- the write-ahead log (--storage wal) ----
  { flag: 'fsync', env: 'CORAMQ_FSYNC', kind: 'string', default: 'always', choices: ['always', 'interval', 'never'], help: 'always: reply only once the change is on disk; interval: once written to the OS, fsync every --fsync-interval; never: once written to the OS, fsync left to the OS. interval and never survive a crash of the server, not of the machine.', apply: wal('fsync') },
  { flag: 'fsync-interval', env: 'CORAMQ_FSYNC_INTERVAL', kind: 'duration', default: '100ms', help: 'With --fsync interval: how often the log is fsynced.', apply: wal('fsyncIntervalMs') },
  { flag: 'wal-writes-in-flight', env: 'CORAMQ_WAL_WRITES_IN_FLIGHT', kind: 'int', default: '4', help: 'How many batches of log records may be on their way to disk at once, so the disk stays busy while the server handles the batch before; replies still go out in order. 1 writes one batch at a time.', apply: wal('writesInFlight') },
  { flag: 'wal-segment-size', env: 'CORAMQ_WAL_SEGMENT_SIZE', kind: 'bytes', default: '32MiB', help: 'Size of each log segment file (preallocated on disk).', apply: wal('segmentSize') },
  { flag: 'wal-headroom', env: 'CORAMQ_WAL_HEADROOM', kind: 'bytes', default: '1MiB', help: 'Preallocated log space kept free for deliveries and nacks when the disk is full (new messages are refused before it is used).', apply: wal('headroom') },
  { flag: 'wal-compact-ratio', env: 'CORAMQ_WAL_COMPACT_RATIO', kind: 'int', default: '2', help: 'Compact the log when its dead bytes reach this many times its live bytes.', apply: wal('compactRatio') },
  { flag: 'wal-compact-step', env: 'CORAMQ_WAL_COMPACT_STEP', kind: 'bytes', default: '256KiB', help: 'Log bytes compaction reads and moves per step (bounds each event-loop pause).', apply: wal('compactStepBytes') },
  { flag: 'wal-repair', env: 'CORAMQ_WAL_REPAIR', kind: 'bool', default: 'false', help: 'Start even when the log is damaged in the middle: damaged records are dropped (and logged) instead of stopping the start.', apply: wal('repair') },
  { flag: 'auth-token', env: 'CORAMQ_AUTH_TOKEN', kind: 'string', default: null, help: 'When set, every QueueService call and HTTP API request must send `authorization: Bearer <token>` (else UNAUTHENTICATED, HTTP 401). Health (gRPC and GET /health) and reflection stay open.', apply: (c, v) => (c.authToken = v as string) },
  { flag: 'tls-cert', env: 'CORAMQ_TLS_CERT', kind: 'string', default: null, help: 'PEM certificate file: serve TLS (with --tls-key).', apply: (c, v) => (c.tlsCert = v as string) },
  { flag: 'tls-key', env: 'CORAMQ_TLS_KEY', kind: 'string', default: null, help: 'PEM private key file for --tls-cert.', apply: (c, v) => (c.tlsKey = v as string) },
  { flag: 'shutdown-grace', env: 'CORAMQ_SHUTDOWN_GRACE', kind: 'duration', default: '10s', help: 'On SIGTERM/SIGINT, how long running calls get to finish before they are cancelled.', apply: (c, v) => (c.shutdownGraceMs = v as number) },
  { flag: 'deliveries-per-turn', env: 'CORAMQ_DELIVERIES_PER_TURN', kind: 'int', default: '2048', help: 'Most messages the server delivers in one turn of its event loop, across all Dequeue streams; the rest go in the next turns, once what was made has left. Bounds the stall when many streams subscribe to a backlog at once.', apply: (c, v) => (c.deliveriesPerTurn = v as number) },
  { flag: 'receive-window', env: 'CORAMQ_RECEIVE_WINDOW', kind: 'bytes', default: '8MiB', help: "How much a client may send on one connection, and on each stream, before the server has read it (HTTP/2 flow control; HTTP/2's own window is 65535 bytes). Lets many acks be on their way at once; it is also what the server may hold unread per connection.", apply: (c, v) => (c.receiveWindow = v as number) },
  { flag: 'max-payload-bytes', env: 'CORAMQ_MAX_PAYLOAD_BYTES', kind: 'bytes', default: '256KiB', help: 'Largest message payload (INVALID_ARGUMENT beyond).', apply: limit('maxPayloadBytes') },
  { flag: 'max-batch-size', env: 'CORAMQ_MAX_BATCH_SIZE', kind: 'int', default: '1000', help: 'Most entries in one EnqueueBatch or AckBatch (INVALID_ARGUMENT beyond).', apply: limit('maxBatchSize') },
  { flag: 'max-attributes', env: 'CORAMQ_MAX_ATTRIBUTES', kind: 'int', default: '16', help: 'Most attributes on one message (INVALID_ARGUMENT beyond).', apply: limit('maxAttributes') },
  { flag: 'max-attribute-value-bytes', env: 'CORAMQ_MAX_ATTRIBUTE_VALUE_BYTES', kind: 'bytes', default: '1024', help: 'Longest attribute value, in UTF-8 bytes.', apply: limit('maxAttributeValueBytes') },
  { flag: 'max-queues', env: 'CORAMQ_MAX_QUEUES', kind: 'int', default: '10000', help: 'Most queues on the server (RESOURCE_EXHAUSTED beyond).', apply: limit('maxQueues') },
  { flag: 'default-max-depth', env: 'CORAMQ_DEFAULT_MAX_DEPTH', kind: 'int', default: '10000000', help: 'max_depth of a queue created without one (RESOURCE_EXHAUSTED beyond).', apply: limit('defaultMaxDepth') },
  { flag: 'max-consumers-per-queue', env: 'CORAMQ_MAX_CONSUMERS_PER_QUEUE', kind: 'int', default: '1000', help: 'Most open Dequeue streams on one queue (RESOURCE_EXHAUSTED beyond).', apply: limit('maxConsumersPerQueue') },
  { flag: 'default-max-in-flight', env: 'CORAMQ_DEFAULT_MAX_IN_FLIGHT', kind: 'int', default: '100', help: 'max_in_flight of a Dequeue stream that sets 0.', apply: limit('defaultMaxInFlight') },
  { flag: 'max-in-flight', env: 'CORAMQ_MAX_IN_FLIGHT', kind: 'int', default: '10000', help: 'Largest max_in_flight a Dequeue stream may ask for.', apply: limit('maxInFlight') },
  { flag: 'max-delay', env: 'CORAMQ_MAX_DELAY', kind: 'duration', default: '7d', help: 'Longest Enqueue or Nack delay.', apply: limit('maxDelayMs') },
  { flag: 'default-visibility-timeout', env: 'CORAMQ_DEFAULT_VISIBILITY_TIMEOUT', kind: 'duration', default: '10s', help: 'visibility_timeout of a queue created without one (at most 12h).', apply: limit('defaultVisibilityTimeoutMs') },
  { flag: 'max-request-bytes', env: 'CORAMQ_MAX_REQUEST_BYTES', kind: 'bytes', default: '16MiB', help: 'Largest gRPC request message (grpc-js answers RESOURCE_EXHAUSTED beyond).', apply: limit('maxRequestBytes') },
  // HTTP JSON API (src/http/)
  { flag: 'http-port', env: 'CORAMQ_HTTP_PORT', kind: 'int', default: null, help: 'Port of the HTTP JSON API (the original CoraMQ API, on the same queues as gRPC); off when unset, 0 picks a free one.', apply: (c, v) => (c.httpPort = v as number) },
  { flag: 'http-max-body-bytes', env: 'CORAMQ_HTTP_MAX_BODY_BYTES', kind: 'bytes', default: '2MiB', help: 'Largest HTTP request body (413 beyond); the default fits a 256KiB payload even if every byte is \\u-escaped.', apply: (c, v) => (c.httpMaxBodyBytes = v as number) },
  { flag: 'http-request-timeout', env: 'CORAMQ_HTTP_REQUEST_TIMEOUT', kind: 'duration', default: '5m', help: 'Longest time a client may take to send one HTTP request, headers and body (408 beyond); the wait of a long-poll does not count.', apply: (c, v) => (c.httpRequestTimeoutMs = v as number) },
];

export const MAX_VISIBILITY_TIMEOUT_MS = 12 * 3600 * 1000;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, kb: 1000, mib: 1024 ** 2, mb: 1000 ** 2, gib: 1024 ** 3, gb: 1000 ** 3 };

/** '10s', '500ms', '7d', '2h' or a plain number of milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (m === null) throw new Error(`'${text}' is not a duration (use e.g. 500ms, 10s, 5m, 2h, 7d)`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']);
}

/** '256KiB', '16MiB', '1024' (bytes). */
export function parseBytes(text: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m === null ? undefined : BYTE_UNITS[m[2].toLowerCase()];
  if (m === null || unit === undefined) throw new Error(`'${text}' is not a size (use e.g. 1024, 256KiB, 16MiB)`);
  return Number(m[1]) * unit;
}

function parseValue(o: Option, raw: string): string | number | boolean {
  if (o.choices !== undefined && !o.choices.includes(raw)) {
    throw new Error(`--${o.flag} must be one of ${o.choices.join(', ')} (got '${raw}')`);
  }
  switch (o.kind) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^\d+$/.test(raw.trim())) throw new Error(`--${o.flag} must be a whole number (got '${raw}')`);
      return Number(raw);
    }
    case 'bytes':
      return parseBytes(raw);
    case 'duration':
      return parseDuration(raw);
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      throw new Error(`--${o.flag} must be true or false (got '${raw}')`);
    }
  }
}

export function defaultConfig(): ServerConfig {
  return loadConfig([], {});
}

/**
 * Builds the configuration from flags (`--port 50051` or `--port=50051`) and environment
 * variables. Throws an Error with a message for a person on anything invalid.
 */
export function loadConfig(argv: string[], env: Record<string, string | undefined>): ServerConfig {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const option = OPTIONS.find((o) => o.flag === name);
    if (option === undefined) throw new Error(`unknown option --${name} (see coramq serve --help)`);
    // A boolean flag alone means true (--wal-repair); --wal-repair=false says otherwise.
    const value = eq >= 0 ? arg.slice(eq + 1) : option.kind === 'bool' ? 'true' : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags.set(name, value);
  }
  const config: ServerConfig = {
    host: '',
    port: 0,
    logLevel: '',
    storage: 'memory',
    dataDir: '',
    wal: {} as WalConfig,
    authToken: null,
    tlsCert: null,
    tlsKey: null,
    shutdownGraceMs: 0,
    deliveriesPerTurn: 0,
    receiveWindow: 0,
    limits: {} as Limits,
    httpPort: null,
    httpMaxBodyBytes: 0,
    httpRequestTimeoutMs: 0,
  };
  for (const o of OPTIONS) {
    const raw = flags.get(o.flag) ?? env[o.env] ?? o.default;
    if (raw !== null) o.apply(config, parseValue(o, raw));
  }
  checkConfig(config);
  return config;
}

function checkConfig(c: ServerConfig): void {
  if (c.port > 65535) throw new Error(`--port must be at most 65535 (got ${c.port})`);
  if ((c.tlsCert === null) !== (c.tlsKey === null)) throw new Error('--tls-cert and --tls-key go together');
  if (c.deliveriesPerTurn < 1) throw new Error(`--deliveries-per-turn must be at least 1 (got ${c.deliveriesPerTurn})`);
  if (c.receiveWindow < HTTP2_DEFAULT_WINDOW || c.receiveWindow > HTTP2_MAX_WINDOW) {
    throw new Error(`--receive-window must be from ${HTTP2_DEFAULT_WINDOW} bytes (HTTP/2's own window) to ${HTTP2_MAX_WINDOW} (2^31 - 1, HTTP/2's largest) (got ${c.receiveWindow})`);
  }
  const l = c.limits;
  if (l.defaultVisibilityTimeoutMs < 1 || l.defaultVisibilityTimeoutMs > MAX_VISIBILITY_TIMEOUT_MS) {
    throw new Error('--default-visibility-timeout must be between 1ms and 12h');
  }
  for (const key of ['maxBatchSize', 'maxQueues', 'defaultMaxDepth', 'maxConsumersPerQueue', 'defaultMaxInFlight', 'maxInFlight', 'maxRequestBytes'] as const) {
    if (l[key] < 1) throw new Error(`${key} must be at least 1`);
  }
  if (l.defaultMaxInFlight > l.maxInFlight) throw new Error('--default-max-in-flight may not exceed --max-in-flight');
  // HTTP JSON API
  if (c.httpPort !== null && c.httpPort > 65535) throw new Error(`--http-port must be at most 65535 (got ${c.httpPort})`);
  if (c.httpPort !== null && c.httpPort !== 0 && c.httpPort === c.port) throw new Error('--http-port must differ from --port');
  if (c.httpMaxBodyBytes < l.maxPayloadBytes) {
    throw new Error('--http-max-body-bytes must be at least --max-payload-bytes, or a largest payload could never be sent over HTTP');
  }
  if (c.httpRequestTimeoutMs < 1) throw new Error('--http-request-timeout must be at least 1ms');
  checkWalConfig(c);
}

/** The largest record a message can make in the log (payload, attributes, dead-letter attributes, fixed fields). */
export function maxRecordBytes(l: Limits): number {
  return l.maxPayloadBytes + l.maxAttributes * (l.maxAttributeValueBytes + 134) + 4096;
}

function checkWalConfig(c: ServerConfig): void {
  const w = c.wal;
  if (w.fsyncIntervalMs < 1) throw new Error('--fsync-interval must be at least 1ms');
  if (w.compactRatio < 1) throw new Error('--wal-compact-ratio must be at least 1');
  if (w.writesInFlight < 1 || w.writesInFlight > 64) throw new Error('--wal-writes-in-flight must be between 1 and 64');
  if (w.compactStepBytes < 4096) throw new Error('--wal-compact-step must be at least 4KiB');
  // A segment holds the table of every queue (at most 200 bytes each) and at least two of the largest records.
  const minSegment = 200 * c.limits.maxQueues + 2 * maxRecordBytes(c.limits);
  if (w.segmentSize < minSegment) {
    throw new Error(
      `--wal-segment-size must be at least ${minSegment} bytes with these limits (--max-queues, --max-payload-bytes, --max-attributes, --max-attribute-value-bytes)`,
    );
  }
  if (w.segmentSize > 2 ** 31) throw new Error('--wal-segment-size must be at most 2GiB');
  if (c.limits.maxAttributes > MAX_ATTRIBUTES) {
    throw new Error(`--max-attributes must be at most ${MAX_ATTRIBUTES} (a log record counts a message's attributes in 16 bits, and dead-lettering adds up to 4)`);
  }
}

/** Most attributes a message may be given: with the dead-letter ones (DLQ_ATTRIBUTE), 65,535, what a log record can count. */
export const MAX_ATTRIBUTES = 65_535 - 4;

/** `coramq serve --help`. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => `  --${o.flag.padEnd(28)} ${o.env.padEnd(36)} ${o.default ?? '(unset)'}\n      ${o.help}`);
  return ['Usage: coramq serve [options]', '', '  option                         environment variable                 default', ...rows].join('\n');
}

import { defaultConfig, loadConfig, OPTIONS, parseBytes, parseDuration } from '../src/config';

test('defaults', () => {
  const c = defaultConfig();
  expect(c).toMatchObject({ host: '127.0.0.1', port: 50051, logLevel: 'info', storage: 'wal', dataDir: './data', authToken: null, shutdownGraceMs: 10_000 });
  expect(c.wal).toEqual({
    fsync: 'always',
    fsyncIntervalMs: 100,
    writesInFlight: 4,
    segmentSize: 32 * 1024 * 1024,
    headroom: 1024 * 1024,
    compactRatio: 2,
    compactStepBytes: 256 * 1024,
    repair: false,
  });
  expect(c.limits).toEqual({
    maxPayloadBytes: 262_144,
    maxBatchSize: 1000,
    maxAttributes: 16,
    maxAttributeValueBytes: 1024,
    maxQueues: 10_000,
    defaultMaxDepth: 10_000_000,
    maxConsumersPerQueue: 1000,
    defaultMaxInFlight: 100,
    maxInFlight: 10_000,
    maxDelayMs: 7 * 86_400_000,
    defaultVisibilityTimeoutMs: 10_000,
    maxRequestBytes: 16 * 1024 * 1024,
  });
});

test('flags win over environment variables, which win over defaults', () => {
  const c = loadConfig(['--port', '6000', '--max-payload-bytes=1MiB'], { CORAMQ_PORT: '7000', CORAMQ_HOST: '0.0.0.0', CORAMQ_MAX_DELAY: '15m' });
  expect(c.port).toBe(6000);
  expect(c.host).toBe('0.0.0.0');
  expect(c.limits.maxPayloadBytes).toBe(1024 * 1024);
  expect(c.limits.maxDelayMs).toBe(900_000);
});

test.each([
  [['--nope', '1'], /unknown option --nope/],
  [['--port'], /--port needs a value/],
  [['--port', 'abc'], /--port must be a whole number/],
  [['--port', '70000'], /at most 65535/],
  [['--log-level', 'loud'], /--log-level must be one of/],
  [['--max-delay', '5 weeks'], /is not a duration/],
  [['--max-payload-bytes', '12XB'], /is not a size/],
  [['--tls-cert', 'a.pem'], /--tls-cert and --tls-key go together/],
  [['--default-visibility-timeout', '13h'], /between 1ms and 12h/],
  [['--default-max-in-flight', '50', '--max-in-flight', '10'], /may not exceed/],
  [['stray'], /unexpected argument 'stray'/],
  [['--storage', 'disk'], /--storage must be one of wal, memory/],
  [['--fsync', 'sometimes'], /--fsync must be one of always, interval, never/],
  [['--fsync-interval', '0ms'], /--fsync-interval must be at least 1ms/],
  [['--wal-segment-size', '64KiB'], /--wal-segment-size must be at least \d+ bytes with these limits/],
  [['--wal-compact-ratio', '0'], /--wal-compact-ratio must be at least 1/],
  [['--max-attributes', '65532', '--max-attribute-value-bytes', '1'], /--max-attributes must be at most 65531/],
  [['--wal-repair=maybe'], /--wal-repair must be true or false/],
  [['--deliveries-per-turn', '0'], /--deliveries-per-turn must be at least 1/],
  [['--receive-window', '64000'], /--receive-window must be from 65535 bytes \(HTTP\/2's own window\) to 2147483647/],
  [['--receive-window', '2GiB'], /--receive-window must be from 65535 bytes \(HTTP\/2's own window\) to 2147483647/],
])('bad configuration %j is refused with a clear message', (argv, message) => {
  expect(() => loadConfig(argv as string[], {})).toThrow(message);
});

test('durations and sizes', () => {
  expect(parseDuration('500ms')).toBe(500);
  expect(parseDuration('1.5s')).toBe(1500);
  expect(parseDuration('2h')).toBe(7_200_000);
  expect(parseDuration('250')).toBe(250);
  expect(parseBytes('256KiB')).toBe(262_144);
  expect(parseBytes('1mb')).toBe(1_000_000);
});

test('every option has a distinct flag and CORAMQ_ environment variable', () => {
  expect(new Set(OPTIONS.map((o) => o.flag)).size).toBe(OPTIONS.length);
  for (const o of OPTIONS) expect(o.env).toBe(`CORAMQ_${o.flag.toUpperCase().replace(/-/g, '_')}`);
});

test("README's configuration table lists every option with its variable and default", () => {
  const readme = require('node:fs').readFileSync(require('node:path').join(__dirname, '..', 'README.md'), 'utf8') as string;
  const rows = [...readme.matchAll(/^\| `--([a-z-]+)` \| `([A-Z_]+)` \| (?:`([^`]*)`|\(unset\)) \|/gm)].map((m) => [m[1], m[2], m[3] ?? null]);
  expect(rows).toEqual(OPTIONS.map((o) => [o.flag, o.env, o.default]));
});

test('a boolean flag alone means true; =false and its variable say otherwise', () => {
  expect(loadConfig(['--wal-repair', '--port', '1'], {}).wal.repair).toBe(true);
  expect(loadConfig(['--wal-repair=false'], { CORAMQ_WAL_REPAIR: 'true' }).wal.repair).toBe(false);
  expect(loadConfig([], { CORAMQ_WAL_REPAIR: '1' }).wal.repair).toBe(true);
  const c = loadConfig(['--fsync', 'interval', '--fsync-interval', '5ms', '--wal-segment-size', '4MiB', '--max-queues', '100'], {});
  expect(c.wal).toMatchObject({ fsync: 'interval', fsyncIntervalMs: 5, segmentSize: 4 * 1024 * 1024 });
});

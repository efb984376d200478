// What a durable write costs on this disk, two ways, as the write-ahead log does them with
// --fsync always: a write and then an fdatasync (two trips to libuv's threadpool, the second
// starting only once the event loop has seen the first finish), or one write to a file opened
// O_DSYNC (what the log does where the platform has it). Each way runs idle and with the
// main thread busy for --busy-us after each completion, as a server's is; two writes in
// flight, as the log's batches overlap. Prints per-write latency (p50/p90 ms). No build needed.
//
//   node bench/sync-write.mjs [--writes 2000] [--bytes 10720] [--busy-us 300] [--dir .bench-out]
import * as fs from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    writes: { type: 'string', default: '2000' },
    bytes: { type: 'string', default: '10720' }, // a batch of about 35 messages of 256 bytes
    'busy-us': { type: 'string', default: '300' },
    dir: { type: 'string', default: '.bench-out' },
  },
});
const WRITES = Number(values.writes);
const BYTES = Number(values.bytes);
const BUSY_MS = Number(values['busy-us']) / 1000;
if (fs.constants.O_DSYNC === undefined) throw new Error('this platform has no O_DSYNC');

fs.mkdirSync(values.dir, { recursive: true });
const file = join(values.dir, 'sync-write.bin');
const region = WRITES * BYTES;
// Preallocated with zeros and synced, as log segments are: writes inside change no file size.
const fd0 = fs.openSync(file, 'w+');
fs.writeSync(fd0, Buffer.alloc(2 * region));
fs.fsyncSync(fd0);
fs.closeSync(fd0);

const buf = Buffer.alloc(BYTES, 1);
const write = (fd, pos) => new Promise((resolve, reject) => fs.write(fd, buf, 0, BYTES, pos, (err) => (err ? reject(err) : resolve())));
const datasync = (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
const q = (sorted, p) => sorted[Math.floor(sorted.length * p)].toFixed(3);

async function run(mode, busy, base) {
  const fd = fs.openSync(file, mode === 'O_DSYNC' ? fs.constants.O_RDWR | fs.constants.O_DSYNC : 'r+');
  const took = [];
  let next = 0;
  const chain = async () => {
    while (next < WRITES) {
      const pos = base + next++ * BYTES;
      const t = performance.now();
      await write(fd, pos);
      if (mode !== 'O_DSYNC') await datasync(fd);
      took.push(performance.now() - t);
      if (busy) for (const end = performance.now() + BUSY_MS; performance.now() < end; );
    }
  };
  await Promise.all([chain(), chain()]);
  fs.closeSync(fd);
  took.sort((a, b) => a - b);
  console.log(`${mode.padEnd(16)} ${busy ? `busy ${values['busy-us']} µs` : 'idle'.padEnd(11)}  p50 ${q(took, 0.5)} ms  p90 ${q(took, 0.9)} ms`);
}

console.log(`${WRITES} writes of ${BYTES} bytes each way, two in flight, into ${file}`);
for (const busy of [false, true]) {
  for (const mode of ['write+fdatasync', 'O_DSYNC']) await run(mode, busy, mode === 'O_DSYNC' ? region : 0);
}
fs.unlinkSync(file);

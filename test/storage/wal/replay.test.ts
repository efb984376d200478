/**
 * Replay against damaged logs: a torn write at the tail ends the log (at every byte offset
 * of the last record); damage in the middle stops the start with a clear error unless
 * repair is asked for, which drops it for good; the directory lock.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { checkFrame } from '../../../src/storage/wal/record-codec';
import { lastNonZero } from '../../../src/storage/wal/replay';
import { SEGMENT_HEADER_BYTES, segmentFileName } from '../../../src/storage/wal/segment';
import { lockDataDir } from '../../../src/storage/wal/dir-lock';
import { openWal, recordingLogger, tempDir } from '../../support/wal';

const SEG1 = segmentFileName(1);

/** [start, end) of every record in a segment file. */
function frames(file: string): [number, number][] {
  const buf = readFileSync(file);
  const out: [number, number][] = [];
  for (let off = SEGMENT_HEADER_BYTES; ; ) {
    const end = checkFrame(buf, off, buf.length);
    if (end <= 0) return out;
    out.push([off, end]);
    off = end;
  }
}

function patch(file: string, at: number, bytes: Buffer): void {
  const buf = readFileSync(file);
  bytes.copy(buf, at);
  writeFileSync(file, buf);
}

/** A log with queue q holding m0..m(n-1) (small payloads), closed cleanly. */
async function logWith(n: number): Promise<string> {
  const dir = tempDir();
  const w = await openWal(dir, { segmentSize: 8192, headroom: 256 });
  w.broker.createQueue('q');
  for (let i = 0; i < n; i++) w.broker.enqueue('q', { id: `m${i}`, payload: Buffer.from(`message ${i}`), priority: 0, delayMs: 0, attributes: {} });
  await w.close();
  return dir;
}

const ids = (w: Awaited<ReturnType<typeof openWal>>): string[] => w.broker.queue('q').messages().map((m) => m.id);

describe('a torn write at the tail', () => {
  test.each(['zeros', 'garbage'])('cut at every byte offset of the last record (rest: %s) ends the log there; appending goes on', async (rest) => {
    const original = await logWith(3);
    const [start, end] = frames(join(original, SEG1)).at(-1) as [number, number];
    expect(end - start).toBeGreaterThan(20);
    for (let cut = start; cut < end; cut++) {
      const dir = tempDir();
      cpSync(original, dir, { recursive: true });
      const tail = rest === 'zeros' ? Buffer.alloc(end - cut) : Buffer.from(Array.from({ length: end - cut }, (_, i) => (i * 37 + cut) % 251 | 1));
      patch(join(dir, SEG1), cut, tail);
      const { log, lines } = recordingLogger();
      const w = await openWal(dir, { segmentSize: 8192, headroom: 256, log });
      expect(ids(w)).toEqual(['m0', 'm1']);
      const torn = lines.filter((l) => /torn write/.test(String(l.msg)));
      expect(torn).toHaveLength(rest === 'zeros' && cut === start ? 0 : 1);
      w.broker.enqueue('q', { id: 'after', payload: Buffer.from('x'), priority: 0, delayMs: 0, attributes: {} });
      await w.close();
      const again = recordingLogger();
      const w2 = await openWal(dir, { segmentSize: 8192, headroom: 256, log: again.log });
      expect(ids(w2)).toEqual(['m0', 'm1', 'after']);
      expect(again.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
      await w2.close();
      rmSync(dir, { recursive: true });
    }
  });
});

describe('a gap of zeros followed by records, at the tail (overlapping writes, an earlier one lost)', () => {
  test.each([
    ['one record', 1],
    ['two records', 2],
  ])('zeroing %s before the last ends the log at the gap; the records after it are discarded for good', async (_, lost) => {
    const dir = await logWith(4); // the queue record, then m0..m3
    const all = frames(join(dir, SEG1));
    const [gapStart] = all[all.length - 1 - lost];
    const [, gapEnd] = all[all.length - 2];
    patch(join(dir, SEG1), gapStart, Buffer.alloc(gapEnd - gapStart));
    const { log, lines } = recordingLogger();
    const w = await openWal(dir, { segmentSize: 8192, headroom: 256, log });
    expect(ids(w)).toEqual(['m0', 'm1', 'm2', 'm3'].slice(0, 3 - lost));
    expect(lines.filter((l) => /gap followed by records never confirmed/.test(String(l.msg)))).toHaveLength(1);
    // What comes next is appended at the gap; the discarded record never comes back.
    w.broker.enqueue('q', { id: 'after', payload: Buffer.from('x'), priority: 0, delayMs: 0, attributes: {} });
    await w.close();
    const again = recordingLogger();
    const w2 = await openWal(dir, { segmentSize: 8192, headroom: 256, log: again.log });
    expect(ids(w2)).toEqual([...['m0', 'm1', 'm2'].slice(0, 3 - lost), 'after']);
    expect(again.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    await w2.close();
  });
});

test('a record whose write reached the disk only in part (a whole sector still zeros) with records after it is a torn tail, not damage', async () => {
  const dir = tempDir();
  const opts = { segmentSize: 64 * 1024, headroom: 256 };
  const w = await openWal(dir, opts);
  w.broker.createQueue('q');
  for (let i = 0; i < 4; i++) w.broker.enqueue('q', { id: `m${i}`, payload: Buffer.alloc(2000, i + 1), priority: 0, delayMs: 0, attributes: {} });
  await w.close();
  const [, end] = frames(join(dir, SEG1))[2]; // the queue record, m0, m1 (index 2), m2, m3
  const damaged = tempDir();
  cpSync(dir, damaged, { recursive: true });
  // Its first 100 payload bytes garbled: no sector of zeros, so damage with records after it.
  patch(join(damaged, SEG1), end - 2000, Buffer.alloc(100, 0x5a));
  await expect(openWal(damaged, opts)).rejects.toThrow(/damaged at byte \d+ .*records follow it/);
  // Its payload zeros (a whole sector never written): a write torn by a crash, whose later
  // overlapping writes were never confirmed either. The log ends before it.
  patch(join(dir, SEG1), end - 2000, Buffer.alloc(2000));
  const { log, lines } = recordingLogger();
  const torn = await openWal(dir, { ...opts, log });
  expect(ids(torn)).toEqual(['m0']);
  expect(lines.filter((l) => /torn write/.test(String(l.msg)))).toHaveLength(1);
  await torn.close();
});

describe('damage in the middle', () => {
  test.each([
    ['a payload byte', (s: number, e: number) => [e - 3, 0x5a]],
    ['the length field', (s: number) => [s + 1, 0x7f]],
    ['the checksum', (s: number) => [s + 5, 0x01]],
  ] as const)('damage to %s stops the start with a clear error; --wal-repair drops that record for good', async (_, where) => {
    const dir = await logWith(5);
    const [start, end] = frames(join(dir, SEG1))[3]; // the queue record, then m0, m1, m2 (index 3), m3, m4
    const [at, xor] = where(start, end);
    const buf = readFileSync(join(dir, SEG1));
    patch(join(dir, SEG1), at, Buffer.from([buf[at] ^ xor]));

    await expect(openWal(dir)).rejects.toThrow(/wal-000001\.log is damaged at byte \d+ .*records follow it.*--wal-repair/);
    const { log, lines } = recordingLogger();
    const repaired = await openWal(dir, { repair: true, log });
    expect(ids(repaired)).toEqual(['m0', 'm1', 'm3', 'm4']);
    expect(lines.some((l) => /repair: dropping \d+ damaged bytes of wal-000001\.log/.test(String(l.msg)))).toBe(true);
    await repaired.close();
    const clean = recordingLogger();
    const after = await openWal(dir, { log: clean.log });
    expect(ids(after)).toEqual(['m0', 'm1', 'm3', 'm4']);
    expect(clean.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    await after.close();
  });

  test('the end of a segment that later segments follow is damage, not a torn tail', async () => {
    const dir = tempDir();
    const w = await openWal(dir, { segmentSize: 4096, headroom: 256 });
    w.broker.createQueue('q');
    for (let i = 0; i < 30; i++) {
      w.broker.enqueue('q', { id: `m${i}`, payload: Buffer.alloc(200, i), priority: 0, delayMs: 0, attributes: {} });
      await w.storage.maintenanceIdle();
    }
    await w.close();
    const [start] = frames(join(dir, SEG1)).at(-1) as [number, number];
    patch(join(dir, SEG1), start + 20, Buffer.from([0xff, 0xff]));
    await expect(openWal(dir, { segmentSize: 4096, headroom: 256 })).rejects.toThrow(/wal-000001\.log is damaged/);
  });

  test('a missing segment and a damaged header stop the start; --wal-repair goes on without them', async () => {
    const dir = tempDir();
    const w = await openWal(dir, { segmentSize: 4096, headroom: 256 });
    w.broker.createQueue('q');
    for (let i = 0; i < 40; i++) {
      w.broker.enqueue('q', { id: `m${i}`, payload: Buffer.alloc(200, i), priority: 0, delayMs: 0, attributes: {} });
      await w.storage.maintenanceIdle();
    }
    await w.close();
    const seg2 = join(dir, segmentFileName(2));
    const seg2Ids = frames(seg2).length;
    expect(seg2Ids).toBeGreaterThan(1);
    rmSync(seg2);
    await expect(openWal(dir)).rejects.toThrow(/log segment wal-000002\.log is missing.*--wal-repair/);
    patch(join(dir, segmentFileName(3)), 9, Buffer.from([0x42]));
    const repaired = await openWal(dir, { segmentSize: 4096, headroom: 256, repair: true });
    const left = ids(repaired).length;
    expect(left).toBeLessThan(40);
    expect(left).toBeGreaterThan(10);
    await repaired.close();
    const after = await openWal(dir, { segmentSize: 4096, headroom: 256 });
    expect(ids(after)).toHaveLength(left);
    await after.close();
  });

  test('a file that is not a segment, or from a newer format, is refused with what it is', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, SEG1), 'not a log at all, just some text that is long enough');
    await expect(openWal(dir)).rejects.toThrow(/wal-000001\.log is not a CoraMQ log segment/);
    const other = await logWith(1);
    const header = readFileSync(join(other, SEG1)).subarray(0, SEGMENT_HEADER_BYTES);
    header.writeUInt16LE(9, 8);
    patch(join(other, SEG1), 0, header);
    await expect(openWal(other)).rejects.toThrow(/log format 9; this CoraMQ reads format 1 \(it was written by a newer version\)/);
  });
});

describe('the data directory lock', () => {
  test('a second storage on the same directory is refused while the first is open, and opens after', async () => {
    const dir = tempDir();
    const first = await openWal(dir);
    await expect(openWal(dir)).rejects.toThrow(new RegExp(`data directory ${dir} is in use by another CoraMQ server \\(pid ${process.pid}`));
    await first.close();
    const second = await openWal(dir);
    await second.close();
  });

  test('a lock left by a process that is gone is taken over', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 2 ** 22 + 12345, host: require('node:os').hostname(), started: '1' }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(() => readFileSync(join(dir, 'LOCK'))).toThrow(/ENOENT/);
  });
});

test('lastNonZero finds one past the last non-zero byte of a range, however long the zeros before it', () => {
  const naive = (b: Buffer, from: number, limit: number): number => {
    for (let i = limit; i > from; i--) if (b[i - 1] !== 0) return i;
    return from;
  };
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 300_000 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
      fc.nat(),
      fc.nat(),
      (size, marks, a, b) => {
        const buf = Buffer.alloc(size);
        for (const [at, v] of marks) if (size > 0) buf[at % size] = v;
        const from = size === 0 ? 0 : a % (size + 1);
        const limit = from + (b % (size - from + 1));
        expect(lastNonZero(buf, from, limit)).toBe(naive(buf, from, limit));
      },
    ),
    { numRuns: 300 },
  );
});

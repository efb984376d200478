/**
 * Every file operation the WAL makes, behind one interface, so tests can swap in a layer
 * that fails (a full disk, an I/O error) the way beanstalkd's tests swap its allocator.
 * All calls run on libuv's threadpool (never blocking the event loop) and reject with the
 * system error (`code` 'ENOSPC', 'EIO', ...).
 *
 * Contract: `write` writes the whole range or rejects; `allocate` reserves disk space for a
 * new file by writing zeros over [0, size), so later writes inside that range cannot fail
 * for lack of space (Node has no fallocate); it rejects with ENOSPC when the disk is full.
 * A file opened 'r+sync' (only where `writeThrough`) is written through: each write resolves
 * once its data is on disk (O_DSYNC), as a write followed by fdatasync would, in one trip to
 * the threadpool instead of two. The second trip is what costs under load: the write's
 * completion waits for a turn of a busy event loop before the fdatasync can even start.
 */
import * as fs from 'node:fs';

export type OpenFlags = 'r' | 'r+' | 'r+sync' | 'wx';

export interface FileLayer {
  /** Whether 'r+sync' is available (the platform has O_DSYNC). */
  readonly writeThrough: boolean;
  /**
   * 'r' to read, 'r+' to read and write an existing file, 'r+sync' the same with every
   * write on disk when it resolves, 'wx' to create a new one.
   */
  open(path: string, flags: OpenFlags): Promise<number>;
  close(fd: number): Promise<void>;
  size(fd: number): Promise<number>;
  /** Reads up to `length` bytes at `position`; resolves how many were read (0 at the end). */
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  write(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<void>;
  /** fdatasync: the file's data (and the metadata needed to read it) is on disk. */
  datasync(fd: number): Promise<void>;
  allocate(fd: number, size: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  /** mkdir -p. */
  mkdir(dir: string): Promise<void>;
  /** Makes a directory's entries (created, renamed, removed files) durable. */
  syncDir(dir: string): Promise<void>;
}

/**
 * Zeros to allocate with, written in as few calls as possible (each call is one trip to the
 * threadpool, and a busy event loop issues one per turn). Made on first use; its pages are
 * the kernel's shared zero page until written, so it costs address space, not memory.
 */
const ZERO_CHUNK = 64 * 1024 * 1024;
let zeros: Buffer | null = null;

const call = <T>(fn: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

async function writeAll(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  while (length > 0) {
    const n = await call<number>((cb) => fs.write(fd, buf, offset, length, position, cb));
    offset += n;
    position += n;
    length -= n;
  }
}

/** Undefined where the platform lacks it (Windows): 'r+sync' is then refused. */
const O_DSYNC: number | undefined = fs.constants.O_DSYNC;

export const nodeFiles: FileLayer = {
  writeThrough: O_DSYNC !== undefined,
  open(path, flags) {
    if (flags !== 'r+sync') return call((cb) => fs.open(path, flags, 0o644, cb));
    if (O_DSYNC === undefined) return Promise.reject(new Error('this platform cannot open files for synchronous writes (no O_DSYNC)'));
    return call((cb) => fs.open(path, fs.constants.O_RDWR | O_DSYNC, 0o644, cb));
  },
  close: (fd) => call((cb) => fs.close(fd, (err) => cb(err, undefined))),
  size: (fd) => call<fs.Stats>((cb) => fs.fstat(fd, cb)).then((st) => st.size),
  read: (fd, buf, offset, length, position) => call((cb) => fs.read(fd, buf, offset, length, position, cb)),
  write: writeAll,
  datasync: (fd) => call((cb) => fs.fdatasync(fd, (err) => cb(err, undefined))),
  async allocate(fd, size) {
    zeros ??= Buffer.alloc(ZERO_CHUNK);
    for (let at = 0; at < size; at += ZERO_CHUNK) await writeAll(fd, zeros, 0, Math.min(ZERO_CHUNK, size - at), at);
  },
  rename: (from, to) => call((cb) => fs.rename(from, to, (err) => cb(err, undefined))),
  unlink: (path) => call((cb) => fs.unlink(path, (err) => cb(err, undefined))),
  readdir: (dir) => call((cb) => fs.readdir(dir, cb)),
  mkdir: (dir) => call((cb) => fs.mkdir(dir, { recursive: true }, (err) => cb(err, undefined))),
  async syncDir(dir) {
    const fd = await call<number>((cb) => fs.open(dir, 'r', cb));
    try {
      await call((cb) => fs.fsync(fd, (err) => cb(err, undefined)));
    } finally {
      await call((cb) => fs.close(fd, (err) => cb(err, undefined)));
    }
  },
};

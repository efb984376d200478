/**
 * One server per data directory. The lock is a file `LOCK`, created atomically with its
 * content (link(2) of a finished temporary file), holding the owner's pid, host and process
 * start time. A lock left by a process that is
 * gone (a crash, kill -9) is taken over; the start time (Linux /proc) tells a live owner
 * from an unrelated process that got the same pid since (a container restarted). Node has no
 * flock(); this is the portable way. Known gap: two servers taking over the same stale lock
 * at the same instant can both succeed.
 *
 * Invariant: while a LockHandle is held, no other lockDataDir() on the same directory
 * succeeds, in this process or another on this host.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface LockHandle {
  readonly path: string;
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
  /** Process start time (clock ticks since boot, /proc/PID/stat), '' where unknown. */
  started: string;
}

function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 22; the command name (field 2) may hold spaces, so count from its closing paren.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const started = startTime(owner.pid);
  return owner.started === '' || started === null || started === owner.started;
}

function readOwner(path: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host, started: String(o.started ?? '') } : null;
  } catch {
    return null;
  }
}

/** Takes the lock of `dir` (which must exist); throws an Error that says who holds it. */
export function lockDataDir(dir: string): LockHandle {
  const path = join(dir, 'LOCK');
  const me: Owner = { pid: process.pid, host: hostname(), started: startTime(process.pid) ?? '' };
  const content = JSON.stringify(me) + '\n';
  // Written whole first, then linked into place: link() fails when LOCK exists, so the lock
  // appears atomically and never half-written.
  const tmp = join(dir, `LOCK.${process.pid}.tmp`);
  writeFileSync(tmp, content, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        refuseIfHeld(dir, path, me);
        // Its process is gone (a crash): take it over.
        try {
          unlinkSync(path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
        continue;
      }
      return handle(path, content);
    }
  } finally {
    unlinkSync(tmp);
  }
  throw new Error(`could not lock data directory ${dir}: ${path} keeps changing (is another server starting?)`);
}

function refuseIfHeld(dir: string, path: string, me: Owner): void {
  const owner = readOwner(path);
  if (owner === null) return;
  if (owner.host !== me.host) {
    throw new Error(
      `data directory ${dir} is locked by process ${owner.pid} on host ${owner.host} (${path}); ` +
        'if no CoraMQ server uses it any more, delete that file',
    );
  }
  if (alive(owner)) {
    throw new Error(
      `data directory ${dir} is in use by another CoraMQ server (pid ${owner.pid}, lock file ${path}); ` +
        'stop that server or give this one another --data-dir',
    );
  }
}

function handle(path: string, content: string): LockHandle {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        if (readFileSync(path, 'utf8') === content) unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * The built server as a child process, for the benchmarks that measure it from outside
 * (scaling.ts, wal-throughput.ts, memory.ts, wal-cycle.mjs, ack-window.mjs): started on port 0, its address read from
 * its "listening" log line, its log drained from then on, stopped with SIGTERM. And the CPU
 * time it used, from /proc.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const CLI = join(__dirname, '..', 'src', 'cli.js');
const TICKS = 100; // clock ticks per second (USER_HZ)

export interface ServerProcess {
  /** host:port it listens on. */
  address: string;
  port: number;
  pid: number;
  /** SIGTERM; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Runs `node <nodeArgs> cli.js serve --port 0 <serveArgs>` (with `env`, this process's by
 * default); resolves once it listens. Its log level must let the "listening" line (info) through.
 */
export async function startServer(nodeArgs: readonly string[], serveArgs: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve', '--port', '0', ...serveArgs], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /"address":"([^"]+)"/.exec(out);
      if (m !== null) {
        child.stdout.off('data', onData);
        child.stdout.resume(); // keep draining the log
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`the server exited while in use: code ${code}, signal ${signal}`);
  });
  return {
    address,
    port: Number(address.slice(address.lastIndexOf(':') + 1)),
    pid: child.pid as number,
    async stop() {
      stopping = true;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU seconds (user + system, all threads) process `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

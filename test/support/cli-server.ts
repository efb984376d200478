/**
 * The built `coramq serve` as a child process (dist/, which `make test` builds first): its
 * JSON log lines, the address from its "listening" line, how it exited.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ChildLog } from './child-log';

export const CLI = join(__dirname, '..', '..', 'dist', 'src', 'cli.js');

export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (make test does)`);
}

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with host:port once the server listens; rejects if it exits first. */
  listening: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnServer(args: string[], env: Record<string, string> = {}): ServerProcess {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const log = new ChildLog(child);
  const listening = log.waitFor((l) => typeof l.address === 'string').then(
    (l) => l.address as string,
    async () => {
      const { code, signal } = await exited;
      throw new Error(`the server exited (${code ?? signal}) before listening: ${err}`);
    },
  );
  listening.catch(() => {});
  return { child, lines: log.lines, stderr: () => err, listening, exited };
}

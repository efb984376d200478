/** A child process's stdout read as pino's JSON lines, for tests of the `coramq` command. */
import type { ChildProcessWithoutNullStreams, ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

export type LogLine = Record<string, unknown>;

export class ChildLog {
  readonly lines: LogLine[] = [];
  private waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void; reject: (e: Error) => void }[] = [];

  constructor(child: ChildProcessWithoutNullStreams | ChildProcessByStdio<null, Readable, Readable>) {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as LogLine;
        buf = buf.slice(nl + 1);
        this.lines.push(line);
        for (const w of this.waiters.filter((w) => w.match(line))) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    child.on('exit', (code) => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`exited early with ${code}`));
    });
  }

  /** Resolves with the first line (logged so far or later) that matches; rejects if the child exits first. */
  waitFor(match: (line: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }
}

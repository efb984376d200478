/**
 * README's curl session, run as written with the real curl against a real server (its
 * localhost:8080 pointed at the test server's port); every reply must be what README
 * shows. The clock starts at the session's time, so the lease end it shows is exact.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManualClock } from '../support/manual-clock';
import { startHttpTestServer, type HttpTestServer } from '../support/http';

const run = promisify(execFile);

/** The `$ curl` commands of README's HTTP section, each with the output README shows for it. */
function session(): { command: string; output: string }[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The HTTP JSON API'), readme.indexOf('\n## ', readme.indexOf('## The HTTP JSON API') + 1));
  const steps: { command: string; output: string }[] = [];
  for (const block of section.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const chunk of block[1].split(/^\$ /m).slice(1)) {
      const [command, ...output] = chunk.trimEnd().split('\n');
      if (command.startsWith('curl ')) steps.push({ command, output: output.join('\n') });
    }
  }
  return steps;
}

let t: HttpTestServer;
beforeAll(async () => {
  t = await startHttpTestServer({ clock: new ManualClock(Date.parse('2026-11-23T09:00:00Z')) });
});
afterAll(async () => {
  await t.close();
});

test("README's curl session works as written", async () => {
  const steps = session();
  expect(steps.length).toBeGreaterThanOrEqual(8);
  const { port } = t.server.http as { port: number };
  // No proxy and no ~/.curlrc of the machine running the test may change what curl sends.
  const home = mkdtempSync(join(tmpdir(), 'coramq-curl-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CURL_HOME: home, NO_PROXY: '*', no_proxy: '*' };
  for (const { command, output } of steps) {
    const { stdout } = await run('sh', ['-c', command.replaceAll('localhost:8080', `127.0.0.1:${port}`)], { env });
    expect({ command, output: stdout.trimEnd() }).toEqual({ command, output });
  }
});

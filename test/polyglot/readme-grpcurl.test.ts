/**
 * README's grpcurl session, replayed as written against a real server: each `$ grpcurl`
 * command runs through test/polyglot/py/grpcurl.py, a stand-in with grpcurl's command line
 * and output that knows nothing but what reflection returns (JSON through json_format, the
 * proto3 mapping grpcurl's jsonpb also follows). Every output must be the README's, line by
 * line; timestamps and receipts, which differ per run, only by their shape, and a receipt
 * the README shows is replaced by the real one in the commands after it.
 */
import { join } from 'node:path';
import { consoleSession } from '../support/console-session';
import { REPO, runPython, withPythonStubs } from '../support/python';

const README = join(REPO, 'README.md');
const PY = join(REPO, 'test', 'polyglot', 'py');
const README_ADDRESS = 'localhost:50051';

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$/;
/** Values that differ per run, by JSON key, and the shape they must have. */
const VOLATILE: Record<string, RegExp> = { createdAt: TIMESTAMP, enqueuedAt: TIMESTAMP, visibleAt: TIMESTAMP, receipt: /^[A-Za-z0-9_-]{22}$/ };
const JSON_STRING_LINE = /^\s*"(\w+)": "([^"]*)",?$/;

/**
 * The actual output with each volatile value that has the right shape, on a line where the
 * README shows the same key, replaced by the README's value; `learned` maps README values
 * to the real ones.
 */
function normalize(actual: string, expected: string, learned: Map<string, string>): string {
  const shown = expected.split('\n');
  return actual
    .split('\n')
    .map((line, i) => {
      const got = JSON_STRING_LINE.exec(line);
      const want = JSON_STRING_LINE.exec(shown[i] ?? '');
      if (got === null || want === null || got[1] !== want[1] || !(got[1] in VOLATILE)) return line;
      const shape = VOLATILE[got[1]];
      if (!shape.test(got[2]) || !shape.test(want[2])) return line;
      learned.set(want[2], got[2]);
      return line.replace(`"${got[2]}"`, `"${want[2]}"`);
    })
    .join('\n');
}

describe("README's grpcurl session", () => {
  const python = withPythonStubs('reflection', { clock: 'system' });

  test('has the steps the issue asks for: list, describe, create, enqueue, dequeue with maxMessages, ack', () => {
    const commands = consoleSession(README, 'A session with grpcurl').map((s) => s.argv.filter((a) => !a.startsWith('-') && !a.startsWith('{')).slice(2).join(' '));
    expect(commands).toEqual([
      'list',
      'describe coramq.v1.QueueService.Enqueue',
      'coramq.v1.QueueService/CreateQueue',
      'coramq.v1.QueueService/Enqueue',
      'coramq.v1.QueueService/Dequeue',
      'coramq.v1.QueueService/Ack',
      'coramq.v1.QueueService/Ack',
    ]);
  });

  test('every command prints what the README shows', async () => {
    const steps = consoleSession(README, 'A session with grpcurl');
    const learned = new Map<string, string>();
    const replayed = [];
    for (const step of steps) {
      const [program, ...args] = step.argv;
      expect(program).toBe('grpcurl');
      const real = args.map((a) => {
        let arg = a === README_ADDRESS ? python.t.server.address : a;
        for (const [shown, actual] of learned) arg = arg.split(shown).join(actual);
        return arg;
      });
      const run = await runPython([join(PY, 'grpcurl.py'), ...real], { pythonPath: [python.stubs, PY] });
      const output = normalize((run.stdout + run.stderr).replace(/\n$/, ''), step.output, learned);
      replayed.push({ command: step.command, output, exit: run.code });
    }
    expect(replayed).toEqual(steps.map((s) => ({ command: s.command, output: s.output, exit: s.output.startsWith('ERROR:') ? 1 : 0 })));
    expect([...learned.keys()]).toEqual(expect.arrayContaining(['m1cVtG0u3v2FQm2oq8Jx7A']));
  });
});

/**
 * The contract guard (.ci/buf-breaking.sh, run by `make lint` in CI): in a scratch git
 * repository holding this buf.yaml and proto/, it passes a compatible change, fails a
 * breaking one with buf's explanation, passes when there is nothing to compare (first
 * commit, no proto/ before), and fails rather than skip in a shallow clone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');
const SCRIPT = join(REPO, '.ci', 'buf-breaking.sh');
const BUF = join(REPO, 'node_modules', '.bin', 'buf');
const CONTRACT = join('proto', 'coramq', 'v1', 'queue.proto');
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};

describe('.ci/buf-breaking.sh', () => {
  let dir: string;
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8' });
  const guard = (cwd = dir, ...args: string[]) => {
    const r = spawnSync(SCRIPT, args, { cwd, env: { ...GIT_ENV, BUF }, encoding: 'utf8' });
    return { code: r.status, output: r.stdout + r.stderr };
  };
  const edit = (change: (proto: string) => string): void => {
    const path = join(dir, CONTRACT);
    const before = readFileSync(path, 'utf8');
    const after = change(before);
    expect(after).not.toBe(before);
    writeFileSync(path, after);
  };
  const commit = (message: string): void => {
    git('add', '-A');
    git('commit', '-q', '-m', message);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coramq-breaking-'));
    git('init', '-q', '-b', 'main');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const addContract = (): void => {
    cpSync(join(REPO, 'buf.yaml'), join(dir, 'buf.yaml'));
    cpSync(join(REPO, 'proto'), join(dir, 'proto'), { recursive: true });
  };

  test('the first commit has nothing to compare against, and passes', () => {
    addContract();
    commit('contract');
    expect(guard()).toEqual({ code: 0, output: 'buf breaking: HEAD is the first commit, nothing to compare against\n' });
  });

  test('a commit before proto/ existed has nothing to compare against, and passes', () => {
    writeFileSync(join(dir, 'README.md'), 'hello\n');
    commit('readme');
    addContract();
    commit('contract');
    expect(guard()).toEqual({ code: 0, output: 'buf breaking: HEAD~1 has no proto, nothing to compare against\n' });
  });

  describe('after a first commit of the contract', () => {
    beforeEach(() => {
      addContract();
      commit('contract');
    });

    test('a new field and a reworded comment are compatible', () => {
      edit((p) => p.replace('  uint64 max_depth = 4;\n}', '  uint64 max_depth = 4;\n  // A new field.\n  string note = 5;\n}').replace('Live statistics.', 'The live statistics.'));
      commit('compatible');
      const r = guard();
      expect(r.code).toBe(0);
      expect(r.output).toMatch(/^buf breaking: proto\/ is compatible with HEAD~1 \([0-9a-f]+\)\n$/);
    });

    test('a renamed field, a changed type or a removed RPC fails, with what broke', () => {
      edit((p) => p.replace('uint32 max_deliveries = 2;', 'uint32 max_attempts = 2;'));
      edit((p) => p.replace('int32 priority = 4;\n  // Deliver', 'int64 priority = 4;\n  // Deliver'));
      edit((p) => p.replace(/\n  \/\/ PurgeQueue[^]*?rpc PurgeQueue\(PurgeQueueRequest\) returns \(PurgeQueueResponse\);\n/, '\n'));
      commit('breaking');
      const r = guard();
      expect(r.code).toBe(100); // buf's exit code for breaking changes
      expect(r.output).toMatch(/Field "2" on message "QueueConfig" changed name from "max_deliveries" to "max_attempts"/);
      expect(r.output).toMatch(/Field "4" with name "priority" on message "EnqueueRequest" changed type from "int32" to "int64"/);
      expect(r.output).toMatch(/Previously present RPC "PurgeQueue" on service "QueueService" was deleted/);
    });

    test('an uncommitted breaking change is caught too (the working tree against HEAD~1)', () => {
      edit((p) => p.replace('Live statistics.', 'The live statistics.'));
      commit('second');
      edit((p) => p.replace('string receipt = 9;', 'bytes receipt = 9;'));
      const r = guard();
      expect(r.code).toBe(100); // buf's exit code for breaking changes
      expect(r.output).toMatch(/"receipt" on message "Message" changed type from "string" to "bytes"/);
    });

    test('a ref that does not exist fails', () => {
      expect(guard(dir, 'no-such-branch')).toEqual({ code: 1, output: "buf breaking: no commit 'no-such-branch'\n" });
    });

    test('a shallow clone without the previous commit fails instead of skipping', () => {
      edit((p) => p.replace('Live statistics.', 'The live statistics.'));
      commit('second');
      const clone = join(dir, 'shallow');
      execFileSync('git', ['clone', '-q', '--depth', '1', `file://${dir}`, clone], { env: GIT_ENV });
      expect(guard(clone)).toEqual({ code: 1, output: 'buf breaking: HEAD~1 is not in this shallow clone; fetch it first (git fetch --deepen=1)\n' });
    });
  });
});

import { spawnSync } from 'node:child_process';
import { SERVER_NODE_FLAGS } from '../../src/server/node-flags';

test('the node flags the server is meant to run with are ones this node takes, silently', () => {
  const r = spawnSync(process.execPath, [...SERVER_NODE_FLAGS, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(expect.arrayContaining([...SERVER_NODE_FLAGS]));
});

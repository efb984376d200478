// Adds the lockfile entries npm leaves out here for other platforms' optional binaries.
//
// Why: the npm registry reachable from this machine lacks the other-platform builds of
// @bufbuild/buf (darwin, win32, linux-armv7), so `npm install` writes a lockfile without
// them, and `npm ci` then refuses it as out of sync. The entries below are what npm writes
// with the full registry (version, os, cpu, optional). npm skips them on this platform, so
// nothing is fetched. Run after any `npm install`: node .ci/lock-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const platforms = { 'darwin-arm64': ['darwin', 'arm64'], 'darwin-x64': ['darwin', 'x64'], 'linux-aarch64': ['linux', 'arm64'], 'linux-armv7': ['linux', 'arm'], 'linux-x64': ['linux', 'x64'], 'win32-arm64': ['win32', 'arm64'], 'win32-x64': ['win32', 'x64'] };
let added = 0;
for (const [key, pkg] of Object.entries(lock.packages)) {
  if (!key.endsWith('node_modules/@bufbuild/buf')) continue;
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
    const entry = key.replace(/@bufbuild\/buf$/, dep);
    if (lock.packages[entry]) continue;
    const [os, cpu] = platforms[dep.replace('@bufbuild/buf-', '')] ?? [];
    if (!os) throw new Error(`unknown platform package ${dep}`);
    lock.packages[entry] = { version: pkg.version, cpu: [cpu], dev: pkg.dev, license: pkg.license, optional: true, os: [os], engines: pkg.engines };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-platforms: added ${added} entries`);

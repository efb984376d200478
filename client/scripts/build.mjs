// Builds the package into dist/ from client/src and the generated stubs in ../generated
// (compiled, never copied by hand):
//   dist/cjs/   CommonJS + .d.ts (tsc; the stubs land in dist/cjs/generated/)
//   dist/esm/   an ES module wrapper that re-exports the CommonJS build by name, so ESM and
//               CommonJS users share one copy of the code (instanceof on errors works
//               whichever way the package was loaded), with its .d.mts.
// Run by `make client`, `npm run build` and `npm pack` (prepack).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const entry = 'dist/cjs/client/src/index.js';

rmSync(`${root}/dist`, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 2, 2] });

const names = Object.keys(require(`${root}/${entry}`)).filter((n) => n !== '__esModule' && n !== 'default');
mkdirSync(`${root}/dist/esm`, { recursive: true });
writeFileSync(
  `${root}/dist/esm/index.mjs`,
  `// ES module entry of @coramq/client: the CommonJS build's exports, by name.\n` +
    `import cjs from '../cjs/client/src/index.js';\n\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = cjs;\n`,
);
writeFileSync(`${root}/dist/esm/index.d.mts`, `export * from '../cjs/client/src/index.js';\n`);
// stderr: stdout belongs to the caller (npm pack --json)
console.error(`@coramq/client built: ${names.length} exports (${entry}, dist/esm/index.mjs)`);

#!/usr/bin/env node
/**
 * The `coramq` command. `coramq serve [options]` runs a server until SIGTERM or SIGINT,
 * then shuts down gracefully and exits 0. Every option can also come from an environment
 * variable (see `coramq serve --help`).
 */
import { helpText, loadConfig } from './config';
import { startServer } from './server/server';

const USAGE = 'Usage: coramq serve [options]   (coramq serve --help lists the options)';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    console.log(require('../../package.json').version);
    return 0;
  }
  if (command !== 'serve') {
    console.error(`unknown command '${command}'\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpText());
    return 0;
  }
  let config;
  try {
    config = loadConfig(rest, process.env);
  } catch (err) {
    console.error(`coramq: ${(err as Error).message}`);
    return 2;
  }
  const server = await startServer(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      server.log.info({ signal }, 'signal received');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await server.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('coramq: failed to start:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

/** The pino root logger. Call sites take a child with their own context. */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'coramq' } });
}

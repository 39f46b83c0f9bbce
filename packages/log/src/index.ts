import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out in every log line. Secrets should never be logged in
 * the first place; this is the net under that rule.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'headers.authorization',
  'authorization',
  'token',
  'password',
  'secret',
  'value',
  'values',
  'variables',
  'set',
  '*.token',
  '*.password',
  '*.secret',
  '*.value',
  '*.variables',
  '*.set',
  '*.privateKey',
  '*.credentials',
  'body',
  '*.body',
];

export interface LogOptions {
  /** Process name put on every line (`api`, `worker`, `proxy`). */
  name: string;
  level: string;
  /** `auto`: pretty on a terminal, JSON otherwise. */
  format: 'auto' | 'json' | 'pretty';
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

export function loggerOptions(options: Pick<LogOptions, 'name' | 'level'>): LoggerOptions {
  return {
    name: options.name,
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
}

export function createLogger(options: LogOptions): Logger {
  const base = loggerOptions(options);
  if (options.destination) return pino(base, options.destination);
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  if (!pretty) return pino(base);
  return pino({
    ...base,
    transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
  });
}

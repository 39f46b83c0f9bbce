import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@pier/log';

/** A worker's logger that writes nowhere: for loops under test whose logs are not what is tested. */
export function quietLogger(): Logger {
  return createLogger({
    name: 'worker',
    level: 'silent',
    format: 'json',
    destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });
}

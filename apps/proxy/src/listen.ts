import type { Server } from 'node:net';
import type { Logger } from '@pier/log';

/** Listens on `port` at `host`; rejects with the listen error (port taken); later errors are logged under `name`. */
export function listen(server: Server, port: number, host: string, logger: Logger, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => logger.error({ err, listener: name }, 'listener error'));
      resolve();
    });
  });
}

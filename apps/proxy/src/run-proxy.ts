import { createServer } from 'node:http';
import { exitOnStartupError, onShutdownSignal, type ProxyConfig } from '@pier/config';
import { createLogger } from '@pier/log';

/**
 * The edge proxy process. For now it serves its loopback admin endpoint
 * (`/health`); the HTTP/HTTPS listeners and the route table attach here.
 */
export async function runProxy(config: ProxyConfig): Promise<void> {
  const logger = createLogger({ name: 'proxy', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT });
  const admin = createServer((req, res) => {
    const ok = req.url === '/health';
    res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { status: 'ok' } : { error: { code: 'not_found', message: 'no such path' } }));
  });
  onShutdownSignal(logger, () => new Promise<void>((resolve) => admin.close(() => resolve())));
  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen(config.PIER_PROXY_ADMIN_PORT, '127.0.0.1', () => resolve());
  }).catch((err) => exitOnStartupError('proxy', err));
  logger.info({ adminPort: config.PIER_PROXY_ADMIN_PORT }, 'proxy started');
}

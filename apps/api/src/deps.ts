import type { Stores } from '@pier/db';
import type { Logger } from '@pier/log';

/** Everything the API needs, built by main.ts (or a test) and handed to buildApp. */
export interface ApiDeps extends Stores {
  logger: Logger;
  adminToken: string;
  /** Readiness probes of the backing services; each rejects when its service is unreachable. */
  readiness: Record<string, () => Promise<void>>;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
}

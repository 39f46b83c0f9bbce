import type { AppQuotas, CapacityCheck, ServiceType } from '@pier/core';
import type { AppImagesWatch, ChangeListener, ChangeSubscription, Stores } from '@pier/db';
import type { Logger } from '@pier/log';

/** Everything the API needs, built by main.ts (or a test) and handed to buildApp. */
export interface ApiDeps extends Stores {
  logger: Logger;
  adminToken: string;
  /** For generated URLs in status. */
  baseDomain: string;
  /** Readiness probes of the backing services; each rejects when its service is unreachable. */
  readiness: Record<string, () => Promise<void>>;
  /** Images of new managed services, by engine (PIER_IMAGE_POSTGRES / PIER_IMAGE_REDIS: `serviceImagesFrom`). */
  serviceImages: Record<ServiceType, string>;
  /** This host's public addresses (PIER_PUBLIC_IPS), for the custom domains' DNS check behind NAT. */
  publicAddresses?: string[];
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
  /** PIER_CONTROL_HOSTNAME: no app, environment or domain may be served under it. */
  controlHostname?: string;
  /** Per-app caps (PIER_QUOTA_*); default DEFAULT_APP_QUOTAS. */
  quotas?: AppQuotas;
  /**
   * Listens for the worker's report on a deleted app's images (`watchAppImagesRemoved`), so that
   * DELETE /apps/:app can say how much disk was freed; absent, it answers 202 at once.
   */
  appDeletions?: (app: string) => Promise<AppImagesWatch>;
  /** Webhook deliveries per minute from one source address (PIER_WEBHOOK_RATE_LIMIT). */
  webhookRateLimitPerMinute?: number;
  /** The capacity guard: a scale-up the host cannot hold is refused (409) with the figures; absent, none is. */
  capacity?: CapacityCheck;
  /**
   * Loopback ports of Pier's own services, never the target of a log drain or a notification channel
   * (`checkOutboundUrl`); default DEFAULT_PIER_SERVICE_PORTS. serve.ts adds the api's and its URLs' ports.
   */
  reservedPorts?: readonly number[];
  /** The built `pier` CLI bundle served at GET /cli (`npm run build:cli`); absent or missing, /cli answers 503. */
  cliBundlePath?: string;
  /** The built dashboard (`npm run build:dashboard`), served at `/`; absent or not built, `/` says how to build it. */
  dashboardDir?: string;
  /** How long a dashboard session lasts (PIER_SESSION_HOURS); default 12 hours. */
  sessionTtlMs?: number;
  /** Sign-ins per minute from one source address; default 30. */
  signInRateLimitPerMinute?: number;
  /** How often an open stream (logs, build output, `/changes`) checks its token or session again; default 30 s. */
  streamRecheckMs?: number;
  /** The change feed behind `GET /changes` (a `ChangeFeed`); absent, `/changes` answers 503. */
  changes?: { subscribe(listener: ChangeListener): ChangeSubscription };
}

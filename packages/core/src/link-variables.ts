import { z } from 'zod';
import { connectionUrl } from './managed-service.ts';
import type { ContainerFile } from './ports/container-runtime.ts';
import { type ServiceEndpoint, type ServiceType, serviceEngine } from './service-engines.ts';

/**
 * What a link to a managed service puts into its environment's containers:
 * the URL variable (`DATABASE_URL`, its name fixed when linked), the engine's
 * other variables (`PGHOST`… / `REDIS_HOST`…) prefixed the same way for a
 * second service (`SHOP_DATABASE_URL`, `SHOP_PGHOST`), the link's URL
 * parameters, and the installation's CA when a service that speaks TLS is linked.
 */

/** Where every replica finds the installation's CA certificate when a Postgres is linked. */
export const CA_CERT_PATH = '/etc/pier/ca.crt';
/** The same certificate, PEM, as a variable. */
export const CA_CERT_VARIABLE = 'PIER_CA_CERT';
/** libpq's variable for its root certificates: `sslmode=verify-full` works with no change to the app. */
export const CA_CERT_LIBPQ_VARIABLE = 'PGSSLROOTCERT';

const MAX_URL_PARAMS = 16;
/** Parameters that would contradict the URL's own parts. */
const URL_OWN_PARTS = ['user', 'password', 'host', 'hostaddr', 'port', 'dbname'];

/** Query parameters added to a link's URL, e.g. `{ sslmode: 'require' }`: names and values from a small safe alphabet. */
export const urlParamsSchema = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'parameter names are lower-case letters, digits and _ (at most 40)'),
    z.string().regex(/^[A-Za-z0-9._~:/,-]{1,200}$/, 'parameter values are 1 to 200 letters, digits or . _ ~ : / , -'),
  )
  .superRefine((params, ctx) => {
    if (Object.keys(params).length > MAX_URL_PARAMS)
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_URL_PARAMS} parameters` });
    for (const key of Object.keys(params)) {
      if (URL_OWN_PARTS.includes(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${key} is part of the URL Pier gives; it cannot be a parameter` });
      }
    }
  });
export type UrlParams = z.infer<typeof urlParamsSchema>;

/** `url` with `params` as its query, in key order. */
export function withUrlParams(url: string, params: UrlParams): string {
  const keys = Object.keys(params).sort();
  if (keys.length === 0) return url;
  return `${url}?${new URLSearchParams(keys.map((k): [string, string] => [k, params[k] as string])).toString()}`;
}

/** `SHOP_` for a link whose URL variable is `SHOP_DATABASE_URL`, `` for `DATABASE_URL`. */
export function linkPrefix(type: ServiceType, urlVariable: string): string {
  const base = serviceEngine(type).variable;
  if (!urlVariable.endsWith(base)) throw new RangeError(`${urlVariable} is not a ${type} link variable`);
  return urlVariable.slice(0, urlVariable.length - base.length);
}

/** The variables one link injects: its URL (with its parameters), the engine's parts, the parameters its clients read from variables. */
export function linkVariables(
  type: ServiceType,
  urlVariable: string,
  endpoint: ServiceEndpoint,
  urlParams: UrlParams,
): Record<string, string> {
  const engine = serviceEngine(type);
  const prefix = linkPrefix(type, urlVariable);
  const parts = engine.partVariables(endpoint);
  const fromParams = Object.entries(engine.paramVariables).flatMap(([param, name]) =>
    urlParams[param] === undefined ? [] : [[name, urlParams[param]] as const],
  );
  return {
    [urlVariable]: withUrlParams(connectionUrl(type, endpoint.host, endpoint.credentials), urlParams),
    ...Object.fromEntries([...Object.entries(parts), ...fromParams].map(([name, value]) => [`${prefix}${name}`, value])),
  };
}

/** The names `linkVariables` sets for a link (the set a user variable must not take). */
export function linkVariableKeys(type: ServiceType, urlVariable: string, urlParams: UrlParams = {}): string[] {
  const endpoint = { host: 'h', credentials: { user: 'u', password: 'p', database: 'd' } };
  return Object.keys(linkVariables(type, urlVariable, endpoint, urlParams));
}

/**
 * The CA's variables and file, when one of `linkedTypes` speaks TLS and the
 * installation has its CA. `PGSSLROOTCERT` only when a Postgres link asks
 * for TLS (`postgresTls`: its `sslmode` URL parameter): libpq then checks
 * every server that requires TLS against that file, so setting it always
 * would break an app's `sslmode=require` connections to another Postgres.
 */
export function authorityInjection(
  linkedTypes: readonly ServiceType[],
  caCertificatePem: string | null,
  postgresTls = true,
): { variables: Record<string, string>; files: ContainerFile[] } {
  if (!caCertificatePem || !linkedTypes.some((type) => serviceEngine(type).tls)) return { variables: {}, files: [] };
  return {
    variables: {
      [CA_CERT_VARIABLE]: caCertificatePem,
      ...(linkedTypes.includes('postgres') && postgresTls ? { [CA_CERT_LIBPQ_VARIABLE]: CA_CERT_PATH } : {}),
    },
    files: [{ path: CA_CERT_PATH, content: caCertificatePem, mode: 0o644 }],
  };
}

/** Whether a link's URL parameters ask libpq for TLS (`sslmode` require, verify-ca or verify-full). */
export function asksForTls(urlParams: UrlParams): boolean {
  return ['require', 'verify-ca', 'verify-full'].includes(urlParams.sslmode ?? '');
}

/** The names `authorityInjection` may set for these links. */
export function authorityVariableKeys(linkedTypes: readonly ServiceType[]): string[] {
  return Object.keys(authorityInjection(linkedTypes, 'x').variables);
}

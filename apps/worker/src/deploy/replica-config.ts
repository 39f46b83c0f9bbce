import type { ContainerFile } from '@pier/core';
import type { Stores } from '@pier/db';

type ConfigStores = Pick<Stores, 'releases' | 'services' | 'variables'>;

export interface ReplicaConfig {
  /** The release's variables plus those of the services linked now. */
  config: Record<string, string>;
  /** Networks of the services linked now (not when the release was made: an unlinked service stays out of reach). */
  networks: string[];
  /** Files the links put into every replica (the installation's CA certificate). */
  files: ContainerFile[];
}

/** What a replica of `release` runs with in its environment today: linked services are the environment's now, for every release. */
export async function replicaConfig(
  stores: Pick<ConfigStores, 'releases' | 'services'>,
  environmentId: string,
  release: Parameters<ConfigStores['releases']['config']>[0],
): Promise<ReplicaConfig> {
  const injection = await stores.services.injection(environmentId);
  const own = stores.releases.config(release);
  return {
    config: { ...own, ...injection.variables, ...userKept(own, injection) },
    networks: injection.networks,
    files: injection.files,
  };
}

/**
 * The variables of the release that a link's newer names (`PGHOST`,
 * `REDIS_PASSWORD`, `PGSSLROOTCERT`…) would replace: an environment that set
 * one before links injected it keeps its own value (new links refuse such
 * clashes). A link's URL variable always wins, as it always has.
 */
export function userKept(
  own: Record<string, string>,
  injection: { variables: Record<string, string>; urlVariables: string[] },
): Record<string, string> {
  const urls = new Set(injection.urlVariables);
  return Object.fromEntries(Object.entries(own).filter(([key]) => key in injection.variables && !urls.has(key)));
}

/**
 * Every value a replica can print, for masking what is stored of its output:
 * the variables of every environment of the app, the release's own snapshot
 * (values since changed or removed), and the linked services' URLs and
 * passwords.
 */
export async function replicaSecrets(
  stores: ConfigStores,
  appId: string,
  environmentId: string,
  release?: Parameters<ConfigStores['releases']['config']>[0],
): Promise<string[]> {
  const secrets = [...(await stores.variables.valuesOfApp(appId)), ...(await stores.services.injection(environmentId)).secrets];
  if (release) secrets.push(...Object.values(stores.releases.config(release)));
  return secrets;
}

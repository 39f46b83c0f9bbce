/**
 * What an operator gives builds to reach package registries from behind a
 * TLS-inspecting proxy or through a mirror (PIER_BUILD_CA_BUNDLE,
 * PIER_NPM_REGISTRY, PIER_PIP_INDEX_URL, HTTP(S)_PROXY, NO_PROXY). Never in a
 * final image: generated Dockerfiles read the CA and the registries only in
 * the stage that installs dependencies, and Docker records neither the
 * predefined proxy build args nor a non-final stage's in the image.
 */
export interface BuildRegistrySettings {
  /** The CA bundle's PEM text (read from PIER_BUILD_CA_BUNDLE), written into generated builds' context as BUILD_CA_FILE. */
  caBundle?: string;
  npmRegistry?: string;
  /**
   * corepack's COREPACK_INTEGRITY_KEYS: the npm keys it checks Yarn and pnpm
   * downloads against; `0` for a registry mirror that serves no signatures.
   */
  corepackIntegrityKeys?: string;
  pipIndexUrl?: string;
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
}

/** Where Pier writes the CA bundle in the build context of a generated build (removed before the final stage copies the app). */
export const BUILD_CA_FILE = 'pier-build-ca.crt';

/** Build args every generated install stage declares: npm, Yarn, pnpm, corepack and pip read them from the environment. */
export const REGISTRY_BUILD_ARGS = {
  node: ['npm_config_registry', 'YARN_NPM_REGISTRY_SERVER', 'COREPACK_NPM_REGISTRY', 'COREPACK_INTEGRITY_KEYS'],
  python: ['PIP_INDEX_URL', 'PIP_TRUSTED_HOST'],
} as const;

/**
 * The build args of one build. Proxies go to every build (Docker's predefined
 * args, also honoured by the repository's own Dockerfile without an `ARG`);
 * the registries only to generated builds, whose install stage declares them.
 * A plain-http pip index is trusted as given (pip refuses one otherwise).
 */
export function registryBuildArgs(settings: BuildRegistrySettings, generated: boolean): Record<string, string> {
  const args: Record<string, string> = {};
  const set = (names: readonly string[], value: string | undefined): void => {
    if (value !== undefined && value !== '') for (const name of names) args[name] = value;
  };
  set(['HTTP_PROXY', 'http_proxy'], settings.httpProxy);
  set(['HTTPS_PROXY', 'https_proxy'], settings.httpsProxy);
  set(['NO_PROXY', 'no_proxy'], settings.noProxy);
  if (!generated) return args;
  set(['npm_config_registry', 'YARN_NPM_REGISTRY_SERVER', 'COREPACK_NPM_REGISTRY'], settings.npmRegistry);
  set(['COREPACK_INTEGRITY_KEYS'], settings.corepackIntegrityKeys);
  set(['PIP_INDEX_URL'], settings.pipIndexUrl);
  if (settings.pipIndexUrl?.startsWith('http://')) set(['PIP_TRUSTED_HOST'], new URL(settings.pipIndexUrl).hostname);
  return args;
}

/**
 * What of the settings must be masked in build output: each registry or proxy
 * URL that carries a user or password, and that password, as a tool may print
 * either in an error.
 */
export function registryCredentials(settings: BuildRegistrySettings): string[] {
  const values = [settings.npmRegistry, settings.pipIndexUrl, settings.httpProxy, settings.httpsProxy];
  return values.flatMap((value) => {
    if (value === undefined || !URL.canParse(value)) return [];
    const url = new URL(value);
    if (url.username === '' && url.password === '') return [];
    return [value, ...(url.password === '' ? [] : [url.password, decodeURIComponent(url.password)])];
  });
}

/**
 * The environment each process starts with: what it needs, and not the
 * secrets it has no use for. The internet-facing proxy gets neither
 * PIER_SECRET_KEY (which opens every variable and credential) nor the admin
 * token, and connects as its own database role when PIER_PROXY_DATABASE_URL
 * is set; the api does not get the proxy's key.
 */
export function processEnvironment(name: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  if (name === 'proxy') {
    for (const secret of ['PIER_SECRET_KEY', 'PIER_SECRET_KEYS_PREVIOUS', 'PIER_ADMIN_TOKEN']) delete out[secret];
    if (env.PIER_PROXY_DATABASE_URL) out.DATABASE_URL = env.PIER_PROXY_DATABASE_URL;
  }
  if (name === 'api') {
    for (const secret of ['PIER_PROXY_KEY', 'PIER_PROXY_KEYS_PREVIOUS', 'PIER_PROXY_DATABASE_URL']) delete out[secret];
  }
  return out;
}

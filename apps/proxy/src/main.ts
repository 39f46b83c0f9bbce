import { accessSync, constants } from 'node:fs';
import { loadConfigOrExit, proxyConfigSchema } from '@pier/config';
import { runProxy } from './run-proxy.ts';

/**
 * Secrets the internet-facing proxy never needs: PIER_SECRET_KEY opens every
 * variable and credential, the admin token is the API. They are dropped from
 * its environment; given to it by its supervisor, they are reported.
 */
const NOT_FOR_THE_PROXY = ['PIER_SECRET_KEY', 'PIER_SECRET_KEYS_PREVIOUS', 'PIER_ADMIN_TOKEN'];
const handed = NOT_FOR_THE_PROXY.filter((name) => process.env[name]);

/** Whether this process may read `path` (Node 20's loadEnvFile reports a file it may not open as ENOENT). */
function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

// A .env file is for local runs only; real deployments set the environment. Another
// user's (under systemd the proxy runs as pier-proxy, and .env is pier's) is skipped:
// its environment is what counts.
if (readable('.env')) process.loadEnvFile('.env');
for (const name of NOT_FOR_THE_PROXY) delete process.env[name];

await runProxy(loadConfigOrExit('proxy', proxyConfigSchema, process.env), { handedSecrets: handed });

import { existsSync } from 'node:fs';
import { loadConfigOrExit, proxyConfigSchema } from '@pier/config';
import { runProxy } from './run-proxy.ts';

/**
 * Secrets the internet-facing proxy never needs: PIER_SECRET_KEY opens every
 * variable and credential, the admin token is the API. They are dropped from
 * its environment; given to it by its supervisor, they are reported.
 */
const NOT_FOR_THE_PROXY = ['PIER_SECRET_KEY', 'PIER_SECRET_KEYS_PREVIOUS', 'PIER_ADMIN_TOKEN'];
const handed = NOT_FOR_THE_PROXY.filter((name) => process.env[name]);

// A .env file is for local runs only; real deployments set the environment.
if (existsSync('.env')) {
  try {
    process.loadEnvFile('.env');
  } catch (err) {
    // Another process's file (the proxy runs as a user of its own): its environment is what counts.
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
  }
}
for (const name of NOT_FOR_THE_PROXY) delete process.env[name];

await runProxy(loadConfigOrExit('proxy', proxyConfigSchema, process.env), { handedSecrets: handed });

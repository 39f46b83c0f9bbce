import { existsSync } from 'node:fs';
import { apiConfigSchema, loadConfigOrExit, migrateConfigSchema } from '@pier/config';
import { migrateCommand } from './migrate-command.ts';
import { serveApi } from './serve.ts';

// A .env file is for local runs only; real deployments set the environment.
if (existsSync('.env')) process.loadEnvFile('.env');

if (process.argv[2] === 'migrate') {
  await migrateCommand(loadConfigOrExit('migrate', migrateConfigSchema, process.env));
} else {
  // The proxy's key and database role are the proxy's (and `migrate`'s, which grants the role): not the api's.
  for (const name of ['PIER_PROXY_KEY', 'PIER_PROXY_KEYS_PREVIOUS', 'PIER_PROXY_DATABASE_URL']) delete process.env[name];
  await serveApi(loadConfigOrExit('api', apiConfigSchema, process.env));
}

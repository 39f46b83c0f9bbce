import { existsSync } from 'node:fs';
import { apiConfigSchema, loadConfigOrExit, migrateConfigSchema } from '@pier/config';
import { migrateCommand } from './migrate-command.ts';
import { serveApi } from './serve.ts';

// A .env file is for local runs only; real deployments set the environment.
if (existsSync('.env')) process.loadEnvFile('.env');

if (process.argv[2] === 'migrate') {
  await migrateCommand(loadConfigOrExit('migrate', migrateConfigSchema, process.env));
} else {
  await serveApi(loadConfigOrExit('api', apiConfigSchema, process.env));
}

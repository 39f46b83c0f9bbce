import { existsSync } from 'node:fs';
import { loadConfigOrExit, secretsConfigSchema, workerConfigSchema } from '@pier/config';
import { prepareHostCommand } from './prepare-host-command.ts';
import { runWorker } from './run-worker.ts';
import { secretsCommand } from './secrets-command.ts';

// A .env file is for local runs only; real deployments set the environment.
if (existsSync('.env')) process.loadEnvFile('.env');

if (process.argv[2] === 'secrets') {
  await secretsCommand(loadConfigOrExit('secrets', secretsConfigSchema, process.env), process.argv.slice(3));
} else if (process.argv[2] === 'prepare-host') {
  await prepareHostCommand(loadConfigOrExit('worker', workerConfigSchema, process.env));
} else {
  await runWorker(loadConfigOrExit('worker', workerConfigSchema, process.env));
}

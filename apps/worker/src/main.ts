import { existsSync } from 'node:fs';
import { loadConfigOrExit, workerConfigSchema } from '@pier/config';
import { runWorker } from './run-worker.ts';

// A .env file is for local runs only; real deployments set the environment.
if (existsSync('.env')) process.loadEnvFile('.env');

await runWorker(loadConfigOrExit('worker', workerConfigSchema, process.env));

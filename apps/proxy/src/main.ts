import { existsSync } from 'node:fs';
import { loadConfigOrExit, proxyConfigSchema } from '@pier/config';
import { runProxy } from './run-proxy.ts';

// A .env file is for local runs only; real deployments set the environment.
if (existsSync('.env')) process.loadEnvFile('.env');

await runProxy(loadConfigOrExit('proxy', proxyConfigSchema, process.env));

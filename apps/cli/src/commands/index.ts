import type { CommandSpec } from '../command.ts';
import { APP_COMMANDS } from './apps.ts';
import { CRON_COMMANDS } from './cron.ts';
import { DEPLOY_COMMANDS } from './deploy.ts';
import { DOMAIN_COMMANDS } from './domains.ts';
import { EVENT_COMMANDS } from './events.ts';
import { LOG_COMMANDS } from './logs.ts';
import { PROCESS_COMMANDS } from './processes.ts';
import { RELEASE_COMMANDS } from './releases.ts';
import { RUN_COMMANDS } from './runs.ts';
import { SERVICE_COMMANDS } from './services.ts';
import { SESSION_COMMANDS } from './session.ts';
import { STATUS_COMMANDS } from './status.ts';
import { TOKEN_COMMANDS } from './tokens.ts';
import { VARIABLE_COMMANDS } from './variables.ts';

/** Every command, in the order `pier --help` lists them. */
export const COMMANDS: CommandSpec[] = [
  ...SESSION_COMMANDS,
  ...APP_COMMANDS,
  ...STATUS_COMMANDS,
  ...DEPLOY_COMMANDS,
  ...RELEASE_COMMANDS,
  ...LOG_COMMANDS,
  ...PROCESS_COMMANDS,
  ...VARIABLE_COMMANDS,
  ...RUN_COMMANDS,
  ...CRON_COMMANDS,
  ...SERVICE_COMMANDS,
  ...DOMAIN_COMMANDS,
  ...TOKEN_COMMANDS,
  ...EVENT_COMMANDS,
];

import type { CommandSpec } from '../command.ts';
import { SESSION_COMMANDS } from './session.ts';

/** Every command, in the order `pier --help` lists them. */
export const COMMANDS: CommandSpec[] = [...SESSION_COMMANDS];

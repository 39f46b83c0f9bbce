import { path } from '../api-client.ts';
import { positionals } from '../args.ts';
import type { CommandInput } from '../command.ts';

/** A managed service as the API presents it (credentials only when revealed). */
export interface Service {
  id: string;
  name: string;
  type: string;
  version: string;
  image: string;
  volume: string;
  state: string;
  lastError: string | null;
  backupSchedule: string;
  backupRetention: number;
  createdAt: string;
  readyAt: string | null;
  linkedTo?: string[];
  connection: { host: string; port: number; user?: string; password?: string; database?: string; url?: string };
}

export function serviceRoute(name: string): string {
  return path`/services/${name}`;
}

/** The one positional a service command takes, named as its usage names it. */
export function serviceArgument(input: CommandInput, label = 'name'): string {
  return positionals(input, [label])[label] as string;
}

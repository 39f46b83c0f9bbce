import { path } from '../api-client.ts';
import { positionals, stringOption } from '../args.ts';
import { CliError, EXIT, usageError } from '../cli-error.ts';
import type { CommandContext, CommandSpec } from '../command.ts';
import { UUID } from '../ids.ts';
import { printable } from '../output.ts';
import { pollUntil } from '../poll.ts';
import { relativeTime, sizeText } from '../units-text.ts';
import { serviceArgument, serviceRoute } from './service-route.ts';

interface Backup {
  id: string;
  service: string;
  type: string;
  version: string;
  trigger: string;
  state: string;
  file: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  verification: { verifiedAt?: string; problems?: string[] } | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

interface Operation {
  id: string;
  kind: string;
  state: string;
  error: string | null;
}

const BACKUP_ENDED = new Set(['good', 'failed']);
const OPERATION_ENDED = new Set(['done', 'failed']);

/** What a backup's verification found, in a few words. */
export function verificationText(backup: Pick<Backup, 'state' | 'verification' | 'error'>): string {
  if (backup.state === 'good') return `verified ${relativeTime(backup.verification?.verifiedAt)}`;
  if (backup.state === 'failed') return printable(backup.error ?? 'failed');
  return backup.state === 'verifying' ? 'verifying' : 'not verified yet';
}

function printBackups(ctx: CommandContext, backups: Backup[]): void {
  if (backups.length === 0) {
    ctx.out.info('no backups yet: make one with `pier services backup <name>`');
    return;
  }
  ctx.out.table(
    ['id', 'state', 'verification', 'size', 'trigger', 'created'],
    backups.map((b) => [
      b.id,
      ctx.out.state(b.state),
      verificationText(b),
      sizeText(b.sizeBytes),
      b.trigger,
      relativeTime(b.createdAt),
    ]),
  );
}

function printBackup(ctx: CommandContext, backup: Backup): void {
  ctx.out.fields([
    ['id', backup.id],
    ['service', `${backup.service} (${backup.type} ${backup.version})`],
    ['state', ctx.out.state(backup.state)],
    ['verification', verificationText(backup)],
    ['size', sizeText(backup.sizeBytes)],
    ['sha256', backup.sha256],
    ['file', backup.file && printable(backup.file)],
    ['created', relativeTime(backup.createdAt)],
    ['finished', relativeTime(backup.finishedAt)],
  ]);
}

const backups: CommandSpec = {
  name: 'backups',
  summary: "A service's backups, newest first, with their verification",
  usage: ['services backups <name>'],
  description: 'A backup counts (state good) once it was restored into a scratch container and checked.',
  examples: ['pier services backups shop-db', 'pier services backups shop-db --json'],
  async run(ctx, input) {
    const name = serviceArgument(input);
    const body = await (await ctx.api()).get<{ backups: Backup[] }>(`${serviceRoute(name)}/backups`, undefined, ctx.signal);
    ctx.out.result(body, () => printBackups(ctx, body.backups));
  },
};

const backup: CommandSpec = {
  name: 'backup',
  summary: 'Back up a service now and wait until the backup is verified',
  usage: ['services backup <name> [--detach]'],
  examples: ['pier services backup shop-db', 'pier services backup shop-db --detach --json'],
  options: { detach: { type: 'boolean', short: 'd', description: 'return once it is queued, without waiting' } },
  async run(ctx, input) {
    const name = serviceArgument(input);
    const api = await ctx.api();
    const queued = await api.post<Backup>(`${serviceRoute(name)}/backups`, undefined, ctx.signal);
    if (input.options.detach) return ctx.out.result(queued, () => ctx.out.line(queued.id));
    ctx.out.info(`backup ${queued.id} of ${name} (Ctrl-C stops waiting, not the backup)`);
    const ended = await pollUntil({
      read: () => api.get<Backup>(`${serviceRoute(name)}${path`/backups/${queued.id}`}`, undefined, ctx.signal),
      done: (b) => BACKUP_ENDED.has(b.state),
      describe: (b) => b.state,
      onProgress: (state) => ctx.out.info(`  ${state}`),
      signal: ctx.signal,
    });
    if (!ended) {
      ctx.out.info(`stopped waiting; the backup goes on: \`pier services backups ${name}\` shows how it ends`);
      return EXIT.interrupted;
    }
    ctx.out.result(ended, () => printBackup(ctx, ended));
    if (ended.state === 'failed')
      throw new CliError(`backup ${ended.id} failed: ${verificationText(ended)}`, EXIT.deployFailed, 'backup_failed');
  },
};

const restore: CommandSpec = {
  name: 'restore',
  summary: 'Restore a verified backup into the service (its current data is replaced), or --into another',
  usage: ['services restore <name> <backup> [--into <service>] [--detach]'],
  description: [
    'Asks you to type the name of the service restored into (or --yes). --into names another service of the same type,',
    'or a new name: a service is created for it. Waits until the restore ends unless --detach.',
  ].join('\n'),
  examples: ['pier services restore shop-db 6f1e…', 'pier services restore shop-db 6f1e… --into shop-db-copy'],
  options: {
    into: { type: 'string', value: 'service', description: 'restore into this service (created when it does not exist)' },
    detach: { type: 'boolean', short: 'd', description: 'return once it is queued, without waiting' },
  },
  async run(ctx, input) {
    const { name, backup: backupId } = positionals(input, ['name', 'backup']) as { name: string; backup: string };
    if (!UUID.test(backupId)) throw usageError('backup: must be a backup id (a UUID, as `pier services backups` lists them)');
    const into = stringOption(input, 'into');
    const target = into ?? name;
    await ctx.confirmTyped(`Restore backup ${backupId} into ${target}: the data ${target} holds now is replaced`, target);
    const api = await ctx.api();
    const route = `${serviceRoute(name)}${path`/backups/${backupId}/restore`}`;
    const result = await api.post<{ service: string; operation: Operation }>(route, { into }, ctx.signal);
    if (input.options.detach) {
      return ctx.out.result(result, () => ctx.out.success(`restore into ${result.service} queued (${result.operation.id})`));
    }
    ctx.out.info(`restoring into ${result.service} (Ctrl-C stops waiting, not the restore)`);
    const ended = await pollUntil({
      read: async () => {
        const { operations } = await api.get<{ operations: Operation[] }>(`${serviceRoute(result.service)}/operations`);
        return operations.find((op) => op.id === result.operation.id) ?? result.operation;
      },
      done: (op) => OPERATION_ENDED.has(op.state),
      describe: (op) => op.state,
      onProgress: (state) => ctx.out.info(`  ${state}`),
      signal: ctx.signal,
    });
    if (!ended) {
      ctx.out.info(`stopped waiting; the restore goes on: \`pier services show ${result.service}\` shows the service`);
      return EXIT.interrupted;
    }
    if (ctx.out.json) ctx.out.printJson({ service: result.service, operation: ended });
    if (ended.state === 'failed')
      throw new CliError(`restore failed: ${printable(ended.error ?? 'no reason given')}`, EXIT.deployFailed, 'restore_failed');
    if (!ctx.out.json) ctx.out.success(`restored backup ${backupId} into ${result.service}`);
  },
};

export const SERVICE_BACKUP_COMMANDS = [backups, backup, restore];

import { positionals, stringOption } from '../args.ts';
import { CliError, EXIT, usageError } from '../cli-error.ts';
import type { CommandContext, CommandSpec } from '../command.ts';
import { printable } from '../output.ts';
import { pollUntil } from '../poll.ts';
import { maskSecrets } from '../secret-mask.ts';
import { relativeTime } from '../units-text.ts';
import { SERVICE_BACKUP_COMMANDS } from './service-backups.ts';
import { SERVICE_LINK_COMMANDS } from './service-links.ts';
import { type Service, serviceArgument, serviceRoute } from './service-route.ts';

const TYPES = ['postgres', 'redis'];

function printServices(ctx: CommandContext, services: Service[]): void {
  if (services.length === 0) {
    ctx.out.info('no services: create one with `pier services create <name> --type postgres`');
    return;
  }
  ctx.out.table(
    ['name', 'type', 'version', 'state', 'linked to', 'backups', 'created'],
    services.map((s) => [
      s.name,
      s.type,
      s.version,
      ctx.out.state(s.state),
      s.linkedTo?.join(', '),
      printable(s.backupSchedule),
      relativeTime(s.createdAt),
    ]),
  );
}

function printService(ctx: CommandContext, service: Service): void {
  const c = service.connection;
  ctx.out.fields([
    ['name', service.name],
    ['type', `${service.type} ${service.version}`],
    ['image', printable(service.image)],
    ['state', ctx.out.state(service.state)],
    ['last error', service.lastError && printable(service.lastError)],
    ['linked to', service.linkedTo?.join(', ')],
    ['host', `${c.host}:${c.port} (from linked environments only)`],
    ['user', c.user],
    ['password', c.password],
    ['database', c.database],
    ['url', c.url],
    ['volume', service.volume],
    ['backups', `${printable(service.backupSchedule)} (UTC), keeping ${service.backupRetention}`],
    ['created', relativeTime(service.createdAt)],
    ['ready', relativeTime(service.readyAt)],
  ]);
}

const list: CommandSpec = {
  name: 'list',
  aliases: ['ls'],
  summary: 'Managed Postgres and Redis services (admin)',
  usage: ['services list'],
  examples: ['pier services', 'pier services list --json'],
  async run(ctx, input) {
    positionals(input, []);
    const body = await (await ctx.api()).get<{ services: Service[] }>('/services', undefined, ctx.signal);
    ctx.out.result(body, () => printServices(ctx, body.services));
  },
};

const create: CommandSpec = {
  name: 'create',
  summary: 'Create a managed Postgres or Redis and wait until it is ready',
  usage: ['services create <name> --type postgres|redis [--version <v>] [--detach]'],
  description: 'Its credentials are generated; link it to an app with `pier services link <name>`.',
  examples: ['pier services create shop-db --type postgres', 'pier services create cache --type redis --version 7 --detach'],
  options: {
    type: { type: 'string', value: 'postgres|redis', description: 'what to run' },
    version: { type: 'string', value: 'v', description: 'major (or major.minor) version (default: the configured one)' },
    detach: { type: 'boolean', short: 'd', description: 'return once it is created, without waiting until it is ready' },
  },
  async run(ctx, input) {
    const name = serviceArgument(input);
    const type = stringOption(input, 'type');
    if (!type || !TYPES.includes(type)) throw usageError(`--type: must be ${TYPES.join(' or ')}`);
    const api = await ctx.api();
    const created = await api.post<Service>('/services', { type, name, version: stringOption(input, 'version') }, ctx.signal);
    if (input.options.detach) {
      return ctx.out.result(created, () =>
        ctx.out.success(`${created.name} is ${created.state}: see \`pier services show ${name}\``),
      );
    }
    ctx.out.info(`created ${type} ${created.version} ${name}; waiting until it is ready (Ctrl-C stops waiting, not the service)`);
    const ready = await pollUntil({
      read: () => api.get<Service>(serviceRoute(name), undefined, ctx.signal),
      done: (s) => s.state !== 'provisioning',
      describe: (s) => s.state,
      onProgress: (state) => ctx.out.info(`  ${state}`),
      signal: ctx.signal,
    });
    if (!ready) {
      ctx.out.info(`stopped waiting; ${name} keeps provisioning: \`pier services show ${name}\` shows its state`);
      return EXIT.interrupted;
    }
    ctx.out.result(ready, () => printService(ctx, ready));
    if (ready.state !== 'ready') {
      throw new CliError(
        `${name} is ${ready.state}: ${printable(ready.lastError ?? 'no reason given')}`,
        EXIT.deployFailed,
        'service_failed',
      );
    }
  },
};

const show: CommandSpec = {
  name: 'show',
  summary: 'A service: state, where apps reach it, backups; credentials only with --reveal',
  usage: ['services show <name> [--reveal]'],
  description: [
    'Without --reveal the credentials are not asked for; any password-like field the answer holds is printed',
    'as ••••••, with --json too. With --reveal, user, password, database and URL are printed (JSON: the API body as is).',
  ].join('\n'),
  examples: ['pier services show shop-db', 'pier services show shop-db --reveal --json'],
  options: { reveal: { type: 'boolean', description: 'print the credentials and the connection URL' } },
  async run(ctx, input) {
    const name = serviceArgument(input);
    const reveal = input.options.reveal === true;
    const body = await (await ctx.api()).get<Service>(serviceRoute(name), { reveal: reveal || undefined }, ctx.signal);
    const shown = reveal ? body : maskSecrets(body);
    ctx.out.result(shown, () => printService(ctx, shown));
  },
};

const remove: CommandSpec = {
  name: 'delete',
  aliases: ['rm'],
  summary: 'Delete a service (refused while linked); its data volume and backups stay unless --delete-data',
  usage: ['services delete <name> [--delete-data]'],
  description: 'Asks you to type the name (or --yes). Unlink it from every environment first.',
  examples: ['pier services delete old-db', 'pier services delete old-db --delete-data --yes'],
  options: { 'delete-data': { type: 'boolean', description: 'also delete its data volume and every backup of it' } },
  async run(ctx, input) {
    const name = serviceArgument(input);
    const deleteData = input.options['delete-data'] === true;
    const what = deleteData ? `Delete service ${name}, its data and its backups` : `Delete service ${name} (its data is kept)`;
    await ctx.confirmTyped(what, name);
    const body = await (await ctx.api()).delete<Service>(serviceRoute(name), { deleteData: deleteData || undefined });
    ctx.out.result(body, () =>
      ctx.out.success(`${name} is ${body.state}${deleteData ? '' : `; its volume ${body.volume} and backups are kept`}`),
    );
  },
};

const services: CommandSpec = {
  ...list,
  name: 'services',
  aliases: undefined,
  summary: 'Managed Postgres and Redis: create, show, link to apps, back up, restore (admin)',
  usage: [
    'services',
    'services create <name> --type postgres|redis [--version <v>]',
    'services show <name> [--reveal]',
    'services delete <name> [--delete-data]',
    'services link <service>',
    'services unlink <service>',
    'services backups <name>',
    'services backup <name>',
    'services restore <name> <backup> [--into <service>]',
  ],
  subcommands: [list, create, show, remove, ...SERVICE_LINK_COMMANDS, ...SERVICE_BACKUP_COMMANDS],
};

export const SERVICE_COMMANDS = [services];

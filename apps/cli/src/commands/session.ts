import { positionals, stringOption } from '../args.ts';
import { CliError, EXIT, usageError } from '../cli-error.ts';
import type { CommandSpec } from '../command.ts';
import { normalizeServerUrl } from '../config-file.ts';

interface WhoAmI {
  role: 'admin' | 'app';
  app: string | null;
  tokenId: string | null;
  version: string;
}

const login: CommandSpec = {
  name: 'login',
  summary: 'Save a server and its token (checked first) in ~/.config/pier/config.json',
  usage: ['login <url> [--server <name>]'],
  description: [
    'Asks for the token without echoing it; without a terminal it reads PIER_TOKEN, else stdin.',
    'The file is written with mode 600. Several servers are kept by name; the last one logged in to is used',
    'unless a command names another with --server.',
  ].join('\n'),
  examples: [
    'pier login https://pier.example.com',
    'PIER_TOKEN=… pier login https://pier.example.com --server work',
    'cat token.txt | pier login https://pier.example.com',
  ],
  async run(ctx, input) {
    const { url: given } = positionals(input, ['url']);
    const url = normalizeServerUrl(given as string);
    const name = stringOption(input, 'server') ?? ctx.global.server ?? 'default';
    const token = ctx.servers.envToken() ?? (await ctx.askSecret(`Token for ${url}: `));
    if (!token) throw usageError('token: empty; create one with `pier tokens create` or use PIER_ADMIN_TOKEN');
    const who = await ctx.servers.client(url, token).get<WhoAmI>('/whoami', undefined, ctx.signal);
    ctx.servers.save(name, url, token, true);
    ctx.out.result(who, () => {
      const role = who.role === 'admin' ? 'an admin token' : `a token of app ${who.app}`;
      ctx.out.success(`logged in to ${url} (${name}) with ${role}; Pier ${who.version}`);
    });
  },
};

const logout: CommandSpec = {
  name: 'logout',
  summary: "Forget a server's token (the current one, or --server)",
  usage: ['logout [--server <name>]'],
  examples: ['pier logout', 'pier logout --server work'],
  async run(ctx) {
    const current = ctx.servers.list().find((s) => (ctx.global.server ? s.name === ctx.global.server : s.current));
    if (!current) throw new CliError('not logged in', EXIT.notFound, 'not_found');
    ctx.servers.remove(current.name);
    ctx.out.result({ server: current.name, url: current.url }, () =>
      ctx.out.success(`logged out of ${current.url} (${current.name})`),
    );
  },
};

const servers: CommandSpec = {
  name: 'servers',
  summary: 'List the saved servers, or pick the one used by default',
  usage: ['servers', 'servers use <name>'],
  examples: ['pier servers', 'pier servers use work'],
  subcommands: [
    {
      name: 'use',
      summary: 'Use this server by default',
      usage: ['servers use <name>'],
      async run(ctx, input) {
        const { name } = positionals(input, ['name']);
        ctx.servers.use(name as string);
        ctx.out.result({ current: name }, () => ctx.out.success(`using ${name}`));
      },
    },
  ],
  async run(ctx, input) {
    positionals(input, []);
    const list = ctx.servers.list();
    ctx.out.result({ servers: list }, () => {
      if (list.length === 0) return ctx.out.info('no servers: run `pier login <url>`');
      ctx.out.table(
        ['', 'name', 'url'],
        list.map((s) => [s.current ? '*' : '', s.name, s.url]),
      );
    });
  },
};

const whoami: CommandSpec = {
  name: 'whoami',
  summary: 'Which server and token this folder uses',
  usage: ['whoami'],
  examples: ['pier whoami', 'pier whoami --json'],
  async run(ctx) {
    const api = await ctx.api();
    const who = await api.get<WhoAmI>('/whoami', undefined, ctx.signal);
    ctx.out.result(who, () =>
      ctx.out.fields([
        ['server', api.url],
        ['role', who.role],
        ['app', who.app],
        ['server version', who.version],
        ['cli version', ctx.cliVersion],
      ]),
    );
  },
};

const version: CommandSpec = {
  name: 'version',
  summary: "The CLI's version and the server's",
  usage: ['version'],
  examples: ['pier version', 'pier --version'],
  async run(ctx) {
    const api = await ctx.api();
    const server = await api.get<{ version: string }>('/version', undefined, ctx.signal);
    const result = { cli: ctx.cliVersion, server: server.version, url: api.url };
    ctx.out.result(result, () => {
      ctx.out.line(`pier ${ctx.cliVersion}`);
      ctx.out.line(`server ${server.version} (${api.url})`);
    });
    if (server.version !== ctx.cliVersion) return EXIT.failure;
  },
};

export const SESSION_COMMANDS = [login, logout, servers, whoami, version];

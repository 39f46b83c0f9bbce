import { positionals } from '../args.ts';
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
  usage: ['login <url> [--server <name>] [--insecure]'],
  description: [
    'Asks for the token without echoing it; without a terminal it reads PIER_TOKEN, else stdin.',
    'The file is written with mode 600. Several servers are kept by name (default: "default" for the first, then',
    "the URL's host name); the last one logged in to is used unless a command names another with --server.",
    'A plain http:// URL is refused unless it is loopback or --insecure is given: the token would cross the network in clear.',
  ].join('\n'),
  options: {
    insecure: { type: 'boolean', description: 'allow http:// to a host other than loopback (the token is sent in clear)' },
  },
  examples: [
    'pier login https://pier.example.com',
    'PIER_TOKEN=… pier login https://pier.example.com --server work',
    'cat token.txt | pier login https://pier.example.com',
  ],
  async run(ctx, input) {
    const { url: given } = positionals(input, ['url']);
    const url = normalizeServerUrl(given as string);
    if (!isSafeUrl(url) && input.options.insecure !== true) {
      throw usageError(`url: ${url} is plain HTTP to another machine: use https:// (or --insecure to send the token in clear)`);
    }
    const name = ctx.global.server ?? defaultName(ctx.servers.list(), url);
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

/** https, or http to this machine (`npm run up`'s API on 127.0.0.1). */
function isSafeUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(hostname) || hostname.startsWith('127.');
}

/** The name a login without --server saves under: the entry of the same URL, else "default" first, else the host. */
function defaultName(servers: { name: string; url: string }[], url: string): string {
  const same = servers.find((server) => server.url === url);
  if (same) return same.name;
  if (!servers.some((server) => server.name === 'default')) return 'default';
  const host = new URL(url).hostname.replace(/[^A-Za-z0-9._-]/g, '');
  return servers.some((server) => server.name === host) ? `${host}-${servers.length}` : host;
}

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
      examples: ['pier servers use work', 'pier servers use default'],
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
    // The mismatch is said (stderr) as every command says it; it is not a failure of this command.
  },
};

export const SESSION_COMMANDS = [login, logout, servers, whoami, version];

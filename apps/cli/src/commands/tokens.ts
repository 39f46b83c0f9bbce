import { path } from '../api-client.ts';
import { positionals, stringOption } from '../args.ts';
import { CliError, EXIT, usageError } from '../cli-error.ts';
import type { CommandContext, CommandSpec } from '../command.ts';
import { UUID } from '../ids.ts';
import { printable } from '../output.ts';
import { relativeTime } from '../units-text.ts';

interface TokenView {
  id: string;
  name: string;
  displayPrefix: string;
  app: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

function printTokens(ctx: CommandContext, tokens: TokenView[]): void {
  if (tokens.length === 0) {
    ctx.out.info('no tokens: create one with `pier tokens create <name>`');
    return;
  }
  ctx.out.table(
    ['id', 'name', 'prefix', 'app', 'created', 'last used'],
    tokens.map((t) => [
      t.id,
      printable(t.name),
      t.displayPrefix,
      t.app ?? 'all (admin)',
      relativeTime(t.createdAt),
      relativeTime(t.lastUsedAt),
    ]),
  );
}

const list: CommandSpec = {
  name: 'list',
  aliases: ['ls'],
  summary: 'API tokens (never their values) (admin)',
  usage: ['tokens list'],
  examples: ['pier tokens', 'pier tokens list --json'],
  async run(ctx, input) {
    positionals(input, []);
    const body = await (await ctx.api()).get<{ tokens: TokenView[] }>('/tokens', undefined, ctx.signal);
    ctx.out.result(body, () => printTokens(ctx, body.tokens));
  },
};

const create: CommandSpec = {
  name: 'create',
  summary: 'Create an API token and print it once',
  usage: ['tokens create <name> [--for-app <app>]'],
  description: [
    'The token is printed on stdout once and never again: store it now (a CI secret, a password manager).',
    'With --for-app it sees and deploys that app only; without it, it is an admin token.',
  ].join('\n'),
  examples: ['pier tokens create "github actions" --for-app shop', 'pier tokens create ops-laptop'],
  options: { 'for-app': { type: 'string', value: 'app', description: 'limit the token to this app (default: an admin token)' } },
  async run(ctx, input) {
    const { name } = positionals(input, ['name']) as { name: string };
    const app = stringOption(input, 'for-app');
    const created = await (await ctx.api()).post<TokenView & { token: string }>('/tokens', { name, app }, ctx.signal);
    ctx.out.warn('the token is shown this once: store it now');
    ctx.out.result(created, () => {
      ctx.out.line(created.token);
      const kind = created.app ? `token of app ${created.app}` : 'admin token';
      ctx.out.success(`created ${kind} ${JSON.stringify(printable(created.name))} (${created.id})`);
    });
  },
};

const revoke: CommandSpec = {
  name: 'revoke',
  summary: 'Revoke a token: whatever uses it is refused from now on',
  usage: ['tokens revoke <id>'],
  examples: ['pier tokens revoke 2b1f…', 'pier tokens revoke 2b1f… --yes'],
  async run(ctx, input) {
    const { id } = positionals(input, ['id']) as { id: string };
    if (!UUID.test(id)) throw usageError('id: must be a token id (a UUID, as `pier tokens` lists them)');
    const api = await ctx.api();
    const { tokens } = await api.get<{ tokens: TokenView[] }>('/tokens', undefined, ctx.signal);
    const token = tokens.find((t) => t.id === id);
    if (!token) throw new CliError(`token ${id} not found`, EXIT.notFound, 'not_found');
    await ctx.confirm(`Revoke token ${printable(token.name)} (${token.displayPrefix}…)? Whatever uses it stops working.`);
    await api.delete(path`/tokens/${id}`);
    ctx.out.result({ id, revoked: true }, () => ctx.out.success(`revoked ${printable(token.name)}`));
  },
};

const tokens: CommandSpec = {
  ...list,
  name: 'tokens',
  aliases: undefined,
  summary: 'API tokens: list, create, revoke (admin)',
  usage: ['tokens', 'tokens create <name> [--for-app <app>]', 'tokens revoke <id>'],
  subcommands: [list, create, revoke],
};

export const TOKEN_COMMANDS = [tokens];

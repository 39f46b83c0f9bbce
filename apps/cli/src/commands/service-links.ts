import { path } from '../api-client.ts';
import { usageError } from '../cli-error.ts';
import type { CommandContext, CommandInput, CommandSpec, Target } from '../command.ts';
import { type Deployment, followCommand } from '../follow-deployment.ts';
import { serviceArgument } from './service-route.ts';

interface LinkResult {
  service: string;
  variable: string;
  variables: string[];
  urlParams: Record<string, string>;
  deployment: Deployment | null;
}

interface Link {
  service: string;
  variables: string[];
}

function linksRoute(target: Target): string {
  return path`/apps/${target.app}/environments/${target.env}/links`;
}

/** `--url-param sslmode=require` (repeatable) as the link's `urlParams`. */
function urlParams(input: CommandInput): Record<string, string> | undefined {
  const given = input.options['url-param'];
  const pairs = Array.isArray(given) ? given : typeof given === 'string' ? [given] : [];
  if (pairs.length === 0) return undefined;
  return Object.fromEntries(
    pairs.map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 1) throw usageError(`--url-param: ${JSON.stringify(pair)} must be key=value`);
      return [pair.slice(0, equals), pair.slice(equals + 1)];
    }),
  );
}

/** What the redeploy a link change queued is, and how to watch it. */
function reportRedeploy(ctx: CommandContext, target: Target, deployment: Deployment | null): void {
  if (!deployment) {
    ctx.out.info(`${target.app}/${target.env} has nothing live yet: its next deployment gets the change`);
    return;
  }
  ctx.out.info(`redeploying ${target.app}/${target.env}: deployment ${deployment.id} (${deployment.state})`);
  ctx.out.info(`  follow it with \`${followCommand(deployment.id)}\``);
}

const link: CommandSpec = {
  name: 'link',
  summary: 'Link a ready service to the environment: its variables are injected and the environment redeploys',
  usage: ['services link <service> [--url-param <key=value>…]'],
  description: [
    'A Postgres injects DATABASE_URL and the PG… variables, a Redis REDIS_URL and REDIS_…; a second service of a type',
    'injects <NAME>_URL… instead. The names are printed, never their values (see them with `pier env`).',
    'The environment redeploys its live image, health-gated. Asks first on production (--yes skips it).',
  ].join('\n'),
  examples: ['pier services link shop-db', 'pier services link shop-db --env production --url-param sslmode=require'],
  options: {
    'url-param': {
      type: 'string',
      multiple: true,
      value: 'key=value',
      description: 'a query parameter added to the injected URL (repeatable), e.g. sslmode=require',
    },
  },
  async run(ctx, input) {
    const service = serviceArgument(input, 'service');
    const params = urlParams(input);
    const target = await ctx.target();
    await ctx.confirmProduction(target, `link service ${service} (adds its variables and redeploys)`);
    const result = await (await ctx.api()).post<LinkResult>(linksRoute(target), { service, urlParams: params }, ctx.signal);
    ctx.out.result(result, () => {
      ctx.out.success(`linked ${result.service} to ${target.app}/${target.env}; it injects:`);
      for (const name of result.variables) ctx.out.line(name);
      reportRedeploy(ctx, target, result.deployment);
    });
  },
};

const unlink: CommandSpec = {
  name: 'unlink',
  summary: 'Unlink a service from the environment: its variables are removed and the environment redeploys',
  usage: ['services unlink <service>'],
  description: 'The service and its data stay. Asks first on production (--yes skips it).',
  examples: ['pier services unlink shop-db', 'pier services unlink shop-db --env production --yes'],
  async run(ctx, input) {
    const service = serviceArgument(input, 'service');
    const target = await ctx.target();
    const api = await ctx.api();
    const { links } = await api.get<{ links: Link[] }>(linksRoute(target), undefined, ctx.signal);
    const linked = links.find((l) => l.service === service);
    if (linked) ctx.out.info(`removes ${linked.variables.join(', ')}`);
    await ctx.confirmProduction(target, `unlink service ${service} (removes its variables and redeploys)`);
    const result = await api.delete<{ deployment: Deployment | null }>(`${linksRoute(target)}${path`/${service}`}`);
    ctx.out.result(result, () => {
      ctx.out.success(`unlinked ${service} from ${target.app}/${target.env}`);
      reportRedeploy(ctx, target, result.deployment);
    });
  },
};

export const SERVICE_LINK_COMMANDS = [link, unlink];

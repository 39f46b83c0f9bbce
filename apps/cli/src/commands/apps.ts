import { path } from '../api-client.ts';
import { positionals, stringOption } from '../args.ts';
import { CliError, EXIT, usageError } from '../cli-error.ts';
import type { CommandContext, CommandInput, CommandSpec } from '../command.ts';
import { type EnvironmentStatus, environmentState } from '../environment-status.ts';
import { ago, printable } from '../output.ts';
import { repositoryFullName } from '../target.ts';
import { sizeText } from '../units-text.ts';

interface App {
  name: string;
  repository: { fullName: string; cloneUrl: string } | null;
  defaultBranch: string;
  dockerfilePath: string;
  configPath: string;
  previewsEnabled: boolean;
  createdAt: string;
}

interface Environment {
  name: string;
  branch: string | null;
  tagPattern: string | null;
  replicas: number;
}

const list: CommandSpec = {
  name: 'list',
  aliases: ['ls'],
  summary: 'List the apps this token may see',
  usage: ['apps [list]'],
  examples: ['pier apps', 'pier apps list --json'],
  run: listApps,
};

async function listApps(ctx: CommandContext, input: CommandInput) {
  positionals(input, []);
  const body = await (await ctx.api()).get<{ apps: App[] }>('/apps', undefined, ctx.signal);
  ctx.out.result(body, () => {
    if (body.apps.length === 0) return ctx.out.info('no apps yet: create one with `pier apps create <name> --repo owner/name`');
    ctx.out.table(
      ['name', 'repository', 'default branch', 'created'],
      body.apps.map((app) => [app.name, app.repository?.fullName, app.defaultBranch, ago(app.createdAt)]),
    );
  });
}

/** The repository to create an app with: `--repo` and/or `--clone-url`, each derived from the other when alone. */
function repositoryOf(input: CommandInput): { fullName: string; cloneUrl: string } | undefined {
  const fullName = stringOption(input, 'repo');
  const cloneUrl = stringOption(input, 'clone-url');
  if (fullName === undefined && cloneUrl === undefined) return undefined;
  if (fullName !== undefined && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(fullName)) {
    throw usageError('--repo: must be owner/name as on GitHub');
  }
  if (cloneUrl === undefined) return { fullName: fullName as string, cloneUrl: `https://github.com/${fullName}.git` };
  const derived = fullName ?? repositoryFullName(cloneUrl);
  if (!derived) throw usageError('--clone-url: cannot tell owner/name from this URL; give --repo owner/name too');
  return { fullName: derived, cloneUrl };
}

const create: CommandSpec = {
  name: 'create',
  summary: 'Create an app with its production and staging environments',
  usage: ['apps create <name> [--repo <owner/name>] [--clone-url <url>] [--branch <name>]'],
  description: [
    'Webhooks are matched on --repo (owner/name); the worker clones --clone-url (default https://github.com/<repo>.git).',
    "Prints the GitHub webhook secret once: paste it in the repository's webhook settings.",
  ].join('\n'),
  examples: [
    'pier apps create shop --repo acme/shop',
    'pier apps create shop --repo acme/shop --clone-url git@github.com:acme/shop.git --branch trunk',
  ],
  options: {
    repo: { type: 'string', value: 'owner/name', description: 'the GitHub repository (webhooks are matched on it)' },
    'clone-url': { type: 'string', value: 'url', description: 'where the worker clones from (default: GitHub over https)' },
    branch: { type: 'string', value: 'name', description: 'the default branch (default main)' },
  },
  async run(ctx, input) {
    const { name } = positionals(input, ['name']) as { name: string };
    const repository = repositoryOf(input);
    const branch = stringOption(input, 'branch');
    const api = await ctx.api();
    const body = { name, ...(repository ? { repository } : {}), ...(branch ? { defaultBranch: branch } : {}) };
    const created = await api.post<App & { environments: Environment[]; webhookSecret: string }>('/apps', body, ctx.signal);
    ctx.out.result(created, () => {
      ctx.out.success(`created app ${created.name} with environments ${created.environments.map((e) => e.name).join(', ')}`);
      ctx.out.fields([...appFields(created), ['webhook secret', created.webhookSecret]]);
      ctx.out.info(
        [
          'The secret is shown only now. On GitHub, in the repository’s Settings → Webhooks → Add webhook, set',
          `payload URL ${api.url}/webhooks/github${api.url.startsWith('http:') ? " (at the server's https:// address)" : ''},`,
          'content type application/json, this secret,',
          'and the events Pushes, Releases and Pull requests.',
        ].join('\n'),
      );
    });
  },
};

function appFields(app: App): [string, string | null | undefined][] {
  return [
    ['name', app.name],
    ['repository', app.repository?.fullName],
    ['clone url', app.repository ? printable(app.repository.cloneUrl) : null],
    ['default branch', app.defaultBranch],
    ['dockerfile', app.dockerfilePath],
    ['pier.json', app.configPath],
    ['previews', app.previewsEnabled ? 'on' : 'off'],
    ['created', ago(app.createdAt)],
  ];
}

const show: CommandSpec = {
  name: 'show',
  summary: "An app's settings and each environment's live release and state",
  usage: ['apps show [name]'],
  description: 'Without a name: the app of this folder (--app, pier.json, the git remote).',
  examples: ['pier apps show shop', 'pier apps show --json'],
  async run(ctx, input) {
    const { name } = positionals(input, [], ['name']);
    const appName = name ?? (await ctx.target({ appOnly: true })).app;
    const api = await ctx.api();
    const [app, envs] = await Promise.all([
      api.get<App>(path`/apps/${appName}`, undefined, ctx.signal),
      api.get<{ environments: Environment[] }>(path`/apps/${appName}/environments`, undefined, ctx.signal),
    ]);
    // The environment list carries no release: each environment's status does.
    const statuses = await Promise.all(
      envs.environments.map((env) =>
        api.get<EnvironmentStatus>(path`/apps/${appName}/environments/${env.name}/status`, undefined, ctx.signal),
      ),
    );
    const status = Object.fromEntries(statuses.map((s) => [s.environment, s]));
    ctx.out.result({ app, environments: envs.environments, status }, () => {
      ctx.out.fields(appFields(app));
      ctx.out.line();
      ctx.out.table(
        ['environment', 'branch / tag', 'replicas', 'live', 'state'],
        envs.environments.map((env) => {
          const s = status[env.name];
          return [
            env.name,
            env.tagPattern ? `tag ${env.tagPattern}` : env.branch,
            env.replicas,
            s?.liveRelease ? `v${s.liveRelease.version}` : null,
            s ? ctx.out.state(environmentState(s)) : null,
          ];
        }),
      );
    });
  },
};

const remove: CommandSpec = {
  name: 'delete',
  aliases: ['rm'],
  summary: 'Delete an app, its environments, variables, replicas and images',
  usage: ['apps delete <name>'],
  description: 'Asks you to type the name (--yes skips it). Waits up to a minute for the worker to report the disk freed.',
  examples: ['pier apps delete shop', 'pier apps delete shop --yes'],
  async run(ctx, input) {
    const { name } = positionals(input, ['name']) as { name: string };
    const api = await ctx.api();
    // Refusals come before the user types the name: an app token may not delete apps (it sees no other app).
    const who = await api.get<{ role: string }>('/whoami', undefined, ctx.signal);
    if (who.role !== 'admin') throw new CliError('only an admin token may delete apps', EXIT.auth, 'forbidden');
    await api.get(path`/apps/${name}`, undefined, ctx.signal);
    await ctx.confirmTyped(`This deletes app ${name}, its environments, replicas and images`, name);
    ctx.out.info('deleting; the worker removes its containers and images (up to a minute)…');
    // Ctrl-C stops the wait only: the server goes on deleting.
    const deleted = await api.request<{ app: string; imagesRemoved: number | null; freedBytes: number | null }>(
      'DELETE',
      path`/apps/${name}`,
      { signal: ctx.signal },
    );
    ctx.out.result(deleted, () => {
      if (deleted.imagesRemoved === null) {
        return ctx.out.success(`deleted app ${name}; the worker is still removing its containers and images`);
      }
      const freed = deleted.freedBytes ? `, ${sizeText(deleted.freedBytes)} freed` : '';
      ctx.out.success(`deleted app ${name}: ${deleted.imagesRemoved} image(s) removed${freed}`);
    });
  },
};

const apps: CommandSpec = {
  name: 'apps',
  summary: 'List, create, show and delete apps',
  usage: ['apps [list]', 'apps create <name> [--repo <owner/name>]', 'apps show [name]', 'apps delete <name>'],
  examples: ['pier apps', 'pier apps create shop --repo acme/shop', 'pier apps show shop', 'pier apps delete shop'],
  subcommands: [list, create, show, remove],
  run: listApps,
};

export const APP_COMMANDS = [apps];

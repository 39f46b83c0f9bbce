import { path } from '../api-client.ts';
import { integerOption, positionals } from '../args.ts';
import { CliError, EXIT, usageError } from '../cli-error.ts';
import type { CommandContext, CommandSpec, Target } from '../command.ts';
import { builtCommit } from '../environment-status.ts';
import type { Deployment } from '../follow-deployment.ts';
import { UUID } from '../ids.ts';
import { ago, printable } from '../output.ts';
import { DETACH_OPTION, followOrDetach } from './deploy.ts';
import { promote } from './promote.ts';

interface Release {
  id: string;
  version: number;
  image: { id: string; ref: string };
  createdAt: string;
  rolledBack: { at: string; reason: string } | null;
}

interface EnvironmentStatus {
  liveRelease: { id: string } | null;
}

/** The short commit a built image was tagged with (`pier/<app>:<sha>`); none for an image built elsewhere. */
function commitOf(release: Release): string | undefined {
  return builtCommit(release.image.ref)?.slice(0, 7);
}

/** A built image by its short id; one built elsewhere by its reference. */
function imageText(release: Release): string {
  if (commitOf(release)) return release.image.id.replace(/^sha256:/, '').slice(0, 12);
  return release.image.ref;
}

async function liveReleaseId(ctx: CommandContext, target: Target): Promise<string | undefined> {
  const api = await ctx.api();
  const status = await api.get<EnvironmentStatus>(
    path`/apps/${target.app}/environments/${target.env}/status`,
    undefined,
    ctx.signal,
  );
  return status.liveRelease?.id;
}

async function listReleases(ctx: CommandContext, target: Target): Promise<{ releases: Release[] }> {
  const api = await ctx.api();
  return api.get(path`/apps/${target.app}/environments/${target.env}/releases`, undefined, ctx.signal);
}

/** `v3` or `3`; a release id is looked up among the environment's releases. */
async function releaseVersion(ctx: CommandContext, target: Target, given: string): Promise<number> {
  const number = /^v?(\d{1,9})$/i.exec(given)?.[1];
  if (number && Number(number) >= 1) return Number(number);
  if (!UUID.test(given)) throw usageError('release: a version (v3 or 3) or a release id');
  const found = (await listReleases(ctx, target)).releases.find((r) => r.id === given.toLowerCase());
  if (!found) throw new CliError(`release ${given} of ${target.app} ${target.env} not found`, EXIT.notFound, 'not_found');
  return found.version;
}

const releases: CommandSpec = {
  name: 'releases',
  summary: "The environment's releases, newest first (* marks the live one)",
  usage: ['releases [--limit <n>]'],
  examples: ['pier releases', 'pier releases --env production --limit 5', 'pier releases --json'],
  options: {
    limit: { type: 'string', value: 'n', description: 'show the newest n (default 20)' },
  },
  async run(ctx, input) {
    positionals(input, []);
    const limit = integerOption(input, 'limit', { min: 1, max: 1000 }) ?? 20;
    const target = await ctx.target();
    const body = await listReleases(ctx, target);
    const shown = body.releases.slice(0, limit);
    if (ctx.out.json) return ctx.out.printJson({ ...body, releases: shown });
    if (shown.length === 0) return ctx.out.info('no releases yet: run `pier deploy`');
    const live = await liveReleaseId(ctx, target);
    ctx.out.table(
      ['', 'version', 'commit', 'image', 'created', 'note'],
      shown.map((r) => [
        r.id === live ? ctx.out.paint.green('*') : '',
        `v${r.version}`,
        commitOf(r),
        imageText(r),
        ago(r.createdAt),
        r.rolledBack ? `rolled back on its own ${ago(r.rolledBack.at)}: ${printable(r.rolledBack.reason)}` : '',
      ]),
    );
  },
};

const rollback: CommandSpec = {
  name: 'rollback',
  summary: 'Redeploy an earlier release (default: the one before the live one), health-gated, without a rebuild',
  usage: ['rollback [<release>] [--restore-data] [--detach]'],
  description: [
    'The release is a version (v3 or 3) or a release id. It follows the rollback like `pier deploy`:',
    'exit 0 once live, 5 when it fails, 130 on Ctrl-C (the rollback keeps going on the server).',
  ].join('\n'),
  examples: ['pier rollback', 'pier rollback v3 --env production --yes', 'pier rollback 3 --restore-data'],
  options: {
    'restore-data': {
      type: 'boolean',
      description: 'also restore the linked Postgres from the backup taken before the next release command',
    },
    ...DETACH_OPTION,
  },
  async run(ctx, input) {
    const { release: given } = positionals(input, [], ['release']);
    const target = await ctx.target();
    const release = given === undefined ? undefined : await releaseVersion(ctx, target, given);
    const restoreData = input.options['restore-data'] === true;
    const what = release === undefined ? 'the release before the live one' : `release v${release}`;
    await ctx.confirmProduction(target, `roll back to ${what}${restoreData ? ' and restore its database' : ''}`);
    const api = await ctx.api();
    const started = await api.post<Deployment & { restore: { backup: string; service: string; takenBefore: number } | null }>(
      path`/apps/${target.app}/environments/${target.env}/rollback`,
      { ...(release === undefined ? {} : { release }), ...(restoreData ? { restoreData } : {}) },
      ctx.signal,
    );
    const { restore } = started;
    if (restore && !ctx.out.json) {
      ctx.out.info(
        `restoring ${restore.service} from backup ${restore.backup} (taken before v${restore.takenBefore}'s release command)`,
      );
    }
    // --json: the rollback's answer as it ended (its restore kept).
    await followOrDetach(ctx, input, started, (final) => ({ ...final, restore }));
  },
};

export const RELEASE_COMMANDS = [releases, rollback, promote];

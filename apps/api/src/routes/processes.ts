import { availableParallelism } from 'node:os';
import { ConflictError, DEFAULT_APP_QUOTAS, DEFAULT_PROCESS_MEMORY_MB, ValidationError } from '@pier/core';
import { DEFAULT_PROCESS_REPLICAS, type EnvironmentRow, type ProcessRow, type ReleaseRow, type ReplicaRow } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { presentDeployment } from '../presenters.ts';
import { envParams } from '../schemas.ts';
import { redeployWithSettings } from './run-settings-redeploy.ts';

/** The least memory a replica may be given: below it, no runtime of the base images starts. */
export const MIN_MEMORY_MB = 32;
const DEFAULT_CPUS = 1;

const processParams = envParams.extend({
  type: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a process type name: letters, digits, - and _'),
});

const changeProcessBody = z
  .strictObject({
    replicas: z.int().min(0).max(100).optional(),
    memoryMb: z
      .int()
      .min(MIN_MEMORY_MB, `must be at least ${MIN_MEMORY_MB} MiB: a process cannot start with less`)
      .max(1_048_576)
      .nullable()
      .optional()
      .describe('memory limit of each replica in MiB; null: the release’s (pier.json resources), else 512'),
    cpus: z
      .number()
      .min(0.05, 'must be at least 0.05 CPU')
      .max(256)
      .nullable()
      .optional()
      .describe('CPU limit of each replica; null: the release’s, else 1'),
  })
  .refine((body) => Object.keys(body).length > 0, 'give replicas, memoryMb or cpus');

type Commands = Record<string, string | null>;

const MiB = 1024 * 1024;

/** A replica cannot have more CPUs than the host: the Engine would refuse every start. */
function assertCpusFit(cpus: number | null | undefined): void {
  const host = availableParallelism();
  if (cpus !== undefined && cpus !== null && cpus > host) {
    throw new ValidationError(`body.cpus: this host has ${host} CPUs; a replica cannot have ${cpus}`, 'body.cpus');
  }
}

/** The `resources` of a release's pier.json, as it recorded them. */
function resourcesOf(release: ReleaseRow | null): { memoryMb?: number; cpus?: number } | undefined {
  return (release?.settings as { resources?: { value?: { memoryMb?: number; cpus?: number } } } | null)?.resources?.value;
}

/** The process types a release runs (one web process for a release made before types were kept). */
function commandsOf(release: ReleaseRow | null): Commands {
  return (release?.processes as Commands | undefined) ?? { web: null };
}

/** Each process type of the live (or the desired) release: command, replicas wanted and running, limits, crashes. */
export function processesView(
  env: EnvironmentRow,
  release: ReleaseRow | null,
  rows: readonly ProcessRow[],
  replicas: readonly ReplicaRow[],
) {
  const resources = resourcesOf(release);
  return Object.entries(commandsOf(release)).map(([type, command]) => {
    const row = rows.find((r) => r.type === type);
    const own = replicas.filter((r) => r.processType === type && r.releaseId === release?.id);
    return {
      type,
      // null: the image's own command.
      command,
      replicas: type === 'web' ? env.replicas : (row?.replicas ?? DEFAULT_PROCESS_REPLICAS),
      running: own.filter((r) => r.state === 'serving').length,
      memoryMb: row?.memoryMb ?? resources?.memoryMb ?? DEFAULT_PROCESS_MEMORY_MB,
      cpus: row?.cpus ?? resources?.cpus ?? DEFAULT_CPUS,
      limitsSource: row?.memoryMb || row?.cpus ? 'api' : resources ? 'pier.json' : 'default',
      health: type === 'web' ? env.health : (row?.health ?? 'ok'),
      restartStreak: type === 'web' ? env.restartStreak : (row?.restartStreak ?? 0),
      // How a replica last ended without being asked: `out of memory at 512 MiB: raise memoryMb`, an exit code.
      lastExit: row?.lastExit ?? null,
    };
  });
}

/** A type that mounts a single-writer volume runs one replica: more is refused (400 naming body.replicas). */
export async function assertSingleWriterFits(
  deps: Pick<ApiDeps, 'volumes'>,
  environmentId: string,
  type: string,
  replicas: number | undefined,
): Promise<void> {
  if (replicas === undefined || replicas <= 1) return;
  if (!(await deps.volumes.singleWriterTypes(environmentId)).includes(type)) return;
  throw new ValidationError(
    `body.replicas: ${type} mounts a single-writer volume and runs one replica; create the volume with shared: true to run more`,
    'body.replicas',
  );
}

export function processRoutes(deps: ApiDeps) {
  const { apps, environments, releases, replicas, processes } = deps;

  async function current(principal: Parameters<typeof apps.get>[0], appName: string, envName: string) {
    const app = await apps.get(principal, appName);
    const env = await environments.get(app.id, envName);
    const releaseId = env.liveReleaseId ?? env.desiredReleaseId;
    const release = releaseId ? await releases.get(releaseId) : null;
    return { app, env, release };
  }

  return [
    route({
      method: 'GET',
      url: '/apps/:app/environments/:env/processes',
      summary: 'The process types of the live release: command, replicas, limits, crashes',
      tag: 'processes',
      params: envParams,
      handler: async ({ params, principal }) => {
        const { env, release } = await current(principal, params.app, params.env);
        return {
          release: release?.version ?? null,
          processes: processesView(env, release, await processes.list(env.id), await replicas.list(env.id)),
        };
      },
    }),
    route({
      method: 'PATCH',
      url: '/apps/:app/environments/:env/processes/:type',
      summary: 'Scale a process type, or change the memory and CPU of its replicas (no rebuild)',
      tag: 'processes',
      params: processParams,
      body: changeProcessBody,
      handler: async ({ params, body, principal }) => {
        const { app, env, release } = await current(principal, params.app, params.env);
        const known = Object.keys(commandsOf(release));
        if (!known.includes(params.type)) {
          const what = release ? `release v${release.version} runs ${known.join(', ')}` : 'nothing is deployed yet';
          throw new ValidationError(
            `type: unknown process type "${params.type}": ${what} (types come from the Procfile or pier.json's processes)`,
            'type',
          );
        }
        const rows = await processes.list(env.id);
        const before = processesView(env, release, rows, []).find((p) => p.type === params.type);
        const from = before?.replicas ?? 0;
        await assertSingleWriterFits(deps, env.id, params.type, body.replicas);
        assertCpusFit(body.cpus);
        const oldMb = before?.memoryMb ?? DEFAULT_PROCESS_MEMORY_MB;
        const newMb =
          body.memoryMb === undefined ? oldMb : (body.memoryMb ?? resourcesOf(release)?.memoryMb ?? DEFAULT_PROCESS_MEMORY_MB);
        const to = body.replicas ?? from;
        // More replicas, or each one larger: what it adds must fit (a crash restart or a scale-up later starts them so).
        const addedMb = to * newMb - from * oldMb;
        if (addedMb > 0 && deps.capacity) {
          const field = body.replicas !== undefined && to > from ? 'body.replicas' : 'body.memoryMb';
          const decision = await deps.capacity.check({
            kind: 'scale',
            action: `${params.type} of ${app.name}-${env.name} at ${to} replicas of ${newMb} MiB (now ${from} of ${oldMb} MiB)`,
            memoryBytes: addedMb * MiB,
            subject: { appId: app.id, environmentId: env.id, envName: env.name },
          });
          if (!decision.ok) throw new ConflictError(`${field}: ${decision.reason}`);
        }
        await processes.set(env.id, params.type, body, {
          appId: app.id,
          quotas: deps.quotas ?? DEFAULT_APP_QUOTAS,
          current: from,
        });
        // New limits reach running replicas by replacing them: a redeploy of the running image.
        const limitsChanged = body.memoryMb !== undefined || body.cpus !== undefined;
        const deployment = limitsChanged && env.liveReleaseId ? await redeployWithSettings(deps, env) : null;
        const after = await environments.get(app.id, env.name);
        const view = processesView(after, release, await processes.list(env.id), await replicas.list(env.id));
        return {
          process: view.find((p) => p.type === params.type),
          deployment: deployment ? presentDeployment(deployment, app.name, env.name) : null,
        };
      },
    }),
  ];
}

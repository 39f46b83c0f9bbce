import { expect } from 'vitest';
import type { TestApi } from './api.ts';
import type { TestWorker } from './worker.ts';

/** Polls GET /services/:name until it is `state`; a service that fails meanwhile fails the wait with its error. */
export async function serviceReaches(api: TestApi, name: string, state = 'ready', timeoutMs = 120_000): Promise<void> {
  await expect
    .poll(
      async () => {
        const last: { state?: string; lastError?: string } = (
          await api.request({ method: 'GET', url: `/services/${name}` })
        ).json();
        if (last.state === 'failed' && state !== 'failed') throw new Error(`service ${name} failed: ${last.lastError}`);
        return last.state;
      },
      { timeout: timeoutMs, interval: 500 },
    )
    .toBe(state);
}

export interface BackupView {
  state: string;
  error: string | null;
  verification: Record<string, unknown>;
  file: string;
}

/** Polls a backup until it is good or failed, and returns it. */
export async function backupFinished(api: TestApi, service: string, id: string): Promise<BackupView> {
  let backup: BackupView | undefined;
  await expect
    .poll(
      async () => {
        backup = (await api.request({ method: 'GET', url: `/services/${service}/backups/${id}` })).json();
        return ['good', 'failed'].includes(backup?.state ?? '');
      },
      { timeout: 120_000, interval: 500 },
    )
    .toBe(true);
  return backup as BackupView;
}

/** Polls a service's operation until it is done or failed, and returns it. */
export async function operationFinished(
  api: TestApi,
  service: string,
  id: string,
): Promise<{ state: string; error: string | null }> {
  let op: { state: string; error: string | null } | undefined;
  await expect
    .poll(
      async () => {
        const ops = (await api.request({ method: 'GET', url: `/services/${service}/operations` })).json().operations;
        op = ops.find((o: { id: string }) => o.id === id);
        return op?.state;
      },
      { timeout: 120_000, interval: 500 },
    )
    .toMatch(/done|failed/);
  return op as { state: string; error: string | null };
}

/**
 * Removes what a test's managed services left in Docker: every service
 * container of the worker's installation, and the networks and volumes of
 * the services named.
 */
export async function removeServicesFromDocker(worker: TestWorker, services: string[]): Promise<void> {
  for (const c of await worker.docker.listContainers({ 'pier.app': '@services', 'pier.instance': worker.prefix }))
    await worker.docker.removeContainer(c.id).catch(() => {});
  for (const name of services) await worker.docker.removeNetwork(`pier-svc-${name}`).catch(() => {});
  const volumes = (await worker.docker.docker.listVolumes({ filters: { label: ['pier.app=@services'] } })).Volumes ?? [];
  for (const volume of volumes)
    if (services.some((name) => volume.Name.startsWith(`pier-svc-${name}-`)))
      await worker.docker.removeVolume(volume.Name).catch(() => {});
}

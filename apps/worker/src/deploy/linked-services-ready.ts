import type { ServiceOperationStore, ServiceStore } from '@pier/db';

/** How long a deployment waits for linked services that are still being made (a preview's own database). */
const SERVICE_WAIT_MS = 180_000;
/** How long it waits for a restore of a linked service (`rollback { restoreData }`) to finish. */
const RESTORE_WAIT_MS = 900_000;

export interface LinkedServicesDeps {
  services: Pick<ServiceStore, 'links'>;
  serviceOperations: Pick<ServiceOperationStore, 'operations'>;
}

/**
 * Waits until every linked service, and the database role of each link, is
 * ready, and no restore of one is pending or running (a rollback that
 * restores data starts its replicas on the restored database); the reason it
 * cannot deploy, or null.
 */
export async function waitForLinkedServices(
  deps: LinkedServicesDeps,
  environmentId: string,
  log: (line: string) => void,
  pollMs = 1000,
): Promise<string | null> {
  const started = Date.now();
  const announced = new Set<string>();
  const watched = new Set<string>();
  for (;;) {
    const links = await deps.services.links(environmentId);
    // A new link's database role is created by the worker before any replica gets a URL naming it.
    const pending = links.filter((l) => l.service.state !== 'ready' || (l.role !== null && l.role.readyAt === null));
    const failed = pending.find((l) => l.service.state === 'failed' || l.service.state === 'deleting');
    if (failed)
      return `linked service ${failed.service.name} is ${failed.service.state}${failed.service.lastError ? `: ${failed.service.lastError}` : ''}`;
    if (pending.length > 0) {
      if (Date.now() - started > SERVICE_WAIT_MS)
        return `linked service ${pending[0]?.service.name} was not ready within ${SERVICE_WAIT_MS / 1000} s`;
      announce(
        announced,
        'ready',
        `waiting for linked service ${pending.map((l) => l.service.name).join(', ')} to be ready`,
        log,
      );
    } else {
      const restoring = await restoresUnderWay(deps, links, watched);
      if (restoring.failed) return `the restore of ${restoring.failed.name} failed: ${restoring.failed.error}`;
      if (restoring.names.length === 0) return null;
      if (Date.now() - started > RESTORE_WAIT_MS)
        return `the restore of ${restoring.names.join(', ')} did not finish within ${RESTORE_WAIT_MS / 60_000} min`;
      announce(announced, 'restore', `waiting for the restore of ${restoring.names.join(', ')} to finish`, log);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function announce(announced: Set<string>, key: string, line: string, log: (line: string) => void): void {
  if (announced.has(key)) return;
  announced.add(key);
  log(line);
}

/**
 * Linked services with a restore pending or running (added to `watched`),
 * and one of those whose restore has failed since.
 */
async function restoresUnderWay(
  deps: LinkedServicesDeps,
  links: Awaited<ReturnType<ServiceStore['links']>>,
  watched: Set<string>,
): Promise<{ names: string[]; failed?: { name: string; error: string } }> {
  const names: string[] = [];
  for (const link of links) {
    const [latest] = (await deps.serviceOperations.operations(link.service.id, 10)).filter((op) => op.kind === 'restore');
    if (latest && (latest.state === 'pending' || latest.state === 'running')) {
      watched.add(link.service.id);
      names.push(link.service.name);
    } else if (latest?.state === 'failed' && watched.has(link.service.id)) {
      return { names, failed: { name: link.service.name, error: latest.error ?? 'unknown error' } };
    }
  }
  return { names };
}

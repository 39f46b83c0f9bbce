import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { DockerRuntime, DockerWorkload } from '@pier/docker';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reconciler } from '../../apps/worker/src/deploy/reconciler.ts';
import { LABEL_ENVIRONMENT_ID, LABEL_INSTANCE } from '../../apps/worker/src/deploy/replica-spec.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The reconciler removes its installation's empty networks of deleted
 * environments (a pull request closed while its preview's first rollout was
 * only starting leaves one no container leads back to), and nothing else.
 */

const run = randomBytes(4).toString('hex');
const app = `sweep-${run}`;
const instance = `sweep-${run}`;
const docker = new DockerRuntime();
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const container of await docker.listContainers({ 'pier.app': app })) await docker.removeContainer(container.id);
  for (const network of await docker.listNetworks({ 'pier.app': app })) await docker.removeNetwork(network.name);
  await database?.destroy();
});

function reconciler(networkSweepAgeMs: number) {
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  return new Reconciler({
    stores: createStores(database.db, new SecretBox(randomBytes(32))),
    workload: new DockerWorkload(docker.containers),
    networks: docker,
    instance,
    baseDomain: 'pier.test',
    logger: createLogger({ name: 'worker', level: 'info', format: 'json', destination: quiet }),
    networkSweepAgeMs,
  });
}

const names = async () => (await docker.listNetworks({ 'pier.app': app })).map((n) => n.name).sort();

describe('sweeping networks of deleted environments', () => {
  it('removes only empty ones of this installation whose environment is gone, once old enough', async () => {
    const { apps, environments } = createStores(database.db, new SecretBox(randomBytes(32)));
    const live = await apps.create({ name: app, webhookSecret: randomBytes(16).toString('hex') });
    const [staging] = (await environments.list(live.id)).filter((e) => e.name === 'staging');
    const net = (env: string, environmentId: string, owner = instance) =>
      docker.ensureNetwork(`pier-${app}-${env}`, {
        'pier.app': app,
        'pier.env': env,
        [LABEL_ENVIRONMENT_ID]: environmentId,
        [LABEL_INSTANCE]: owner,
      });
    await net('staging', staging?.id as string); // its environment exists
    await net('production', randomUUID()); // made for a deleted namesake, used again by a live one: stays
    await net('pr-1', randomUUID()); // deleted, empty: the one to go
    await net('pr-2', randomUUID(), 'another-installation'); // deleted, but not ours
    await net('pr-3', randomUUID()); // deleted, but a container is still attached
    const attached = await docker.runContainer({
      name: `${app}-attached`,
      image: 'pier-local/debian:bookworm',
      env: {},
      labels: { 'pier.app': app },
      containerPort: null,
      networks: [`pier-${app}-pr-3`],
      limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 100_000_000, pids: 16 },
      command: ['sleep', '60'],
    });

    // Too young: it may be a rollout of an environment made after the pass read them.
    const young = reconciler(10 * 60_000);
    await young.reconcile();
    await young.stop(); // gives the reconciler lease up for the next one
    expect(await names()).toHaveLength(5);

    const old = reconciler(0);
    await old.reconcile();
    await old.stop();
    expect(await names()).toEqual([`pier-${app}-pr-2`, `pier-${app}-pr-3`, `pier-${app}-production`, `pier-${app}-staging`]);
    await docker.removeContainer(attached.id);
  }, 60_000);
});

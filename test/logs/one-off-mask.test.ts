import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OneOffMasks } from '../../apps/worker/src/logs/one-off-mask.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** The mask the log collector puts a one-off container's output through, from a real Postgres's variables and release. */

let database: TestDatabase;
let stores: ReturnType<typeof createStores>;
beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
});
afterAll(async () => database?.destroy());

describe('OneOffMasks', () => {
  it('masks release, run and cron output with the app’s variables and the release’s config; replicas’ output is left as written', async () => {
    const app = await stores.apps.create({ name: 'masked', webhookSecret: 'x'.repeat(40) });
    const env = await stores.environments.get(app.id, 'production');
    await stores.variables.change(env.id, { set: { API_TOKEN: 'tok-variable-0123456789' } });
    const release = await stores.releases.create({
      environmentId: env.id,
      imageId: 'sha256:abc',
      imageRef: 'pier/masked:1',
      config: { DATABASE_URL: 'postgres://u:release-secret-42@db/x' },
      configVersion: 1,
      replicas: 1,
      health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
    });
    const masks = new OneOffMasks({ stores });
    const text = 'token tok-variable-0123456789 url postgres://u:release-secret-42@db/x';
    const base = { environmentId: env.id, replica: 'c', releaseId: release.id };
    for (const kind of ['release', 'run', 'cron']) {
      const mask = await masks.maskOf({ ...base, source: kind, processType: kind });
      expect(mask(text)).not.toContain('tok-variable-0123456789');
      expect(mask(text)).not.toContain('release-secret-42');
    }
    const replica = await masks.maskOf({ ...base, source: 'replica', processType: 'web' });
    expect(replica(text)).toBe(text);
  });
});

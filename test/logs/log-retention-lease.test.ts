import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogRetention } from '../../apps/worker/src/logs/log-retention.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { quietLogger } from '../support/quiet-logger.ts';

/** Log retention acts in one worker at a time (the `log-retention` lease), on a real Postgres. */

let database: TestDatabase;
let stores: ReturnType<typeof createStores>;
beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
});
afterAll(async () => database?.destroy());

const logger = quietLogger();

describe('LogRetention', () => {
  it('sweeps in the worker holding the lease only; another takes over once it stops', async () => {
    const app = await stores.apps.create({ name: 'retained', webhookSecret: 'x'.repeat(40) });
    const env = await stores.environments.get(app.id, 'production');
    const old = new Date(Date.now() - 10 * 86_400_000);
    const line = (text: string) => ({
      environmentId: env.id,
      at: old,
      source: 'replica',
      processType: 'web',
      replica: 'r',
      releaseId: null,
      stream: 'stdout' as const,
      line: text,
    });
    const retention = (holder: string) =>
      new LogRetention({ logs: stores.logs, leases: stores.leases, maxAgeDays: 3, maxMb: 100, logger, holder });
    const first = retention('first');
    const second = retention('second');
    await stores.logs.append([line('a'), line('b')]);
    expect(await first.sweep()).toEqual({ byAge: 2, bySize: 0 });
    await stores.logs.append([line('c')]);
    expect(await second.sweep()).toEqual({ byAge: 0, bySize: 0 });
    expect(await stores.logs.usage(env.id)).toMatchObject({ lines: 1 });
    await first.stop();
    expect(await second.sweep()).toEqual({ byAge: 1, bySize: 0 });
    await second.stop();
  });
});

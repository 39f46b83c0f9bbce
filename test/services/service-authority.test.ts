import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, SEALED_COLUMNS } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceAuthority } from '../../apps/worker/src/services/service-authority.ts';
import { createAuthority } from '../../apps/worker/src/services/service-tls.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The installation's CA in real Postgres: made once however many workers need
 * it at the same moment, its key sealed, and re-sealed when PIER_SECRET_KEY
 * is rotated like every other secret (its row is keyed by name, not by id).
 */

let database: TestDatabase;
const keyA = randomBytes(32);
const keyB = randomBytes(32);

beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await database?.destroy();
});

describe('the services CA', () => {
  it('two workers needing it at once both end up with the one kept first; its key is sealed', async () => {
    const stores = createStores(database.db, new SecretBox(keyA));
    const [a, b] = await Promise.all([
      new ServiceAuthority(stores.services).authority(),
      new ServiceAuthority(stores.services).authority(),
    ]);
    expect(a).toEqual(b);
    const rows = await database.sql<{ key_ciphertext: string }[]>`select key_ciphertext from certificate_authorities`;
    expect(rows).toHaveLength(1);
    expect(rows[0]?.key_ciphertext).not.toContain('PRIVATE KEY');
    // Keeping another one changes nothing: the first stays.
    expect(await stores.services.keepAuthority(await createAuthority('late'))).toEqual(a);
    expect(await new ServiceAuthority(stores.services).id()).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is re-sealed under a rotated key, and then opens with the new key alone', async () => {
    const before = await createStores(database.db, new SecretBox(keyA)).services.authority();
    const rotated = createStores(database.db, new SecretBox(keyB, [keyA]));
    const column = SEALED_COLUMNS.find((c) => c.label === 'certificate_authorities.key');
    expect(column).toBeDefined();
    const batch = await rotated.sealedValues.resealBatch(column as NonNullable<typeof column>, null, 10);
    expect(batch).toMatchObject({ seen: 1, resealed: 1, unreadable: 0, lastId: 'services' });
    expect(await rotated.sealedValues.resealBatch(column as NonNullable<typeof column>, null, 10)).toMatchObject({ seen: 0 });
    expect(await createStores(database.db, new SecretBox(keyB)).services.authority()).toEqual(before);
    await expect(createStores(database.db, new SecretBox(keyA)).services.authority()).rejects.toThrow();
    const counts = await rotated.sealedValues.counts();
    expect(counts.find((c) => c.label === 'certificate_authorities.key')?.byKey).toEqual({
      [new SecretBox(keyB).currentKeyId]: 1,
    });
  });
});

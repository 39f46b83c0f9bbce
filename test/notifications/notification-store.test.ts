import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, NotificationQueue, NotificationStore, SEALED_COLUMNS, SealedValueStore, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The notification stores on a real Postgres: fan-out by several workers at
 * once makes each delivery once, host channels hear the apps they subscribe
 * to (or every app), and channel settings re-seal under a rotated key.
 */

let database: TestDatabase;
let stores: Stores;
const keyA = randomBytes(32);
const box = new SecretBox(keyA);
const ids: Record<string, string> = {};

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, box);
  for (const name of ['shop', 'blog']) {
    const [row] = await database.sql<{ id: string }[]>`insert into apps (name) values (${name}) returning id`;
    ids[name] = row?.id ?? '';
  }
  const slack = (url: string) => ({ kind: 'slack' as const, url });
  await stores.notifications.create({
    appId: ids.shop as string,
    name: 'shop-chat',
    settings: slack('https://hooks.example.com/shop'),
    target: 'https://hooks.example.com:443',
    subscriptions: [{ appId: ids.shop as string, kinds: [] }],
  });
  await stores.notifications.create({
    appId: null,
    name: 'ops',
    settings: slack('https://hooks.example.com/ops'),
    target: 'https://hooks.example.com:443',
    subscriptions: [{ appId: null, kinds: ['host.disk', 'deploy.failed'] }],
    allApps: true,
  });
  await stores.notifications.create({
    appId: null,
    name: 'blog-only',
    settings: slack('https://hooks.example.com/blog'),
    target: 'https://hooks.example.com:443',
    subscriptions: [
      { appId: null, kinds: [] },
      { appId: ids.blog as string, kinds: [] },
    ],
  });
}, 60_000);
afterAll(async () => database?.destroy());

async function deliveries() {
  return database.sql<{ channel: string; kind: string; n: number }[]>`
    select c.name as channel, e.kind, count(*)::int as n from notification_deliveries d
    join notification_channels c on c.id = d.channel_id join events e on e.id = d.event_id
    group by c.name, e.kind order by c.name, e.kind`;
}

describe('notification stores', () => {
  it('fans each event out once per channel that hears it, with several workers at once', async () => {
    await stores.events.record({ kind: 'deploy.failed', message: 'shop failed', appId: ids.shop, envName: 'production' });
    await stores.events.record({ kind: 'crash.loop', message: 'blog loops', appId: ids.blog, envName: 'production' });
    await stores.events.record({ kind: 'host.disk', message: 'disk full' });
    const queues = Array.from({ length: 4 }, () => new NotificationQueue(database.db, box));
    // Each worker tries until no event is left; the advisory lock and skip locked keep them apart.
    await Promise.all(
      queues.map(async (queue) => {
        for (let i = 0; i < 20; i++) {
          await queue.fanOut(1, 60_000);
          const [left] = await database.sql<{ n: number }[]>`select count(*)::int as n from events where notified_at is null`;
          if (left?.n === 0) return;
        }
      }),
    );
    expect(await deliveries()).toEqual([
      { channel: 'blog-only', kind: 'crash.loop', n: 1 },
      { channel: 'blog-only', kind: 'host.disk', n: 1 },
      { channel: 'ops', kind: 'deploy.failed', n: 1 },
      { channel: 'ops', kind: 'host.disk', n: 1 },
      { channel: 'shop-chat', kind: 'deploy.failed', n: 1 },
    ]);
    const views = await stores.notifications.list(null);
    expect(views.map((v) => [v.name, v.apps, v.events])).toEqual([
      ['blog-only', ['blog'], []],
      ['ops', ['*'], ['deploy.failed', 'host.disk']],
    ]);
  });

  it('sums up an ended window before the next one opens, so the summary comes first', async () => {
    const queue = stores.notificationQueue;
    const record = (message: string) => stores.events.record({ kind: 'crash.oom', message, appId: ids.shop, envName: 'staging' });
    for (const n of [1, 2, 3]) await record(`kill ${n}`);
    expect(await queue.fanOut(100, 60_000)).toBe(3);
    // The window (a minute) ended: move what was recorded back in time rather than wait.
    await database.sql`update notification_deliveries set created_at = created_at - interval '2 minutes'`;
    await database.sql`update events set created_at = created_at - interval '2 minutes'`;
    await record('kill 4');
    expect(await queue.fanOut(100, 60_000)).toBe(1);
    const rows = await database.sql<{ state: string; kind: string; count: number | null }[]>`
      select d.state, d.payload->>'kind' as kind, (d.payload->>'count')::int as count
      from notification_deliveries d join notification_channels c on c.id = d.channel_id
      where c.name = 'shop-chat' and d.throttle_key like '%:staging:crash.oom' order by d.id`;
    expect(rows).toEqual([
      { state: 'pending', kind: 'crash.oom', count: null },
      { state: 'suppressed', kind: 'crash.oom', count: null },
      { state: 'suppressed', kind: 'crash.oom', count: null },
      { state: 'pending', kind: 'summary', count: 2 },
      { state: 'pending', kind: 'crash.oom', count: null },
    ]);
    // Nothing is summed up twice.
    expect(await queue.summarise(60_000)).toBe(0);
  });

  it('deletes ended deliveries past their age, never pending ones', async () => {
    await database.sql`update notification_deliveries set created_at = created_at - interval '20 days'`;
    await database.sql`update notification_deliveries set state = 'sent' where id = (select min(id) from notification_deliveries)`;
    const before = await database.sql<{ state: string; n: number }[]>`
      select state, count(*)::int as n from notification_deliveries group by state order by state`;
    expect(before.map((r) => r.state)).toEqual(['pending', 'sent', 'suppressed']);
    const ended = before.filter((r) => r.state !== 'pending').reduce((sum, r) => sum + r.n, 0);
    expect(await stores.notificationQueue.prune(14 * 86_400_000)).toBe(ended);
    const after = await database.sql<{ state: string }[]>`select distinct state from notification_deliveries`;
    expect(after.map((r) => r.state)).toEqual(['pending']);
  });

  it('re-seals channel settings under a new key, and they open with it alone', async () => {
    const keyB = randomBytes(32);
    const column = SEALED_COLUMNS.find((c) => c.label === 'notification_channels.config');
    expect(column).toBeDefined();
    const resealed = await new SealedValueStore(database.db, new SecretBox(keyB, [keyA])).resealBatch(
      column as (typeof SEALED_COLUMNS)[number],
      null,
      100,
    );
    expect(resealed).toMatchObject({ seen: 3, resealed: 3, unreadable: 0 });
    const onlyB = new NotificationStore(database.db, new SecretBox(keyB));
    const rows = await database.sql<{ id: string; name: string; kind: string; config_ciphertext: string; key_id: string }[]>`
      select id, name, kind, config_ciphertext, key_id from notification_channels order by name`;
    expect(
      rows.map(
        (r) =>
          onlyB.open({ id: r.id, name: r.name, kind: r.kind, configCiphertext: r.config_ciphertext, keyId: r.key_id }).settings,
      ),
    ).toEqual([
      { kind: 'slack', url: 'https://hooks.example.com/blog' },
      { kind: 'slack', url: 'https://hooks.example.com/ops' },
      { kind: 'slack', url: 'https://hooks.example.com/shop' },
    ]);
  });
});

describe('claiming deliveries', () => {
  it('takes one due delivery per channel, none of a channel being sent, and ends those of a channel it cannot open', async () => {
    const queue = new NotificationQueue(database.db, box);
    await database.sql`update notification_deliveries set state = 'sent', locked_until = null where state = 'pending'`;
    const channel = async (name: string) =>
      (
        await stores.notifications.create({
          appId: null,
          name,
          settings: { kind: 'slack', url: `https://hooks.example.com/${name}` },
          target: 'https://hooks.example.com:443',
          subscriptions: [{ appId: null, kinds: ['host.disk'] }],
        })
      ).id;
    const [flood, quiet, broken] = [await channel('flood'), await channel('quiet'), await channel('broken')];
    const pending = (channelId: string, n: number) => database.sql`
      insert into notification_deliveries (channel_id, event_id, throttle_key, state, payload)
      select ${channelId}::uuid, null, 'k', 'pending', ${JSON.stringify({ kind: 'test', severity: 'info', app: null, env: null, message: 'm', at: '' })}::jsonb
      from generate_series(1, ${n}::int)`;
    await pending(flood, 20);
    await pending(quiet, 1);
    await pending(broken, 2);
    await database.sql`update notification_channels set config_ciphertext = 'not sealed' where id = ${broken}`;

    // 20 of one channel ahead in the queue take one place: the other channel is claimed beside it.
    const first = await queue.claim(4, 60_000);
    expect(first.map((c) => c.channel.name).sort()).toEqual(['flood', 'quiet']);
    // While that delivery is being sent, no other of its channel is claimed (in order, one at a time).
    expect(await queue.claim(4, 60_000)).toEqual([]);
    const dead = await database.sql<{ last_error: string }[]>`
      select last_error from notification_deliveries where channel_id = ${broken} and state = 'dead'`;
    // One per claim: both by now, the other channels' claims unharmed.
    expect(dead.map((d) => d.last_error)).toEqual([
      "the channel's settings cannot be opened",
      "the channel's settings cannot be opened",
    ]);

    const held = first.find((c) => c.channel.name === 'flood');
    expect(await queue.sent(held?.delivery.id ?? 0, held?.delivery.attempts ?? 0)).toBe(true);
    const next = await queue.claim(4, 60_000);
    expect(next.map((c) => [c.channel.name, c.delivery.id > (held?.delivery.id ?? 0)])).toEqual([['flood', true]]);
  });
});

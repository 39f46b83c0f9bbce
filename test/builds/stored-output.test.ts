import { randomUUID } from 'node:crypto';
import { createStores, type DeploymentStore, type WebhookDeliveryStore } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentLogWriter, truncationNotice } from '../../apps/worker/src/deployment-log-writer.ts';
import { RecordRetention } from '../../apps/worker/src/record-retention.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createApp, fakeSha, uniqueAppName } from '../webhooks/webhook-fixtures.ts';

/**
 * What the worker keeps of build output and webhook deliveries, against the
 * real Postgres: the output budget of one deployment, and the retention pass
 * that deletes old output and delivery records in batches.
 */

let api: TestApi;
let appName: string;
let deployments: DeploymentStore;
let deliveries: WebhookDeliveryStore;
const silent = createLogger({ name: 'worker', level: 'silent', format: 'json' });

beforeAll(async () => {
  api = await createTestApi();
  appName = (
    await createApp(api, uniqueAppName('stored'), { fullName: 'acme-stored/site', cloneUrl: 'file:///srv/git/stored.git' })
  ).name;
  ({ deployments, deliveries } = createStores(api.database.db, api.box));
});
afterAll(async () => api?.close());

async function queued(): Promise<string> {
  const res = await api.request({
    method: 'POST',
    url: `/apps/${appName}/environments/staging/deployments`,
    payload: { commit: fakeSha(randomUUID()) },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().id;
}

async function storedLines(id: string): Promise<string[]> {
  return (await deployments.logs(id)).map((l) => l.line);
}

describe('DeploymentLogWriter: the output budget', () => {
  it('stores lines while they fit, then one truncation line, then nothing; the tail still sees everything', async () => {
    const id = await queued();
    const writer = new DeploymentLogWriter(deployments, id, { mask: (text) => text, maxBytes: 1000, flushIntervalMs: 60_000 });
    const lines = Array.from({ length: 15 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(98)}`);
    for (const line of lines) writer.write(line);
    writer.write('built pier/app:abc', 'system');
    await writer.close();
    const stored = await storedLines(id);
    expect(stored).toEqual([...lines.slice(0, 10), truncationNotice(1000)]);
    expect(truncationNotice(1000)).toBe('output truncated (more than 1000 bytes of output; later lines are not stored)');
    expect(truncationNotice(5 * 1024 * 1024)).toContain('more than 5 MiB of output');
    expect(writer.tail().at(-1)).toBe('built pier/app:abc');
    expect(writer.tail()).toContain(lines[14]);
  });

  it('counts bytes, not characters, and masks before counting', async () => {
    const id = await queued();
    const writer = new DeploymentLogWriter(deployments, id, { mask: (text) => text.replaceAll('secret', '***'), maxBytes: 12 });
    writer.write('é'.repeat(5)); // 10 bytes
    writer.write('secret'); // 3 bytes once masked: over
    await writer.close();
    expect(await storedLines(id)).toEqual(['é'.repeat(5), truncationNotice(12)]);
  });
});

describe('RecordRetention', () => {
  const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60_000);

  async function deploymentWithLines(state: string, finishedDaysAgo: number | null, count: number): Promise<string> {
    const id = await queued();
    await deployments.appendLogs(
      id,
      Array.from({ length: count }, (_, i) => ({ stream: 'stdout' as const, line: `line ${i}` })),
    );
    const finishedAt = finishedDaysAgo === null ? null : daysAgo(finishedDaysAgo).toISOString();
    await api.database
      .sql`update deployments set state = ${state}::deployment_state, finished_at = ${finishedAt}::timestamptz where id = ${id}`;
    return id;
  }

  async function delivery(receivedDaysAgo: number): Promise<string> {
    const deliveryId = randomUUID();
    await api.database.sql`
      insert into webhook_deliveries (delivery_id, event, status_code, response, received_at)
      values (${deliveryId}, 'push', 202, '{}'::jsonb, ${daysAgo(receivedDaysAgo).toISOString()}::timestamptz)`;
    return deliveryId;
  }

  it('deletes the output of deployments that ended before the retention, in bounded batches, and old deliveries', async () => {
    const failedLongAgo = await deploymentWithLines('failed', 40, 7);
    const supersededLongAgo = await deploymentWithLines('superseded', 31, 5);
    const cancelledLongAgo = await deploymentWithLines('cancelled', 45, 1);
    const liveLongAgo = await deploymentWithLines('live', 40, 4);
    const failedRecently = await deploymentWithLines('failed', 29, 3);
    const stillBuilding = await deploymentWithLines('building', null, 2);
    const oldDeliveries = await Promise.all([15, 20, 100].map(delivery));
    const recentDeliveries = await Promise.all([1, 13].map(delivery));

    const retention = new RecordRetention({
      deployments,
      deliveries,
      logger: silent,
      logRetentionDays: 30,
      deliveryRetentionDays: 14,
      batchSize: 3,
      maxBatches: 2,
    });
    // 13 old lines, 6 per pass at most: three passes.
    expect(await retention.sweep()).toEqual({ logLines: 6, deliveries: 3 });
    expect(await retention.sweep()).toEqual({ logLines: 6, deliveries: 0 });
    expect(await retention.sweep()).toEqual({ logLines: 1, deliveries: 0 });
    expect(await retention.sweep()).toEqual({ logLines: 0, deliveries: 0 });

    for (const id of [failedLongAgo, supersededLongAgo, cancelledLongAgo]) {
      expect(await storedLines(id)).toEqual([]);
      expect((await deployments.get(id)).id).toBe(id); // the deployment stays, with its events
      expect((await deployments.events(id)).length).toBeGreaterThan(0);
    }
    expect(await storedLines(liveLongAgo)).toHaveLength(4);
    expect(await storedLines(failedRecently)).toHaveLength(3);
    expect(await storedLines(stillBuilding)).toHaveLength(2);
    for (const id of oldDeliveries) expect(await deliveries.find(id)).toBeNull();
    for (const id of recentDeliveries) expect(await deliveries.find(id)).not.toBeNull();
  });

  it('runs a pass on start and stops cleanly', async () => {
    const id = await deploymentWithLines('failed', 60, 2);
    const retention = new RecordRetention({
      deployments,
      deliveries,
      logger: silent,
      logRetentionDays: 30,
      deliveryRetentionDays: 14,
      intervalMs: 60_000,
    });
    retention.start();
    await retention.stop();
    expect(await storedLines(id)).toEqual([]);
  });
});

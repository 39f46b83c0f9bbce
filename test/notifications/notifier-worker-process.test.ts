import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crashEvents } from '@pier/core';
import { createStores, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTlsFixture, type TlsFixture } from '../drains/tls-fixture.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { exitWithin, type RunningProcess, signalGroup, startScript } from '../support/processes.ts';
import { workerProcessEnv } from '../support/worker-process.ts';
import { freePort, type PostReceiver, postReceiver, type SmtpReceiver, smtpReceiver } from './receivers.ts';

/**
 * The real worker process (apps/worker/src/main.ts) sends notifications as
 * configured: PIER_NOTIFY_THROTTLE_SECONDS from its environment, the test's
 * certificate authority trusted the way an operator would (NODE_EXTRA_CA_CERTS)
 * for the HTTPS webhook and the SMTP server's STARTTLS. A replica crashing
 * again and again, recorded as the reconciler records it (core's crashEvents:
 * an out-of-memory kill per crash until the loop is reported, a crash loop at the third), reaches each
 * channel as one message per kind and one summary of the rest.
 */
const run = randomBytes(3).toString('hex');
const secretKey = randomBytes(32);
const workDirectory = mkdtempSync(join(tmpdir(), 'pier-notify-work-'));
const SECRET = 'whsec-worker-process-0123456789';
const THROTTLE_SECONDS = 3;
let api: TestApi;
let stores: Stores;
let tls: TlsFixture;
let webhook: PostReceiver;
let slack: PostReceiver;
let smtp: SmtpReceiver;
let worker: RunningProcess | null = null;
let place: { appId: string; appName: string; environmentId: string; envName: string; processType: string };

beforeAll(async () => {
  api = await createTestApi({ secretKey });
  stores = createStores(api.database.db, api.box);
  tls = await makeTlsFixture();
  webhook = postReceiver({ port: await freePort(), tls, secret: SECRET });
  slack = postReceiver({ port: await freePort() });
  smtp = await smtpReceiver(tls, 'mailer', 'mailer-password-1234');
  await Promise.all([webhook.start(), slack.start()]);
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'shop' } })).statusCode).toBe(201);
  const [env] = await api.database.sql<{ id: string; app_id: string }[]>`
    select e.id, e.app_id from environments e join apps a on a.id = e.app_id where a.name = 'shop' and e.name = 'production'`;
  place = {
    appId: env?.app_id ?? '',
    appName: 'shop',
    environmentId: env?.id ?? '',
    envName: 'production',
    processType: 'worker',
  };
  for (const payload of [
    { name: 'hook', kind: 'webhook', url: `https://localhost:${webhook.port}/pier`, secret: SECRET },
    { name: 'chat', kind: 'slack', url: `http://127.0.0.1:${slack.port}/services/T000/B000/x` },
    {
      name: 'mail',
      kind: 'email',
      host: 'localhost',
      port: smtp.port,
      tls: 'starttls',
      user: 'mailer',
      password: 'mailer-password-1234',
      from: 'pier@example.com',
      to: ['ops@example.com'],
    },
  ]) {
    const made = await api.request({ method: 'POST', url: '/apps/shop/notifications', payload });
    expect(made.statusCode, made.body).toBe(201);
  }
}, 60_000);

afterAll(async () => {
  if (worker) {
    signalGroup(worker, 'SIGTERM');
    await exitWithin(worker, 30_000).catch(() => {});
  }
  await Promise.all([webhook?.stop(), slack?.stop(), smtp?.close()]);
  await tls?.remove();
  await api?.close();
  rmSync(workDirectory, { recursive: true, force: true });
});

async function until(probe: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (worker && worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${worker?.output() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the worker process', () => {
  it('sends a crash-looping replica to every channel as one message per kind and a summary, not one per restart', async () => {
    worker = startScript(
      'apps/worker/src/main.ts',
      workerProcessEnv(
        { databaseUrl: api.database.url, secretKey, workDirectory },
        {
          PIER_QUEUE_PREFIX: `pier-notify-${run}`,
          PIER_INSTANCE: `notify-${run}`,
          PIER_LOG_LEVEL: 'info',
          PIER_NOTIFY_THROTTLE_SECONDS: String(THROTTLE_SECONDS),
          NODE_EXTRA_CA_CERTS: tls.caFile,
        },
      ),
    );
    const crashes = 5;
    const start = Date.now();
    for (let streak = 1; streak <= crashes; streak++) {
      const facts = {
        restartStreak: streak,
        crashedAt: new Date(start + streak * 100),
        crashLooping: streak >= 3,
        reason: 'out of memory at 64 MiB: raise memoryMb',
        oomKilled: true,
        exitCode: 137,
        memoryMb: 64,
      };
      for (const event of crashEvents(place, facts, 3)) await stores.events.record(event);
    }
    const counts = () => [webhook.received.length, slack.received.length, smtp.mails.length];
    await until(() => counts().every((n) => n >= 3), 45_000, 'two messages and a summary on each channel');
    // A pass later nothing more came: the kills before the loop was reported are in the summary, the later ones not recorded.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(counts()).toEqual([3, 3, 3]);

    const kinds = webhook.received.map((r) => r.body.kind);
    expect(kinds).toEqual(['crash.oom', 'crash.loop', 'summary']);
    expect(webhook.received.every((r) => r.signatureValid)).toBe(true);
    expect(webhook.received[1]?.body.message).toBe(
      'shop production: worker is crash-looping (3 crashes in a row; last: out of memory at 64 MiB: raise memoryMb).',
    );
    expect(webhook.received[2]?.body).toMatchObject({
      app: 'shop',
      env: 'production',
      data: { eventKind: 'crash.oom', count: 2 },
    });
    expect(slack.received.map((r) => r.body.text as string).at(-1)).toContain('crash.oom happened 2 more times');
    expect(smtp.mails.map((m) => m.secure)).toEqual([true, true, true]);
    // Long subjects are folded over lines (RFC 5322): unfolded before they are read.
    const subjects = smtp.mails.map((m) => /Subject: (.*)/.exec(m.raw.replace(/\r?\n[ \t]+/g, ' '))?.[1]);
    expect(subjects).toEqual([
      expect.stringMatching(/^\[Pier\] shop production: a worker replica ran out of memory/),
      expect.stringMatching(/^\[Pier\] shop production: worker is crash-looping/),
      expect.stringMatching(/^\[Pier\] shop\/production: crash\.oom happened 2 more times/),
    ]);
  }, 80_000);
});

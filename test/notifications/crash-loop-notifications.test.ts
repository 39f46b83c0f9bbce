import { createStores, EVENTS_CHANNEL, listenTo } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier } from '../../apps/worker/src/notifications/notifier.ts';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { makeTlsFixture, type TlsFixture } from '../drains/tls-fixture.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';
import { freePort, type PostReceiver, postReceiver, type SmtpReceiver, smtpReceiver, waitFor } from './receivers.ts';

/**
 * A really crash-looping app on real Docker: the worker's reconciler restarts
 * a worker process the kernel kills for its memory again and again, and
 * records what happens (an out-of-memory kill per crash, a crash loop once per
 * streak). The notifier turns that into one message per kind and a summary
 * of the kills held back, on each channel: not one message per restart.
 */

const WINDOW_MS = 8000;
const SECRET = 'whsec-crash-loop-0123456789';
let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let tls: TlsFixture;
let notifier: Notifier;
let webhook: PostReceiver;
let slack: PostReceiver;
let smtp: SmtpReceiver;
const app = `pcrash-${Date.now().toString(36)}`;

/** A small web process (healthy), and a worker that allocates 150 MiB at a 64 MiB limit: killed at each start. */
const FILES = {
  Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n',
  Procfile: 'web: node server.js\nworker: node hog.js\n',
  'pier.json': JSON.stringify({ resources: { memoryMb: 64 } }),
  'server.js': `const server = require('http').createServer((req, res) => res.end('ok'));
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  'hog.js': `const chunks = [];
for (let i = 0; i < 15; i++) chunks.push(Buffer.alloc(10 * 1024 * 1024, 1));
setInterval(() => {}, 60_000);
`,
};

beforeAll(async () => {
  tls = await makeTlsFixture();
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, {
    reconcileIntervalMs: 500,
    reconcilePlan: { backoffBaseMs: 300, backoffMaxMs: 1000 },
  });
  repo = new TestGitRepository();
  const secret = await createFastApp(api, {
    name: app,
    fullName: `acme/${app}`,
    cloneUrl: repo.url,
    replicas: 1,
    drainTimeoutMs: 500,
  });
  webhook = postReceiver({ port: await freePort(), tls, secret: SECRET });
  slack = postReceiver({ port: await freePort() });
  smtp = await smtpReceiver(tls, 'mailer', 'mailer-password-1234');
  await Promise.all([webhook.start(), slack.start()]);
  for (const payload of [
    {
      name: 'hook',
      kind: 'webhook',
      url: `https://localhost:${webhook.port}/pier`,
      secret: SECRET,
      events: ['crash.oom', 'crash.loop'],
    },
    { name: 'chat', kind: 'slack', url: `http://127.0.0.1:${slack.port}/services/x`, events: ['crash.oom', 'crash.loop'] },
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
      events: ['crash.oom', 'crash.loop'],
    },
  ]) {
    const made = await api.request({ method: 'POST', url: `/apps/${app}/notifications`, payload });
    expect(made.statusCode, made.body).toBe(201);
  }
  notifier = new Notifier({
    queue: createStores(api.database.db, api.box).notificationQueue,
    logger: createLogger({ name: 'notifier-test', level: 'warn', format: 'json' }),
    wakeOn: listenTo(api.database.sql, EVENTS_CHANNEL),
    pollIntervalMs: 250,
    throttleWindowMs: WINDOW_MS,
    retry: { baseMs: 200, capMs: 1000, giveUpMs: 60_000 },
    reservedPorts: [4000, 5432, 6379],
    extraCa: [tls.ca],
  });
  notifier.start();
  const sha = repo.commit(FILES);
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(`acme/${app}`, 'refs/heads/main', sha), secret });
  expect(res.statusCode, res.body).toBe(202);
  const deployed = await waitForDeployment(api, res.json().deployments[0].id, ['live', 'failed'], 120_000);
  expect(deployed.state, deployed.reason).toBe('live');
}, 150_000);

afterAll(async () => {
  await notifier?.stop();
  await worker?.stop();
  if (worker) await removeAppFromDocker(worker.docker, app);
  await Promise.all([webhook?.stop(), slack?.stop(), smtp?.close()]);
  await api?.close();
  repo?.remove();
  await tls?.remove();
}, 60_000);

describe('a crash-looping app', () => {
  it('sends one message per kind and a summary on each channel, not one per restart', async () => {
    const kindsAt = (receiver: PostReceiver) => receiver.received.map((r) => r.body.kind);
    await waitFor(
      'a crash loop and a summary on each channel',
      () =>
        [webhook, slack].every((r) => r.received.length >= 3) && smtp.mails.length >= 3 && kindsAt(webhook).includes('summary'),
      60_000,
    );
    const [counted] = await api.database.sql<{ kills: number }[]>`
      select count(*)::int as kills from events where kind = 'crash.oom'`;
    const kills = counted?.kills ?? 0;
    expect(kindsAt(webhook).slice(0, 3)).toEqual(['crash.oom', 'crash.loop', 'summary']);
    expect(webhook.received.every((r) => r.signatureValid)).toBe(true);
    const summary = webhook.received[2]?.body as { data: { eventKind: string; count: number } };
    expect(summary.data.eventKind).toBe('crash.oom');
    expect(summary.data.count).toBeGreaterThanOrEqual(2);
    // Every kill is recorded, but the channels heard one message and a summary of the rest.
    expect(kills).toBeGreaterThanOrEqual(summary.data.count + 1);
    expect(kindsAt(webhook).filter((k) => k === 'crash.oom').length).toBeLessThan(kills);
    expect(kindsAt(webhook).filter((k) => k === 'crash.loop')).toHaveLength(1);
    expect((slack.received[2]?.body.text as string) ?? '').toContain('crash.oom happened');
    expect(smtp.mails.slice(0, 3).map((m) => m.raw.replace(/\r?\n[ \t]+/g, ' '))).toEqual([
      expect.stringMatching(/Subject: \[Pier\] pcrash-\S+ staging: .*ran out of memory/),
      expect.stringMatching(/Subject: \[Pier\] pcrash-\S+ staging: .*crash-looping/),
      expect.stringMatching(/Subject: \[Pier\] pcrash-[^/]+\/staging: crash\.oom happened \d+ more times/),
    ]);
  }, 90_000);
});

import { randomBytes } from 'node:crypto';
import {
  assertAdmin,
  assertEventKinds,
  type ChannelSettings,
  checkOutboundUrl,
  DEFAULT_PIER_SERVICE_PORTS,
  hostReach,
  NotFoundError,
  type Principal,
  type TestMessage,
  ValidationError,
} from '@pier/core';
import type { ChannelView, NotificationDeliveryRow, SubscriptionInput } from '@pier/db';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { appParams, name } from '../schemas.ts';

/** An address as SMTP takes it, with nothing that could start another header. */
const email = z
  .string()
  .max(254)
  .regex(/^[^\s@<>,;"]+@[^\s@<>,;"]+$/, 'must be an email address such as ops@example.com');

const events = z
  .array(z.string().max(64))
  .max(64)
  .optional()
  .describe('event kinds it hears (GET /events lists them as `kind`); absent or empty: every kind');

const webhookChannel = z.strictObject({
  name,
  kind: z.literal('webhook'),
  url: z.string().max(2048).describe('https://… (http:// only to loopback, for admin tokens); stored sealed'),
  secret: z
    .string()
    .min(16)
    .max(256)
    .optional()
    .describe('the HMAC-SHA256 key of X-Pier-Signature-256; generated (and shown once) when absent'),
  events,
});
const slackChannel = z.strictObject({
  name,
  kind: z.literal('slack'),
  url: z.string().max(2048).describe('the Slack-compatible incoming webhook URL; stored sealed'),
  events,
});
const emailChannel = z.strictObject({
  name,
  kind: z.literal('email'),
  host: z.string().min(1).max(253).describe('the SMTP server'),
  port: z.number().int().min(1).max(65_535),
  tls: z.enum(['starttls', 'tls', 'none']).describe('starttls (required), tls (from the first byte), none (loopback only)'),
  user: z.string().max(256).optional(),
  password: z.string().max(1024).optional().describe('stored sealed, never shown'),
  from: email,
  to: z.array(email).min(1).max(20),
  events,
});
const appChannelBody = z.discriminatedUnion('kind', [webhookChannel, slackChannel, emailChannel]);
const apps = z
  .array(z.union([z.literal('*'), name]))
  .max(100)
  .optional()
  .describe("apps whose events it hears besides the host's (['*']: every app, also later ones)");
const hostChannelBody = z.discriminatedUnion('kind', [
  webhookChannel.extend({ apps }),
  slackChannel.extend({ apps }),
  emailChannel.extend({ apps }),
]);
type ChannelBody = z.output<typeof appChannelBody>;

const channelView = z.object({
  name: z.string(),
  kind: z.enum(['webhook', 'slack', 'email']),
  target: z.string().describe('what may be shown of the settings: scheme://host:port, or the SMTP server and recipients'),
  enabled: z.boolean(),
  events: z.array(z.string()),
  apps: z.array(z.string()),
  createdAt: z.string(),
});
const createdView = channelView.extend({
  secret: z.string().optional().describe('the generated signing secret of a webhook channel: shown here only, once'),
});
const deliveryView = z.object({
  id: z.number(),
  kind: z.string(),
  state: z.enum(['pending', 'sent', 'suppressed', 'dead']),
  attempts: z.number(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  sentAt: z.string().nullable(),
});
const appChannelParams = appParams.extend({ name });
const hostChannelParams = z.strictObject({ name });
const deliveriesQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).optional() });

function presentChannel(view: ChannelView) {
  return { ...view, createdAt: view.createdAt.toISOString() };
}

function presentDelivery(row: NotificationDeliveryRow) {
  return {
    id: row.id,
    kind: (row.payload as { kind?: string }).kind ?? 'unknown',
    state: row.state as z.output<typeof deliveryView>['state'],
    attempts: row.attempts,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    nextAttemptAt: row.state === 'pending' ? row.nextAttemptAt.toISOString() : null,
    sentAt: row.sentAt?.toISOString() ?? null,
  };
}

/**
 * Checks a channel's settings as they will be sealed, and what may be shown
 * of them. URLs and SMTP hosts go through core's outbound check: https (http
 * and a plain SMTP session only to loopback), never link-local or metadata
 * targets, loopback and private networks only for admins and never Pier's own
 * ports. The secret is generated when a webhook has none.
 */
function channelSettings(
  body: ChannelBody,
  principal: Principal,
  reservedPorts: readonly number[],
): { settings: ChannelSettings; target: string; generatedSecret?: string } {
  const allowLoopback = principal.role === 'admin';
  if (body.kind === 'email') {
    const checked = checkOutboundUrl(`https://${hostPart(body.host)}:${body.port}`, {
      field: 'body.host',
      use: 'channel',
      allowLoopback,
      reservedPorts,
    });
    if (body.tls === 'none' && hostReach(body.host)?.kind !== 'loopback') {
      throw new ValidationError('body.tls: none (clear text) is allowed only to an SMTP server on loopback', 'body.tls');
    }
    const { name: _, events: __, ...rest } = body;
    const settings: ChannelSettings = { ...rest, allowLoopback, host: checked.host };
    return { settings, target: `smtp://${hostPart(checked.host)}:${body.port} to ${body.to.join(', ')}` };
  }
  const checked = checkOutboundUrl(body.url, { field: 'body.url', use: 'channel', allowLoopback, reservedPorts });
  if (body.kind === 'slack') return { settings: { kind: 'slack', url: checked.url.href, allowLoopback }, target: checked.target };
  const generatedSecret = body.secret === undefined ? randomBytes(32).toString('hex') : undefined;
  const secret = body.secret ?? (generatedSecret as string);
  return { settings: { kind: 'webhook', url: checked.url.href, secret, allowLoopback }, target: checked.target, generatedSecret };
}

/** An IPv6 literal in brackets, as a URL's host part. */
function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Notification channels: an app's (`/apps/:app/notifications`; its app
 * token may manage them) hear that app's events; the host's
 * (`/notifications`, admin only) hear host events and those of the apps they
 * name. Settings are sealed; answers show only the target, and a generated
 * webhook secret once, when the channel is made. The worker's notifier sends.
 */
export function notificationRoutes(deps: ApiDeps) {
  const { notifications } = deps;
  const reservedPorts = deps.reservedPorts ?? DEFAULT_PIER_SERVICE_PORTS;

  async function create(
    principal: Principal,
    appId: string | null,
    body: ChannelBody,
    subscriptions: SubscriptionInput[],
    allApps: boolean,
  ) {
    const { settings, target, generatedSecret } = channelSettings(body, principal, reservedPorts);
    const view = await notifications.create({ appId, name: body.name, settings, target, subscriptions, allApps });
    return { ...presentChannel(view), ...(generatedSecret ? { secret: generatedSecret } : {}) };
  }

  async function testMessage(appId: string | null, appName: string | null, channelName: string) {
    const channel = await notifications.get(appId, channelName);
    const message: TestMessage = {
      kind: 'test',
      severity: 'info',
      app: appName,
      env: null,
      message: `A test message to the notification channel ${channel.name}`,
      at: new Date().toISOString(),
    };
    const delivery = await notifications.queueTest(channel.id, message);
    return { deliveryId: delivery.id };
  }

  async function deliveries(appId: string | null, channelName: string, limit: number | undefined) {
    const channel = await notifications.get(appId, channelName);
    return { deliveries: (await notifications.deliveries(channel.id, limit ?? 50)).map(presentDelivery) };
  }

  return [
    route({
      method: 'POST',
      url: '/apps/:app/notifications',
      summary: "Add a notification channel to an app (webhook, Slack or email): it hears the app's events",
      tag: 'notifications',
      params: appParams,
      body: appChannelBody,
      status: 201,
      response: createdView,
      handler: async ({ params, body, principal }) => {
        const app = await deps.apps.get(principal, params.app);
        const kinds = assertEventKinds(body.events ?? [], 'body.events');
        return create(principal, app.id, body, [{ appId: app.id, kinds }], false);
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/notifications',
      summary: "An app's notification channels (never their secrets)",
      tag: 'notifications',
      params: appParams,
      response: z.object({ channels: z.array(channelView) }),
      handler: async ({ params, principal }) => {
        const app = await deps.apps.get(principal, params.app);
        return { channels: (await notifications.list(app.id)).map(presentChannel) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/apps/:app/notifications/:name',
      summary: 'Delete an app’s notification channel with its deliveries',
      tag: 'notifications',
      params: appChannelParams,
      status: 204,
      handler: async ({ params, principal }) => {
        const app = await deps.apps.get(principal, params.app);
        if (!(await notifications.delete(app.id, params.name))) {
          throw new NotFoundError(`notification channel ${params.name} not found`);
        }
      },
    }),
    route({
      method: 'POST',
      url: '/apps/:app/notifications/:name/test',
      summary: 'Queue a test message to an app’s notification channel',
      tag: 'notifications',
      params: appChannelParams,
      status: 202,
      response: z.object({ deliveryId: z.number() }),
      handler: async ({ params, principal }) => {
        const app = await deps.apps.get(principal, params.app);
        return testMessage(app.id, app.name, params.name);
      },
    }),
    route({
      method: 'GET',
      url: '/apps/:app/notifications/:name/deliveries',
      summary: 'Recent deliveries of an app’s notification channel: state, attempts and the last error',
      tag: 'notifications',
      params: appChannelParams,
      query: deliveriesQuery,
      response: z.object({ deliveries: z.array(deliveryView) }),
      handler: async ({ params, query, principal }) => {
        const app = await deps.apps.get(principal, params.app);
        return deliveries(app.id, params.name, query.limit);
      },
    }),
    route({
      method: 'POST',
      url: '/notifications',
      summary: "Add a host notification channel (admin): it hears host events and those of the apps named (['*']: all)",
      tag: 'notifications',
      body: hostChannelBody,
      status: 201,
      response: createdView,
      handler: async ({ body, principal }) => {
        assertAdmin(principal, 'manage host notification channels');
        const kinds = assertEventKinds(body.events ?? [], 'body.events');
        const { apps: names = [], ...channel } = body;
        const allApps = names.includes('*');
        const subscriptions: SubscriptionInput[] = [{ appId: null, kinds }];
        if (!allApps) {
          for (const appName of new Set(names)) {
            const app = await deps.apps.get(principal, appName).catch(() => {
              throw new ValidationError(`body.apps: no app named ${appName}`, 'body.apps');
            });
            subscriptions.push({ appId: app.id, kinds });
          }
        }
        return create(principal, null, channel, subscriptions, allApps);
      },
    }),
    route({
      method: 'GET',
      url: '/notifications',
      summary: 'The host’s notification channels (admin; never their secrets)',
      tag: 'notifications',
      response: z.object({ channels: z.array(channelView) }),
      handler: async ({ principal }) => {
        assertAdmin(principal, 'read host notification channels');
        return { channels: (await notifications.list(null)).map(presentChannel) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/notifications/:name',
      summary: 'Delete a host notification channel with its deliveries (admin)',
      tag: 'notifications',
      params: hostChannelParams,
      status: 204,
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'manage host notification channels');
        if (!(await notifications.delete(null, params.name))) {
          throw new NotFoundError(`notification channel ${params.name} not found`);
        }
      },
    }),
    route({
      method: 'POST',
      url: '/notifications/:name/test',
      summary: 'Queue a test message to a host notification channel (admin)',
      tag: 'notifications',
      params: hostChannelParams,
      status: 202,
      response: z.object({ deliveryId: z.number() }),
      handler: async ({ params, principal }) => {
        assertAdmin(principal, 'test host notification channels');
        return testMessage(null, null, params.name);
      },
    }),
    route({
      method: 'GET',
      url: '/notifications/:name/deliveries',
      summary: 'Recent deliveries of a host notification channel (admin)',
      tag: 'notifications',
      params: hostChannelParams,
      query: deliveriesQuery,
      response: z.object({ deliveries: z.array(deliveryView) }),
      handler: async ({ params, query, principal }) => {
        assertAdmin(principal, 'read host notification channels');
        return deliveries(null, params.name, query.limit);
      },
    }),
  ];
}

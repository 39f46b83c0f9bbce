import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { refusalDedupeKey, UnauthorizedError, ValidationError } from '@pier/core';
import { type AppRow, type DeliveryTransaction, type DeploymentRow, type NewDeployment, recordRefEvent } from '@pier/db';
import {
  type CheckDecision,
  DELIVERY_HEADER,
  type DeliveryOrder,
  type DeployDecision,
  EVENT_HEADER,
  type RouteDecision,
  repositoryFullName,
  routeEvent,
  SIGNATURE_HEADER,
  verifySignature,
} from '@pier/github';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { applyChecks, type CheckWork, checksTimeouts, type SettledView } from '../checks-gate.ts';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { SourceRateLimit } from '../http/source-rate-limit.ts';
import { applyPreviews, type PreviewChanges, type PreviewName, type PreviewWork, previewRefusal } from '../previews.ts';
import { LargeReads, readWebhookBody } from './webhook-body.ts';

/** GitHub sends up to 25 MB; a larger body is refused before it is read in full. */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;

/** What anyone may make the api read before a signature is checked; GitHub's deliveries are nearly all far smaller. */
export const WEBHOOK_UNSIGNED_BODY_LIMIT = 1024 * 1024;

/** Deliveries per minute from one source address, by default (GitHub sends from a few addresses). */
export const WEBHOOK_RATE_LIMIT_PER_MINUTE = 300;

/** Bodies over the unsigned limit read at once: GitHub rarely sends one, and each may hold 25 MB until it verifies. */
export const WEBHOOK_LARGE_READS = 4;

const HOOK_TARGET_HEADER = 'x-github-hook-installation-target-id';

const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

/** For the OpenAPI document; the route itself needs the raw body and is registered below. */
export const webhookRouteDoc = route({
  method: 'POST',
  url: '/webhooks/github',
  summary: 'GitHub webhook intake (HMAC-SHA256 signed with the app’s webhook secret)',
  tag: 'webhooks',
  auth: false,
  status: 202,
  response: z.object({
    deployments: z.array(
      z.object({
        id: z.string(),
        app: z.string(),
        environment: z.string(),
        state: z.string().optional().describe('waiting_for_checks or skipped when it did not start at once'),
      }),
    ),
    check: z
      .object({ commit: z.string(), kind: z.string(), name: z.string(), conclusion: z.string() })
      .optional()
      .describe('the check result a check_suite, check_run, status or workflow_run delivery reported'),
    settled: z
      .array(
        z.object({
          id: z.string(),
          app: z.string(),
          environment: z.string(),
          state: z.enum(['queued', 'skipped']),
          reason: z.string().optional(),
        }),
      )
      .optional()
      .describe('deployments that waited for the checks of that commit: queued (they build now) or skipped'),
    closedPreviews: z
      .array(z.object({ app: z.string(), environment: z.string() }))
      .optional()
      .describe('preview environments removed because their pull request closed'),
    ignored: z.string().optional().describe('why nothing was deployed'),
  }),
  handler: async () => undefined,
});

/**
 * POST /webhooks/github. The signature is checked against the secret of every
 * app configured for the payload's repository before anything is written; a
 * delivery id seen before is answered as it was the first time.
 */
export function registerWebhookRoute(app: FastifyInstance, deps: ApiDeps): void {
  const rateLimit = new SourceRateLimit({ perMinute: deps.webhookRateLimitPerMinute ?? WEBHOOK_RATE_LIMIT_PER_MINUTE });
  const limits = { unsigned: WEBHOOK_UNSIGNED_BODY_LIMIT, signed: WEBHOOK_BODY_LIMIT };
  const largeReads = new LargeReads(WEBHOOK_LARGE_READS);
  app.register(async (scope) => {
    // Refused before a byte of the body is read: too many requests from the source, or no usable headers.
    scope.addHook('onRequest', async (request) => {
      rateLimit.take(request.ip);
      deliveryHeaders(request.headers);
    });
    // The raw bytes are what is signed: this scope replaces whatever JSON parser the app has.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', (request: FastifyRequest, body: IncomingMessage) =>
      readWebhookBody({
        body,
        signature: String(request.headers[SIGNATURE_HEADER]),
        limits,
        largeReads,
        targetSecrets: () => hookTargetSecrets(deps, request.headers[HOOK_TARGET_HEADER]),
      }),
    );
    scope.post('/webhooks/github', { config: { auth: false } }, async (request, reply) => {
      const { event, deliveryId, signature } = deliveryHeaders(request.headers);
      const raw = request.body as Buffer;
      const payload = parseJson(raw);
      const apps = await signedApps(deps, event, payload, raw, signature);
      await rememberHookTarget(deps, apps, request.headers[HOOK_TARGET_HEADER], payload);

      const previous = await deps.deliveries.find(deliveryId);
      if (previous) return reply.code(previous.statusCode).send(previous.response);

      const answer = await answerDelivery(deps, { event, deliveryId, payload, apps });
      request.log.info({ deliveryId, event, status: answer.statusCode }, 'webhook delivery');
      return reply.code(answer.statusCode).send(answer.response);
    });
  });
}

function deliveryHeaders(headers: IncomingHttpHeaders): { event: string; deliveryId: string; signature: string } {
  const event = header(headers[EVENT_HEADER], EVENT_HEADER, EVENT_NAME);
  const deliveryId = header(headers[DELIVERY_HEADER], DELIVERY_HEADER, DELIVERY_ID);
  const signature = headers[SIGNATURE_HEADER];
  if (typeof signature !== 'string' || !signature.startsWith('sha256=')) {
    throw new UnauthorizedError(`${SIGNATURE_HEADER}: a sha256 signature is required`);
  }
  return { event, deliveryId, signature };
}

/** A hook target id as GitHub sends it: a positive integer. */
function hookTarget(value: string | string[] | undefined): number | null {
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,15}$/.test(value)) return null;
  const id = Number(value);
  return Number.isSafeInteger(id) ? id : null;
}

async function hookTargetSecrets(deps: ApiDeps, value: string | string[] | undefined): Promise<string[]> {
  const target = hookTarget(value);
  if (target === null) return [];
  const apps = await deps.apps.findByHookTarget(target);
  return apps.map((app) => deps.apps.webhookSecret(app)).filter((secret): secret is string => secret !== null);
}

/**
 * A verified delivery's hook target, remembered so that its large bodies can be verified as they stream. The
 * header is not signed: it counts only when the signed payload names the same id (the repository's for a
 * repository hook, the organization's for an organization hook), so a replayed body cannot re-point it.
 */
async function rememberHookTarget(
  deps: ApiDeps,
  apps: AppRow[],
  value: string | string[] | undefined,
  payload: unknown,
): Promise<void> {
  const target = hookTarget(value);
  if (target === null || !signedIds(payload).includes(target)) return;
  const changed = apps.filter((app) => app.githubHookTargetId !== target).map((app) => app.id);
  await deps.apps.rememberHookTarget(changed, target);
}

/** The repository's and the organization's ids in a payload, as signed. */
function signedIds(payload: unknown): number[] {
  const body = payload as { repository?: { id?: unknown }; organization?: { id?: unknown } } | null;
  return [body?.repository?.id, body?.organization?.id].filter((id): id is number => typeof id === 'number');
}

function header(value: string | string[] | undefined, name: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new ValidationError(`${name}: missing or malformed header`, name);
  return value;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ValidationError(`body: malformed JSON (${(err as Error).message})`, 'body');
  }
}

/** The apps of the payload's repository whose webhook secret produced this signature. */
async function signedApps(deps: ApiDeps, event: string, payload: unknown, raw: Buffer, signature: string): Promise<AppRow[]> {
  const fullName = repositoryFullName(event, payload);
  const candidates = fullName ? await deps.apps.findByRepository(fullName) : [];
  const signed = candidates.filter((app) => {
    const secret = deps.apps.webhookSecret(app);
    return secret !== null && verifySignature(raw, signature, secret);
  });
  if (signed.length === 0) {
    throw new UnauthorizedError(
      `${SIGNATURE_HEADER}: the signature does not match the webhook secret of an app for this repository`,
    );
  }
  return signed;
}

interface Delivery {
  event: string;
  deliveryId: string;
  payload: unknown;
  apps: AppRow[];
}

/** One app's deployments of one deploying decision, and what orders it against earlier deliveries of its ref. */
interface QueuedDeploy {
  app: AppRow;
  order: DeliveryOrder | undefined;
  deployments: NewDeployment[];
}

/** What one delivery asks of its apps, gathered before its transaction. */
interface DeliveryPlan extends PreviewWork {
  toQueue: QueuedDeploy[];
  /** Check reports to keep, per app. */
  checks: CheckWork[];
  names: Map<string, PreviewName>;
  reasons: string[];
  ping: boolean;
}

async function answerDelivery(deps: ApiDeps, delivery: Delivery) {
  const plan: DeliveryPlan = { toQueue: [], checks: [], previews: [], closes: [], names: new Map(), reasons: [], ping: false };
  for (const app of delivery.apps) {
    const environments = await deps.environments.list(app.id);
    const decision = routeEvent(delivery.event, delivery.payload, environments);
    if (decision.kind === 'check') {
      plan.checks.push({ app, report: decision.report, environments: new Map(environments.map((e) => [e.id, e.name])) });
      continue;
    }
    addDecision(plan, app, decision, await checksTimeouts(deps, app, environments, decision));
  }
  let previews: PreviewChanges | undefined;
  let checked: { recorded: boolean; settled: SettledView[] } = { recorded: false, settled: [] };
  // Runs in the delivery's transaction, only on its first arrival.
  const prepare = async (tx: DeliveryTransaction) => {
    const deploys = await applyOrder(tx, plan);
    const checks = await applyChecks(tx, deps, plan.checks);
    plan.reasons.push(...checks.reasons);
    checked = checks;
    previews = await applyPreviews(tx, deps, plan);
    plan.reasons.push(...previews.reasons);
    for (const { deployment, name } of previews.queued) plan.names.set(deployment.environmentId, name);
    return [...deploys, ...previews.queued.map((q) => q.deployment)];
  };
  const respond = (queued: DeploymentRow[]) => {
    if (plan.ping) return { ok: true, event: 'ping' };
    const closed = previews?.closed ?? [];
    const report = plan.checks[0]?.report;
    return {
      deployments: queued.map((d) => ({
        id: d.id,
        ...plan.names.get(d.environmentId),
        ...(d.state === 'queued' ? {} : { state: d.state }),
      })),
      ...(closed.length > 0 ? { closedPreviews: closed } : {}),
      ...(report && checked.recorded
        ? { check: { commit: report.commit, kind: report.kind, name: report.name, conclusion: report.conclusion } }
        : {}),
      ...(checked.settled.length > 0 ? { settled: checked.settled } : {}),
      ...(queued.length === 0 && closed.length === 0 && !checked.recorded
        ? { ignored: plan.reasons.join('; ') || 'nothing to deploy' }
        : {}),
    };
  };
  const { deliveryId, event } = delivery;
  const statusCode = plan.ping ? 200 : 202;
  const appId = delivery.apps[0]?.id ?? null;
  const answer = await deps.deliveries.record({ deliveryId, event, appId, statusCode, respond, prepare }, []);
  for (const database of previews?.databases ?? []) deps.logger.info(database, 'preview database created');
  for (const refusal of previews?.quotaRefusals ?? []) {
    const message = `${refusal.app}: refused for a quota: ${refusal.reason}`;
    const dedupeKey = refusalDedupeKey('quota', refusal.appId, refusal.reason, new Date());
    await deps.events.record({
      kind: 'quota.refused',
      appId: refusal.appId,
      message,
      data: { reason: refusal.reason },
      dedupeKey,
    });
  }
  return answer;
}

/**
 * Files one app's routing decision into the plan (a check report is filed by
 * `answerDelivery` with the app's environments). `checksTimeouts`: the
 * environments whose pushes wait for their commit's checks, and how long.
 */
function addDecision(
  plan: DeliveryPlan,
  app: AppRow,
  decision: Exclude<RouteDecision, CheckDecision>,
  checksTimeouts: Map<string, number>,
): void {
  switch (decision.kind) {
    case 'ping':
      plan.ping = true;
      return;
    case 'ignored':
      plan.reasons.push(`${app.name}: ${decision.reason}`);
      return;
    case 'deploy':
      queueDeploy(plan, app, decision, checksTimeouts);
      return;
    case 'preview': {
      const refusal = previewRefusal(app, decision);
      if (refusal) plan.reasons.push(`${app.name}: ${refusal}`);
      else plan.previews.push({ app, decision });
      return;
    }
    case 'preview-close':
      plan.closes.push({ app, decision });
      addDecision(plan, app, decision.merge, checksTimeouts);
      return;
  }
}

function queueDeploy(plan: DeliveryPlan, app: AppRow, decision: DeployDecision, checksTimeouts: Map<string, number>): void {
  const deployments: NewDeployment[] = [];
  for (const target of decision.targets) {
    plan.names.set(target.environmentId, { app: app.name, environment: target.environmentName });
    // A release names no commit (the worker resolves its tag): there is nothing to wait for, so it builds at once.
    const timeout = decision.sha ? checksTimeouts.get(target.environmentId) : undefined;
    deployments.push({
      appId: app.id,
      environmentId: target.environmentId,
      trigger: decision.trigger,
      gitRef: `${decision.ref.kind === 'tag' ? 'refs/tags' : 'refs/heads'}/${decision.ref.name}`,
      commitSha: decision.sha,
      ...(timeout !== undefined ? { checksDeadlineAt: new Date(Date.now() + timeout) } : {}),
    });
  }
  plan.toQueue.push({ app, order: decision.order, deployments });
}

/**
 * In the delivery's transaction: the deployments of every decision newer than
 * the delivery last applied to its app and ref. One that is not newer (a
 * signed delivery replayed under a new id, or a late one) queues nothing and
 * says why, so it can never move an environment back to an older commit.
 */
async function applyOrder(tx: DeliveryTransaction, plan: DeliveryPlan): Promise<NewDeployment[]> {
  const queued: NewDeployment[] = [];
  for (const { app, order, deployments } of plan.toQueue) {
    const applied = order ? await recordRefEvent(tx, app.id, order.key, order.at, order.identity) : { current: true as const };
    if (applied.current) queued.push(...deployments);
    else plan.reasons.push(`${app.name}: ${staleDeploy(order as DeliveryOrder, applied.newer)}`);
  }
  return queued;
}

function staleDeploy(order: DeliveryOrder, newer: { at: Date; identities: string[] }): string {
  const what = order.key.startsWith('release:') ? `release ${order.key.slice('release:'.length)}` : order.key;
  const same = newer.identities.includes(order.identity)
    ? 'the same delivery, already applied'
    : `${(newer.identities.at(-1) ?? '').slice(0, 12)} at ${newer.at.toISOString()}`;
  return `${what} of ${order.at.toISOString()} is not newer than ${same}: a replayed or late delivery deploys nothing`;
}

import { UnauthorizedError, ValidationError } from '@pier/core';
import type { AppRow, DeliveryTransaction, DeploymentRow, NewDeployment } from '@pier/db';
import {
  DELIVERY_HEADER,
  type DeployDecision,
  EVENT_HEADER,
  type RouteDecision,
  repositoryFullName,
  routeEvent,
  SIGNATURE_HEADER,
  verifySignature,
} from '@pier/github';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { route } from '../http/route-kit.ts';
import { applyPreviews, type PreviewChanges, type PreviewName, type PreviewWork, previewRefusal } from '../previews.ts';

/** GitHub sends up to 25 MB; a larger body is refused before it is read in full. */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;

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
    deployments: z.array(z.object({ id: z.string(), app: z.string(), environment: z.string() })),
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
  app.register(async (scope) => {
    // The raw bytes are what is signed: this scope replaces whatever JSON parser the app has.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );
    scope.post('/webhooks/github', { config: { auth: false }, bodyLimit: WEBHOOK_BODY_LIMIT }, async (request, reply) => {
      const event = header(request.headers[EVENT_HEADER], EVENT_HEADER, EVENT_NAME);
      const deliveryId = header(request.headers[DELIVERY_HEADER], DELIVERY_HEADER, DELIVERY_ID);
      const signature = request.headers[SIGNATURE_HEADER];
      if (typeof signature !== 'string' || !signature.startsWith('sha256=')) {
        throw new UnauthorizedError(`${SIGNATURE_HEADER}: a sha256 signature is required`);
      }
      const raw = request.body as Buffer;
      const payload = parseJson(raw);
      const apps = await signedApps(deps, event, payload, raw, signature);

      const previous = await deps.deliveries.find(deliveryId);
      if (previous) return reply.code(previous.statusCode).send(previous.response);

      const answer = await answerDelivery(deps, { event, deliveryId, payload, apps });
      request.log.info({ deliveryId, event, status: answer.statusCode }, 'webhook delivery');
      return reply.code(answer.statusCode).send(answer.response);
    });
  });
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

/** What one delivery asks of its apps, gathered before its transaction. */
interface DeliveryPlan extends PreviewWork {
  toQueue: NewDeployment[];
  names: Map<string, PreviewName>;
  reasons: string[];
  ping: boolean;
}

async function answerDelivery(deps: ApiDeps, delivery: Delivery) {
  const plan: DeliveryPlan = { toQueue: [], previews: [], closes: [], names: new Map(), reasons: [], ping: false };
  for (const app of delivery.apps) {
    const environments = await deps.environments.list(app.id);
    addDecision(plan, app, routeEvent(delivery.event, delivery.payload, environments));
  }
  let previews: PreviewChanges | undefined;
  // Runs in the delivery's transaction, only on its first arrival.
  const prepare = async (tx: DeliveryTransaction) => {
    previews = await applyPreviews(tx, deps, plan);
    plan.reasons.push(...previews.reasons);
    for (const { deployment, name } of previews.queued) plan.names.set(deployment.environmentId, name);
    return previews.queued.map((q) => q.deployment);
  };
  const respond = (queued: DeploymentRow[]) => {
    if (plan.ping) return { ok: true, event: 'ping' };
    const closed = previews?.closed ?? [];
    return {
      deployments: queued.map((d) => ({ id: d.id, ...plan.names.get(d.environmentId) })),
      ...(closed.length > 0 ? { closedPreviews: closed } : {}),
      ...(queued.length === 0 && closed.length === 0 ? { ignored: plan.reasons.join('; ') || 'nothing to deploy' } : {}),
    };
  };
  const { deliveryId, event } = delivery;
  const statusCode = plan.ping ? 200 : 202;
  const appId = delivery.apps[0]?.id ?? null;
  const answer = await deps.deliveries.record({ deliveryId, event, appId, statusCode, respond, prepare }, plan.toQueue);
  for (const database of previews?.databases ?? []) deps.logger.info(database, 'preview database created');
  return answer;
}

/** Files one app's routing decision into the plan. */
function addDecision(plan: DeliveryPlan, app: AppRow, decision: RouteDecision): void {
  switch (decision.kind) {
    case 'ping':
      plan.ping = true;
      return;
    case 'ignored':
      plan.reasons.push(`${app.name}: ${decision.reason}`);
      return;
    case 'deploy':
      queueDeploy(plan, app, decision);
      return;
    case 'preview': {
      const refusal = previewRefusal(app, decision);
      if (refusal) plan.reasons.push(`${app.name}: ${refusal}`);
      else plan.previews.push({ app, decision });
      return;
    }
    case 'preview-close':
      plan.closes.push({ app, decision });
      addDecision(plan, app, decision.merge);
      return;
  }
}

function queueDeploy(plan: DeliveryPlan, app: AppRow, decision: DeployDecision): void {
  for (const target of decision.targets) {
    plan.names.set(target.environmentId, { app: app.name, environment: target.environmentName });
    plan.toQueue.push({
      appId: app.id,
      environmentId: target.environmentId,
      trigger: decision.trigger,
      gitRef: `${decision.ref.kind === 'tag' ? 'refs/tags' : 'refs/heads'}/${decision.ref.name}`,
      commitSha: decision.sha,
    });
  }
}

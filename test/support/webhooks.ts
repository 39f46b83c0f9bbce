import { randomUUID } from 'node:crypto';
import { signPayload } from '@pier/github';
import type { FastifyInstance } from 'fastify';
import { examplePayload } from '../../packages/github/src/example-payloads.ts';

export { examplePayload };

export interface WebhookOptions {
  event: string;
  payload: unknown;
  secret: string;
  deliveryId?: string;
  /** Override the signature header (null: none). */
  signature?: string | null;
}

/** Sends a GitHub-style signed delivery to the API. */
export function sendWebhook(app: FastifyInstance, options: WebhookOptions) {
  const body = Buffer.from(JSON.stringify(options.payload));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': options.event,
    'x-github-delivery': options.deliveryId ?? randomUUID(),
    'user-agent': 'GitHub-Hookshot/test',
  };
  const signature = options.signature === undefined ? signPayload(body, options.secret) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return app.inject({ method: 'POST', url: '/webhooks/github', headers, payload: body });
}

/** A real GitHub push payload (from @octokit/webhooks-examples) pointed at a repository, ref and commit. */
export function pushPayload(fullName: string, ref: string, sha: string): Record<string, any> {
  const payload = examplePayload('pushBranch') as Record<string, any>;
  payload.ref = ref;
  payload.after = sha;
  payload.deleted = false;
  payload.head_commit = { ...(payload.head_commit ?? {}), id: sha };
  payload.repository = { ...payload.repository, full_name: fullName, name: fullName.split('/')[1] };
  return payload;
}

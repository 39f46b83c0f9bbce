import { z } from 'zod';
import type { DeploySummary } from './route-decision.ts';

/** A commit id: SHA-1 (40) or SHA-256 (64) lower-case hex. It reaches git commands later, so nothing else passes. */
export const commitSha = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'must be a 40 or 64 digit hex commit id');

/**
 * A time GitHub gives as Unix seconds (push events' `repository.pushed_at`)
 * or as an ISO 8601 string (everywhere else); anything else is absent.
 */
export const githubTime = z
  .union([z.number().int().positive(), z.iso.datetime({ offset: true })])
  .nullish()
  .catch(undefined)
  .transform((value) => (value == null ? undefined : new Date(typeof value === 'number' ? value * 1000 : value)));

/** Text for the summary only: anything odd becomes absent rather than failing the delivery. */
export const summaryText = z.string().nullish().catch(undefined);

/** A link for the summary only; absent unless it is http(s). */
export const summaryUrl = z
  .url({ protocol: /^https?$/ })
  .nullish()
  .catch(undefined);

export const account = z.looseObject({ login: summaryText }).nullish().catch(undefined);

const SUMMARY_MESSAGE_MAX = 200;

/** The first line of a commit message or title, trimmed and capped. */
export function summaryLine(text: string | null | undefined): string | undefined {
  const line = text?.split('\n', 1)[0]?.trim();
  if (!line) return undefined;
  return line.length > SUMMARY_MESSAGE_MAX ? `${line.slice(0, SUMMARY_MESSAGE_MAX - 1)}…` : line;
}

/** Why a payload was not accepted, naming the first offending field but never echoing its value. */
export function payloadProblem(event: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.join('.') || '(root)';
  return `${event} payload is malformed at ${path}: ${issue?.message ?? 'invalid'}`;
}

/** The summary without its absent fields, so that decisions compare and serialise cleanly. */
export function deploySummary(fields: { message?: string | null; author?: string | null; url?: string | null }): DeploySummary {
  const summary: DeploySummary = {};
  const message = summaryLine(fields.message);
  if (message) summary.message = message;
  if (fields.author) summary.author = fields.author;
  if (fields.url) summary.url = fields.url;
  return summary;
}

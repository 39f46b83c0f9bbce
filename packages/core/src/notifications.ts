import { createHmac } from 'node:crypto';
import { ValidationError } from './errors.ts';
import { EVENT_KINDS, type EventKind, type EventSeverity, isEventKind } from './events.ts';

/**
 * Notifications: what decides whether an event is sent now, held back by the
 * throttle or summed up later, when a failed delivery is tried again, and
 * what each channel receives. Pure; the notifier in apps/worker does the I/O.
 */

export const CHANNEL_KINDS = ['webhook', 'slack', 'email'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** How an email channel talks to its SMTP server: STARTTLS on a plain port, TLS from the start, or none (loopback only). */
export const SMTP_TLS_MODES = ['starttls', 'tls', 'none'] as const;
export type SmtpTlsMode = (typeof SMTP_TLS_MODES)[number];

/**
 * A channel's settings as sealed at rest (secrets included); never shown
 * after creation. `allowLoopback`: an admin made it, so its target may be on
 * loopback or a private network (checked again when the sender connects).
 */
export type ChannelSettings = { allowLoopback?: boolean } & (
  | { kind: 'webhook'; url: string; secret: string }
  | { kind: 'slack'; url: string }
  | {
      kind: 'email';
      host: string;
      port: number;
      tls: SmtpTlsMode;
      user?: string;
      password?: string;
      from: string;
      to: string[];
    }
);

/** Throws ValidationError naming `events` for the first kind that is not in EVENT_KINDS. */
export function assertEventKinds(kinds: readonly string[], field = 'events'): EventKind[] {
  const unknown = kinds.find((kind) => !isEventKind(kind));
  if (unknown !== undefined) {
    throw new ValidationError(`${field}: unknown event kind ${JSON.stringify(unknown.slice(0, 80))}`, field);
  }
  return [...new Set(kinds)] as EventKind[];
}

/**
 * Whether a subscription hears an event: one for an app hears that app's
 * events; the host's (app null) hears host events, and every app's when it
 * is `allApps`; then by kind (none listed: every kind).
 */
export function subscriptionHears(
  subscription: { appId: string | null; allApps?: boolean; kinds: readonly string[] },
  event: { appId: string | null; kind: string },
): boolean {
  const inScope =
    subscription.appId !== null ? subscription.appId === event.appId : event.appId === null || subscription.allApps === true;
  return inScope && (subscription.kinds.length === 0 || subscription.kinds.includes(event.kind));
}

/**
 * The throttle an event belongs to on each channel: same app (or the host),
 * environment and kind, and for the host's events the same disk (one disk
 * filling does not hold back another's alert).
 */
export function throttleKey(event: { appId: string | null; envName: string | null; kind: string; data?: unknown }): string {
  const key = `${event.appId ?? 'host'}:${event.envName ?? '-'}:${event.kind}`;
  const disk = event.appId === null ? (event.data as { disk?: unknown } | null | undefined)?.disk : undefined;
  return typeof disk === 'string' ? `${key}:${disk}` : key;
}

/**
 * Whether an event is sent or held back. The first event of a throttle key
 * opens a window of `windowMs`; events of the same key within it are
 * `suppress`ed (and summed up once it ends); the first one after it opens a
 * new window. `openedAt` is when the key's current window opened (its last
 * sent event), null when it never did.
 */
export function throttleDecision(openedAt: Date | null, now: Date, windowMs: number): 'send' | 'suppress' {
  if (openedAt === null) return 'send';
  return now.getTime() - openedAt.getTime() < windowMs ? 'suppress' : 'send';
}

/** A window's summary is due once the window ended and something was held back in it. */
export function summaryDue(openedAt: Date, now: Date, windowMs: number, suppressed: number): boolean {
  return suppressed > 0 && now.getTime() - openedAt.getTime() >= windowMs;
}

export interface RetryPolicy {
  /** The first retry's delay; each further one doubles it. */
  baseMs: number;
  /** No retry waits longer. */
  capMs: number;
  /** A delivery older than this is dead instead of retried. */
  giveUpMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 30_000, capMs: 3_600_000, giveUpMs: 86_400_000 };

/**
 * What follows a failed attempt: `dead` once the delivery is `giveUpMs` old
 * (or would be by its next attempt), else the next attempt after an
 * exponential delay (`baseMs` doubled per attempt made, capped) with "equal
 * jitter": half the delay fixed, half drawn by `random` (0 ≤ r < 1), so
 * several failing deliveries do not retry in step.
 */
export function afterFailure(
  delivery: { createdAt: Date; attempts: number },
  now: Date,
  policy: RetryPolicy,
  random: () => number = Math.random,
): { state: 'dead' } | { state: 'pending'; nextAttemptAt: Date } {
  const age = now.getTime() - delivery.createdAt.getTime();
  if (age >= policy.giveUpMs) return { state: 'dead' };
  const exponent = Math.max(0, delivery.attempts - 1);
  const delay = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(exponent, 30));
  const wait = Math.round(delay / 2 + (delay / 2) * random());
  if (age + wait >= policy.giveUpMs) {
    // One last attempt at the give-up age rather than none.
    return { state: 'pending', nextAttemptAt: new Date(delivery.createdAt.getTime() + policy.giveUpMs) };
  }
  return { state: 'pending', nextAttemptAt: new Date(now.getTime() + wait) };
}

/** An event as a channel receives it: no secrets (events never carry any). */
export interface EventMessage {
  kind: EventKind;
  severity: EventSeverity;
  /** The app's name, or null for the host. */
  app: string | null;
  env: string | null;
  message: string;
  at: string;
  data: Record<string, unknown>;
}

/** The summary of a window's held-back events. */
export interface SummaryMessage {
  kind: 'summary';
  /** The kind that was held back. */
  eventKind: string;
  severity: EventSeverity;
  app: string | null;
  env: string | null;
  /** How many more happened after the one that was sent. */
  count: number;
  first: string;
  last: string;
  message: string;
}

/** A message an operator asked for (`POST …/:name/test`), to see that the channel works. */
export interface TestMessage {
  kind: 'test';
  severity: 'info';
  app: string | null;
  env: null;
  message: string;
  at: string;
}

/** What a delivery's row keeps (`payload`) and what senders format. */
export type NotificationMessage = EventMessage | SummaryMessage | TestMessage;

export function summaryMessage(input: Omit<SummaryMessage, 'kind' | 'severity' | 'message'>): SummaryMessage {
  const severity = isEventKind(input.eventKind) ? EVENT_KINDS[input.eventKind].severity : 'info';
  const times = input.count === 1 ? 'time' : 'times';
  const message = `${input.eventKind} happened ${input.count} more ${times} between ${input.first} and ${input.last}`;
  return { kind: 'summary', severity, message, ...input };
}

/** Where it happened, for titles: `app/env`, `app` or `host`. */
export function messageScope(message: Pick<NotificationMessage, 'app' | 'env'>): string {
  if (message.app === null) return 'host';
  return message.env ? `${message.app}/${message.env}` : message.app;
}

/**
 * The one-line title: an email's subject after `[Pier] `, a Slack message's
 * first line. An event's message that names its app already is not prefixed
 * with it again.
 */
export function messageTitle(message: NotificationMessage): string {
  const text = oneLine(message.message, 200);
  if (message.app !== null && text.startsWith(`${message.app} `)) return text;
  return `${messageScope(message)}: ${text}`;
}

/** The plain-text body of an email. */
export function messageText(message: NotificationMessage): string {
  const lines = [message.message, '', `Where: ${messageScope(message)}`, `Severity: ${message.severity}`];
  if (message.kind === 'summary') {
    lines.push(`Kind: ${message.eventKind}`, `Held back: ${message.count}`, `First: ${message.first}`, `Last: ${message.last}`);
  } else {
    lines.push(`Kind: ${message.kind}`, `At: ${message.at}`);
  }
  if (message.kind !== 'summary' && message.kind !== 'test' && Object.keys(message.data).length > 0) {
    lines.push('', JSON.stringify(message.data, null, 2));
  }
  return `${lines.join('\n')}\n`;
}

/** Slack's mrkdwn `{ text }`: the severity, where, the message; `&`, `<`, `>` escaped as Slack asks. */
export function slackBody(message: NotificationMessage): { text: string } {
  const mark =
    message.severity === 'critical' ? ':red_circle:' : message.severity === 'warning' ? ':warning:' : ':information_source:';
  const kind = message.kind === 'summary' ? `${message.eventKind} (summary)` : message.kind;
  return { text: `${mark} *${slackEscape(messageScope(message))}* \`${slackEscape(kind)}\`\n${slackEscape(message.message)}` };
}

/** The generic webhook's JSON: `{ id, kind, severity, app, env, message, at, data }` (a summary: `kind: 'summary'` with its counts). */
export function webhookBody(deliveryId: number, message: NotificationMessage): Record<string, unknown> {
  const { kind, severity, app, env } = message;
  if (message.kind === 'summary') {
    const { eventKind, count, first, last } = message;
    return {
      id: String(deliveryId),
      kind,
      severity,
      app,
      env,
      message: message.message,
      at: last,
      data: { eventKind, count, first, last },
    };
  }
  const data = message.kind === 'test' ? {} : message.data;
  return { id: String(deliveryId), kind, severity, app, env, message: message.message, at: message.at, data };
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub signs its webhooks (`X-Hub-Signature-256`). */
export function webhookSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function slackEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

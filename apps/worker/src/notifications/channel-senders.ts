import {
  type ChannelSettings,
  type NotificationMessage,
  outboundLookup,
  slackBody,
  webhookBody,
  webhookSignature,
} from '@pier/core';
import { sendEmail } from './email-sender.ts';
import { outboundPost } from './outbound-post.ts';
import type { SendContext } from './send-context.ts';

export type { SendContext } from './send-context.ts';

const USER_AGENT = 'Pier-Notifier';

/**
 * Sends one delivery's message to its channel; resolves once the receiver
 * accepted it (2xx, or the SMTP server took the mail), rejects otherwise.
 * Webhook: the JSON body signed as GitHub signs (`X-Pier-Signature-256`).
 * Slack: `{ text }` to the incoming webhook. Email: a plain-text mail.
 */
export async function sendToChannel(
  settings: ChannelSettings,
  deliveryId: number,
  message: NotificationMessage,
  context: SendContext,
): Promise<void> {
  if (settings.kind === 'email') return sendEmail(settings, message, context);
  const url = new URL(settings.url);
  const lookup = outboundLookup({
    allowLoopback: settings.allowLoopback === true,
    port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    reservedPorts: context.reservedPorts,
  });
  const post = { lookup, timeoutMs: context.timeoutMs, signal: context.signal, extraCa: context.extraCa };
  if (settings.kind === 'slack') {
    const body = JSON.stringify(slackBody(message));
    return outboundPost(url, body, { ...post, headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT } });
  }
  const body = JSON.stringify(webhookBody(deliveryId, message));
  return outboundPost(url, body, {
    ...post,
    headers: {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'x-pier-event': message.kind,
      'x-pier-delivery': String(deliveryId),
      'x-pier-signature-256': webhookSignature(settings.secret, body),
    },
  });
}

/**
 * `text` with every secret of the channel replaced by `***`: its URL (a
 * Slack webhook's path is its secret), the URL's credentials, the signing
 * secret, the SMTP user and password. Kept as a delivery's last error.
 */
export function scrubChannelSecrets(text: string, settings: ChannelSettings): string {
  const secrets: string[] = [];
  if (settings.kind === 'email') secrets.push(settings.password ?? '', settings.user ?? '');
  else {
    secrets.push(settings.url);
    try {
      const url = new URL(settings.url);
      secrets.push(url.username, url.password, url.pathname.length > 1 ? url.pathname : '', url.search);
    } catch {
      // Checked when it was stored; nothing more to hide.
    }
    if (settings.kind === 'webhook') secrets.push(settings.secret);
  }
  let scrubbed = text;
  for (const secret of secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)) {
    scrubbed = scrubbed.replaceAll(secret, '***');
  }
  return scrubbed.slice(0, 1000);
}

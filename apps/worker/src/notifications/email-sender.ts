import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { type ChannelSettings, messageText, messageTitle, type NotificationMessage, outboundLookup } from '@pier/core';
import { type SendContext, sendDeadline, withinDeadline } from './send-context.ts';

type EmailSettings = Extract<ChannelSettings, { kind: 'email' }>;

/**
 * Sends the message as a plain-text mail over SMTP with the channel's TLS
 * mode: `tls` from the first byte, `starttls` required, `none` (loopback
 * only, as the channel's check allowed). The server's name is resolved here
 * through the connect-time guard and the mail sent to the address it
 * resolved to (certificates still checked against the name), so a name that
 * points at a link-local or metadata address is never connected to. The
 * whole exchange, the name's lookup included, has the send's limit
 * (nodemailer's own timeouts are per step: a server answering each command
 * just in time would hold the send for minutes); once it is over, or the
 * notifier stops, the connection is torn down and the send rejects.
 */
export async function sendEmail(settings: EmailSettings, message: NotificationMessage, context: SendContext): Promise<void> {
  const deadline = sendDeadline(context);
  const address = await withinDeadline(guardedAddress(settings, context), deadline, context);
  // nodemailer (~3 MB of heap) is loaded by the first mail sent, not by every worker at start.
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: address,
    port: settings.port,
    secure: settings.tls === 'tls',
    requireTLS: settings.tls === 'starttls',
    ignoreTLS: settings.tls === 'none',
    auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
    connectionTimeout: context.timeoutMs,
    greetingTimeout: context.timeoutMs,
    socketTimeout: context.timeoutMs,
    socketCloseTimeout: 0,
    tls: {
      servername: isIP(settings.host) ? undefined : settings.host,
      ...(context.extraCa?.length ? { ca: [...rootCertificates, ...context.extraCa] } : {}),
    },
  });
  try {
    const sent = transport.sendMail({
      from: settings.from,
      to: settings.to,
      subject: `[Pier] ${messageTitle(message)}`,
      text: messageText(message),
      signal: deadline,
    });
    await withinDeadline(sent, deadline, context, () => transport.close());
  } finally {
    transport.close();
  }
}

function guardedAddress(settings: EmailSettings, context: SendContext): Promise<string> {
  const lookup = outboundLookup({
    allowLoopback: settings.allowLoopback === true,
    port: settings.port,
    reservedPorts: context.reservedPorts,
    resolve: dnsLookup,
  });
  return new Promise((resolve, reject) => {
    lookup(settings.host, { all: false }, (err, address) => {
      if (err) reject(err);
      else resolve(address as string);
    });
  });
}

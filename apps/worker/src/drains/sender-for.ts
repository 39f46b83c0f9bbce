import { checkOutboundUrl, outboundLookup } from '@pier/core';
import type { LogDrainConfig } from '@pier/db';
import type { DrainSender } from './drain-sender.ts';
import { HttpsDrainSender } from './https-sender.ts';
import { SyslogDrainSender } from './syslog-sender.ts';

export interface SenderSettings {
  /** Pier's own loopback ports, never connected to (checked again here, and at connect time). */
  reservedPorts: readonly number[];
  /** How long a connection, a TLS handshake, a write or a POST may take. */
  timeoutMs: number;
}

/**
 * The sender of a drain's config. The URL is checked again as the api checked
 * it (loopback allowed: only an admin could have stored one), and the
 * connection's `lookup` holds a DNS name to what the URL itself may reach:
 * a public name resolving to loopback, a private or a link-local address is
 * refused when connecting.
 */
export function senderFor(config: LogDrainConfig, settings: SenderSettings): DrainSender {
  const url = checkOutboundUrl(config.url, {
    field: 'url',
    use: 'drain',
    allowLoopback: true,
    reservedPorts: settings.reservedPorts,
  });
  const connection = {
    host: url.host,
    port: url.port,
    lookup: outboundLookup({ allowLoopback: url.internal, port: url.port, reservedPorts: settings.reservedPorts }),
    ...(config.ca ? { ca: config.ca } : {}),
    timeoutMs: settings.timeoutMs,
  };
  if (url.scheme === 'https' || url.scheme === 'http')
    return new HttpsDrainSender({ ...connection, url: url.url, headers: config.headers ?? {} });
  return new SyslogDrainSender({ ...connection, tls: url.scheme === 'syslog+tls' });
}

import { checkOutboundUrl, type OutboundUrl, outboundLookup } from '@pier/core';
import type { LogDrainConfig, PendingLine } from '@pier/db';
import { HttpsDrainSender } from './https-sender.ts';
import { SyslogDrainSender } from './syslog-sender.ts';

/**
 * Sends one drain's batches. `send` resolves once the endpoint took the
 * batch (an https 2xx; for syslog, the bytes written on a live connection:
 * syslog over TCP has no acknowledgement) and rejects otherwise; the caller
 * moves the drain's cursor only after it resolved. `close` ends any
 * connection it keeps.
 */
export interface DrainSender {
  send(lines: readonly PendingLine[]): Promise<void>;
  close(): void;
}

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
  if (url.scheme === 'https') return new HttpsDrainSender({ ...connection, url: url.url, headers: config.headers ?? {} });
  return new SyslogDrainSender({ ...connection, tls: url.scheme === 'syslog+tls' });
}

export type ConnectionSettings = Pick<OutboundUrl, 'host' | 'port'> & {
  lookup: ReturnType<typeof outboundLookup>;
  ca?: string;
  timeoutMs: number;
};

import type { OutboundUrl, outboundLookup } from '@pier/core';
import type { PendingLine } from '@pier/db';

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

export type ConnectionSettings = Pick<OutboundUrl, 'host' | 'port'> & {
  lookup: ReturnType<typeof outboundLookup>;
  ca?: string;
  timeoutMs: number;
};

import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { PendingLine } from '@pier/db';
import { syslogFrames } from './drain-messages.ts';
import type { ConnectionSettings, DrainSender } from './drain-sender.ts';

const KEEPALIVE_MS = 15_000;

/**
 * Syslog over TCP (RFC 6587) or TLS (RFC 5425): one connection kept across
 * batches, made again on the next batch after it broke (an error, the
 * server closing it). TLS verifies the server's certificate against the
 * drain's CA or Node's bundled CAs (NODE_EXTRA_CA_CERTS adds to those), for
 * the URL's host name.
 *
 * A batch counts as sent once written on a connection that had not been
 * closed by then: syslog has no acknowledgement, so lines written at the very
 * moment the server goes away can be lost (an https drain has none of that).
 */
export class SyslogDrainSender implements DrainSender {
  #socket: Socket | null = null;

  constructor(private readonly settings: ConnectionSettings & { tls: boolean }) {}

  async send(lines: readonly PendingLine[]): Promise<void> {
    const socket = this.#socket ?? (await this.connect());
    const frames = syslogFrames(lines);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(new Error(`writing to the syslog server took over ${this.settings.timeoutMs} ms`));
      }, this.settings.timeoutMs);
      socket.write(frames, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else if (this.#socket !== socket) reject(new Error('the syslog server closed the connection'));
        else resolve();
      });
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }

  private connect(): Promise<Socket> {
    const { host, port, lookup, ca, tls, timeoutMs } = this.settings;
    return new Promise<Socket>((resolve, reject) => {
      const socket = tls
        ? tlsConnect({ host, port, lookup, ...(ca ? { ca } : {}), ...(isIP(host) ? {} : { servername: host }) })
        : tcpConnect({ host, port, lookup });
      const timer = setTimeout(
        () => socket.destroy(new Error(`connecting to ${host}:${port} took over ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        this.adopt(socket);
        resolve(socket);
      });
    });
  }

  /** Keeps `socket` until it breaks; what the server sends is read and ignored. */
  private adopt(socket: Socket): void {
    this.#socket = socket;
    // A server gone without a word (no FIN) is found out between batches, not by a write that never ends.
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const broken = () => {
      if (this.#socket === socket) this.#socket = null;
      socket.destroy();
    };
    socket.on('data', () => {});
    socket.on('error', broken);
    socket.on('end', broken);
    socket.on('close', broken);
  }
}

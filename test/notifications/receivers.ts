import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { TlsFixture } from '../drains/tls-fixture.ts';

/** A POST a receiver was sent, with whether its signature matched (webhooks). */
export interface ReceivedPost {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  raw: string;
  /** X-Pier-Signature-256 is the HMAC-SHA256 of the raw body under the secret (null: no secret to check). */
  signatureValid: boolean | null;
}

export interface PostReceiver {
  port: number;
  received: ReceivedPost[];
  /** Starts (again) on the same port. */
  start(): Promise<void>;
  /** Stops listening and cuts open connections, as a receiver that goes down does. */
  stop(): Promise<void>;
}

/** A free loopback port (listened on and closed at once). */
export async function freePort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A receiver of JSON POSTs on loopback: HTTPS with the fixture's certificate
 * (a webhook receiver) or plain HTTP (a Slack-compatible incoming webhook).
 * With `secret`, it checks each POST's signature exactly as a GitHub webhook
 * receiver checks X-Hub-Signature-256. `answer` picks the status (and body).
 */
export function postReceiver(options: {
  port: number;
  tls?: TlsFixture;
  secret?: string;
  answer?: (req: ReceivedPost) => { status: number; body?: string };
}): PostReceiver {
  let server: Server | null = null;
  const receiver: PostReceiver = {
    port: options.port,
    received: [],
    start: async () => {
      const listener: RequestListener = (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const post: ReceivedPost = {
            path: req.url ?? '',
            headers: req.headers,
            body: JSON.parse(raw),
            raw,
            signatureValid: options.secret === undefined ? null : signatureMatches(options.secret, raw, req.headers),
          };
          const answer = options.answer?.(post) ?? { status: 200 };
          if (answer.status >= 200 && answer.status < 300) receiver.received.push(post);
          res.writeHead(answer.status).end(answer.body ?? 'ok');
        });
      };
      server = options.tls
        ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener)
        : createHttpServer(listener);
      const listening = server;
      await new Promise<void>((resolve) => listening.listen(options.port, '127.0.0.1', resolve));
    },
    stop: async () => {
      const running = server;
      server = null;
      if (!running) return;
      const closed = new Promise((resolve) => running.close(resolve));
      running.closeAllConnections();
      await closed;
    },
  };
  return receiver;
}

function signatureMatches(secret: string, raw: string, headers: IncomingHttpHeaders): boolean {
  const given = headers['x-pier-signature-256'];
  if (typeof given !== 'string') return false;
  const expected = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The authenticated user. */
  user: string | null;
  /** The session went through STARTTLS. */
  secure: boolean;
  raw: string;
}

export interface SmtpReceiver {
  port: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

/**
 * A real SMTP server on loopback (the `smtp-server` package): STARTTLS with
 * the fixture's certificate, required before AUTH, one user and password.
 */
export async function smtpReceiver(tls: TlsFixture, user: string, password: string): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user });
      else callback(new Error('invalid credentials'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: (session.user as string | undefined) ?? null,
          secure: session.secure,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Waits (bounded) until `check` holds, polling; fails with `what` on timeout. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

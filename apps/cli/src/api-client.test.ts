import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient, path, type StreamEvent } from './api-client.ts';
import { CliError, EXIT } from './cli-error.ts';

const TOKEN = 'tok_3b1f9c0e-very-secret';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let url: string;
let handler: Handler;
let seen: IncomingMessage[];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  handler = (_req, res) => res.end('{}');
});

function client(options: { onVersionMismatch?: (v: string) => void; cliVersion?: string } = {}) {
  return new ApiClient({ url: `${url}/`, token: TOKEN, cliVersion: options.cliVersion ?? '1.2.3', ...options });
}

/** The server's last event: the stream is over (without it, the client reconnects). */
const END = 'event: end\ndata: {}\n\n';
const END_EVENT = { event: 'end', data: '{}' };

/** Answers an SSE body written in these chunks, a pause between each, then ends the response. */
function sse(chunks: string[]): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const next = () => {
      if (i === chunks.length) return res.end();
      res.write(chunks[i++]);
      setTimeout(next, 5);
    };
    next();
  };
}

async function collect(route = '/stream'): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  await client().stream(route, {}, (event) => {
    events.push(event);
  });
  return events;
}

async function refusal(promise: Promise<unknown>): Promise<CliError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

describe('ApiClient requests', () => {
  it('sends the token as a bearer header, JSON bodies, and encodes each path segment', async () => {
    handler = (req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, body: JSON.parse(body) })));
    };
    const answer = await client().post(path`/apps/${'a b/../c'}/environments/${'x?y'}/variables`, { A: '1' });
    expect(answer).toEqual({
      method: 'POST',
      url: '/apps/a%20b%2F..%2Fc/environments/x%3Fy/variables',
      body: { A: '1' },
    });
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen[0]?.headers['content-type']).toBe('application/json');
  });

  it('puts query values in the URL, leaving out empty and false ones', async () => {
    handler = (req, res) => res.end(JSON.stringify({ url: req.url }));
    const answer = await client().get('/logs', { tail: 20, grep: 'a&b', follow: false, since: undefined, until: null });
    expect(answer).toEqual({ url: '/logs?tail=20&grep=a%26b' });
  });

  it.each([
    [401, EXIT.auth, 'unauthorized', 'invalid token'],
    [403, EXIT.auth, 'forbidden', 'only an admin token may delete apps'],
    [404, EXIT.notFound, 'not_found', 'app shop not found'],
    [422, EXIT.usage, 'validation_failed', 'replicas: must be at most 100'],
    [500, EXIT.failure, 'internal', 'something broke'],
  ])('turns %i into exit code %i with the API message and code', async (status, exitCode, code, message) => {
    handler = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code, message } }));
    };
    const err = await refusal(client().get('/apps/shop'));
    expect(err.exitCode).toBe(exitCode);
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
    expect(err.message).not.toContain(TOKEN);
    expect(err.stack ?? '').not.toContain(TOKEN);
  });

  it('says what the status was when the body is not the API error shape', async () => {
    handler = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    };
    const err = await refusal(client().get('/apps'));
    expect(err.exitCode).toBe(EXIT.failure);
    expect(err.message).toContain('502');
  });

  it('accepts the statuses it is told to, and refuses a 2xx that is not JSON', async () => {
    handler = (_req, res) => {
      res.writeHead(404);
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'no' } }));
    };
    expect(await client().request('GET', '/x', { accept: [404] })).toEqual({ error: { code: 'not_found', message: 'no' } });
    handler = (_req, res) => res.end('plain text');
    expect((await refusal(client().get('/x'))).message).toContain('not JSON');
  });

  it('names an unreachable server without the token', async () => {
    const gone = new ApiClient({ url: 'http://127.0.0.1:1', token: TOKEN, cliVersion: '1.2.3' });
    const err = await refusal(gone.get('/apps'));
    expect(err.code).toBe('unreachable');
    expect(err.message).toContain('cannot reach http://127.0.0.1:1');
    expect(err.message).not.toContain(TOKEN);
  });

  it('warns once when the server version differs, never when it matches', async () => {
    handler = (_req, res) => {
      res.setHeader('x-pier-version', '9.9.9');
      res.end('{}');
    };
    const warnings: string[] = [];
    const api = client({ onVersionMismatch: (v) => warnings.push(v) });
    await api.get('/a');
    await api.get('/b');
    await api.get('/c');
    expect(warnings).toEqual(['9.9.9']);

    handler = (_req, res) => {
      res.setHeader('x-pier-version', '1.2.3');
      res.end('{}');
    };
    const same: string[] = [];
    await client({ onVersionMismatch: (v) => same.push(v) }).get('/a');
    expect(same).toEqual([]);
  });
});

describe('ApiClient.stream', () => {
  it('parses events, ids, multi-line data, comments and CRLF line ends', async () => {
    handler = sse([
      ': keep-alive comment\n\n',
      'event: line\nid: 1\ndata: {"line":"first"}\n\n',
      'event: line\r\nid: 2\r\ndata: one\r\ndata: two\r\n\r\n',
      'data:no space\n\n',
      'event: end\ndata: {"state":"live"}\n\n',
      'event: line\ndata: after end\n\n',
    ]);
    expect(await collect()).toEqual([
      { event: 'line', id: '1', data: '{"line":"first"}' },
      { event: 'line', id: '2', data: 'one\ntwo' },
      { event: 'message', data: 'no space' },
      { event: 'end', data: '{"state":"live"}' },
    ]);
  });

  it('joins a line split across chunks, even inside a multi-byte character and between CR and LF', async () => {
    handler = sse(['ev', 'ent: li', 'ne\nda', 'ta: caf', 'é ✓', '\r', '\n\r\n', END]);
    expect(await collect()).toEqual([{ event: 'line', data: 'café ✓' }, END_EVENT]);

    // é is two bytes: the first chunk ends between them.
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const bytes = Buffer.from(`data: é\n\n${END}`);
      res.write(bytes.subarray(0, 7));
      setTimeout(() => res.end(bytes.subarray(7)), 10);
    };
    expect(await collect()).toEqual([{ event: 'message', data: 'é' }, END_EVENT]);
  });

  it('stops when the callback says so', async () => {
    handler = sse(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']);
    const events: string[] = [];
    await client().stream('/s', {}, (event) => {
      events.push(event.data);
      return event.data === '2' ? 'stop' : undefined;
    });
    expect(events).toEqual(['1', '2']);
  });

  it('resumes with Last-Event-ID after the server drops the connection mid-stream', async () => {
    let connections = 0;
    handler = (req, res) => {
      connections++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (connections === 1) {
        res.write('id: 7\nevent: line\ndata: a\n\n');
        // Half an event, then the connection dies.
        res.write('id: 8\nevent: line\ndata: lost');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      res.end(`id: 9\nevent: line\ndata: b after ${req.headers['last-event-id']}\n\nevent: end\ndata: {}\n\n`);
    };
    const events = await collect();
    expect(events.map((e) => e.data)).toEqual(['a', 'b after 7', '{}']);
    expect(connections).toBe(2);
    expect(seen[0]?.headers['last-event-id']).toBeUndefined();
    expect(seen[1]?.headers['last-event-id']).toBe('7');
    expect(seen[1]?.headers.accept).toBe('text/event-stream');
  });

  it('throws the API refusal of the stream itself, with its exit code', async () => {
    handler = (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'deployment d1 not found' } }));
    };
    const err = await refusal(collect());
    expect(err.exitCode).toBe(EXIT.notFound);
    expect(err.message).toBe('deployment d1 not found');
  });

  // Ctrl-C while following: not "cannot reach the server" (exit 1), which main.ts would print as an error.
  it('ends when the signal aborts, without reconnecting or calling it unreachable', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    };
    const abort = new AbortController();
    const events: string[] = [];
    const done = client()
      .stream(
        '/s',
        {},
        (e) => {
          events.push(e.data);
          abort.abort();
        },
        abort.signal,
      )
      .then(
        () => 'returned',
        (err: Error) => (err instanceof CliError ? `CliError: ${err.message}` : err.name),
      );
    expect(['returned', 'AbortError']).toContain(await done);
    expect(events).toEqual(['first']);
    expect(seen).toHaveLength(1);
  });
});

describe('ApiClient on a flaky or wrong server', () => {
  it('tries a read again after a 503, but never a change', async () => {
    let calls = 0;
    handler = (_req, res) => {
      calls++;
      res.writeHead(calls === 1 ? 503 : 200, { 'content-type': 'application/json' });
      res.end(calls === 1 ? '{"error":{"code":"unavailable","message":"restarting"}}' : '{"ok":true}');
    };
    expect(await client().get('/x')).toEqual({ ok: true });
    expect(calls).toBe(2);
    calls = 0;
    const err = await refusal(client().post('/x', { a: 1 }));
    expect({ calls, message: err.message }).toEqual({ calls: 1, message: 'restarting' });
  });

  it('reports a redirect instead of following it (a POST must not become a GET)', async () => {
    handler = (_req, res) => {
      res.writeHead(301, { location: 'https://elsewhere.test/api' });
      res.end();
    };
    const err = await refusal(client().post('/apps', { name: 'x' }));
    expect(err.code).toBe('redirected');
    expect(err.message).toContain('https://elsewhere.test/api');
    expect(seen).toHaveLength(1);
  });

  it('resumes a stream the server closed without `end`, from the last id', async () => {
    let connections = 0;
    handler = (req, res) => {
      connections++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (connections === 1) return res.end('id: 3\nevent: line\ndata: a\n\n');
      res.end(`id: 4\nevent: line\ndata: b after ${req.headers['last-event-id']}\n\n${END}`);
    };
    expect((await collect()).map((e) => e.data)).toEqual(['a', 'b after 3', '{}']);
    expect(connections).toBe(2);
  });

  it('moves a query `after` to the last id seen when it resumes, so no line comes twice', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (seen.length === 1) return res.end('id: 12\nevent: line\ndata: x\n\n');
      res.end(`event: line\ndata: ${req.url}\n\n${END}`);
    };
    const events: string[] = [];
    await client().stream('/out', { after: 10 }, (e) => {
      events.push(e.data);
    });
    expect(events).toEqual(['x', '/out?after=12', '{}']);
  });
});

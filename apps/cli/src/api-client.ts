import { CliError, EXIT, exitCodeForStatus } from './cli-error.ts';
import { printable } from './output.ts';

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
  /** Statuses answered without throwing (e.g. 404 when "absent" is an answer). */
  accept?: number[];
}

/** One event of a Server-Sent Events stream. */
export interface StreamEvent {
  event: string;
  data: string;
  id?: string;
}

export interface ApiClientOptions {
  url: string;
  token: string;
  cliVersion: string;
  /** Called once with the server's version when it differs from the CLI's. */
  onVersionMismatch?: (serverVersion: string) => void;
  fetch?: typeof fetch;
}

/** Encodes each interpolated value as one path segment: `path\`/apps/${name}\``. */
export function path(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  return strings.reduce((out, text, i) => out + text + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '');
}

/** Largest JSON answer read (a wrong URL serving a big file must not fill memory). */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** A GET that fails on the network or with 502/503/504 is tried again after these pauses (it changes nothing). */
const GET_RETRIES_MS = [500, 1000, 2000];
/** Statuses worth another try: a restarting api behind the proxy. */
const TRANSIENT = new Set([502, 503, 504]);

/**
 * The REST API, and nothing else: the CLI has no other way into Pier. The
 * token goes in the Authorization header only; no message this class makes
 * contains it.
 */
export class ApiClient {
  readonly url: string;
  private readonly token: string;
  private readonly fetchImpl: typeof fetch;
  private warned = false;

  constructor(private readonly options: ApiClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchImpl = options.fetch ?? fetch;
  }

  get<T = any>(route: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', route, { query, signal });
  }

  /**
   * A change: never aborted half-way by Ctrl-C (`signal` is accepted for
   * symmetry and ignored), so the caller always learns what the server did
   * (the deployment it started) and can say how to follow it.
   */
  post<T = any>(route: string, body?: unknown, _signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', route, { body });
  }

  patch<T = any>(route: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', route, { body });
  }

  delete<T = any>(route: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', route, { query });
  }

  /** JSON in, JSON out; a refusal becomes a CliError with the API's message, code and the matching exit code. */
  async request<T = any>(method: string, route: string, options: RequestOptions = {}): Promise<T> {
    // Only reads may be interrupted: a change in flight is seen through to its answer.
    const signal = method === 'GET' ? options.signal : undefined;
    const retries = method === 'GET' ? GET_RETRIES_MS : [];
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.send(method, route, { ...options, signal });
      } catch (err) {
        if (signal?.aborted || attempt >= retries.length || !(err instanceof CliError)) throw err;
        await sleep(retries[attempt] as number, signal);
        continue;
      }
      if (TRANSIENT.has(res.status) && attempt < retries.length) {
        await res.body?.cancel().catch(() => {});
        await sleep(retries[attempt] as number, signal);
        continue;
      }
      const text = await readCapped(res, MAX_BODY_BYTES, `${method} ${route}`);
      if (!res.ok && !options.accept?.includes(res.status)) throw refusal(res, text);
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new CliError(`${method} ${route}: the server answered ${res.status} with something that is not JSON`);
      }
    }
  }

  /**
   * The raw response (for streams); a redirect is an error naming where it
   * points (fetch would follow it and turn a POST into a GET).
   */
  async send(method: string, route: string, options: RequestOptions & { headers?: Record<string, string> } = {}) {
    const url = new URL(this.url + route);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== null && value !== false) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
      'user-agent': `pier-cli/${this.options.cliVersion}`,
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
        redirect: 'manual',
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw unreachable(this.url, err);
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => {});
      const location = res.headers.get('location');
      throw new CliError(
        `the server redirected to ${location ? printable(location).slice(0, 200) : 'elsewhere'}: log in with the URL it serves the API at`,
        EXIT.failure,
        'redirected',
      );
    }
    this.checkVersion(res);
    return res;
  }

  /**
   * Reads a Server-Sent Events stream, calling `onEvent` for each event,
   * until the server sends `end` or `signal` aborts (then it returns: the
   * caller checks `signal.aborted`). A dropped or silent connection (no byte
   * for 45 s; the server sends a heartbeat every 15 s), a clean close without
   * `end` and a 502/503/504 are resumed with Last-Event-ID; after 6 failures
   * in a row it throws.
   */
  async stream(
    route: string,
    query: Query,
    /** Returns (or resolves to) `'stop'` to end the stream early. */
    onEvent: (event: StreamEvent) => unknown,
    signal?: AbortSignal,
  ): Promise<void> {
    let lastId: string | undefined;
    let failures = 0;
    let resume = query;
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastId) headers['last-event-id'] = lastId;
      let res: Response;
      try {
        res = await this.send('GET', route, { query: resume, signal, headers });
      } catch (err) {
        // Aborted: the caller stopped listening (Ctrl-C); it knows, and says what goes on.
        if (signal?.aborted) return;
        if (++failures > 5 || !(err instanceof CliError)) throw err;
        await sleep(500 * failures, signal);
        continue;
      }
      if (TRANSIENT.has(res.status) && failures < 5) {
        failures++;
        await res.body?.cancel().catch(() => {});
        await sleep(500 * failures, signal);
        continue;
      }
      if (!res.ok) throw refusal(res, await readCapped(res, MAX_BODY_BYTES, `GET ${route}`));
      const openedAt = Date.now();
      try {
        for await (const event of readEvents(res.body, signal)) {
          failures = 0;
          if (event.id) lastId = event.id;
          if ((await onEvent(event)) === 'stop') return;
          if (event.event === 'end') return;
        }
        if (signal?.aborted) return;
        // Closed without `end` (an api restart, an idle proxy): resume where it was.
        // A connection that lived a while counts as a fresh start (a quiet `logs -f` sees heartbeats only).
        failures = Date.now() - openedAt > 30_000 ? 1 : failures + 1;
      } catch (err) {
        if (signal?.aborted) return;
        failures = Date.now() - openedAt > 30_000 ? 1 : failures + 1;
        if (failures > 5) throw err instanceof CliError ? err : unreachable(this.url, err);
      }
      if (failures > 5) throw new CliError(`the stream from ${this.url} keeps closing`, EXIT.failure, 'unreachable');
      // A query's own `after` would win over Last-Event-ID on the server: move it to the last line seen.
      if (lastId && resume.after !== undefined) resume = { ...resume, after: lastId };
      await sleep(500 * failures, signal);
    }
  }

  private checkVersion(res: Response): void {
    const server = res.headers.get('x-pier-version');
    if (!server || this.warned || server === this.options.cliVersion) return;
    this.warned = true;
    this.options.onVersionMismatch?.(printable(server).slice(0, 40));
  }
}

/** The body as text, refusing past `max` bytes. */
async function readCapped(res: Response, max: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new CliError(`${what}: the answer is ${declared} bytes, more than the CLI reads (${max})`);
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > max) throw new CliError(`${what}: the answer is more than the CLI reads (${max} bytes)`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The server writes a heartbeat every 15 s: three missed ones mean a dead connection. */
const STREAM_IDLE_MS = 45_000;
/** An SSE line longer than this is not Pier's (its lines are at most 16 KiB of text, JSON-escaped). */
const MAX_EVENT_LINE = 4 * 1024 * 1024;

/** Parses an SSE body into events (blank line ends one; `:` lines are comments). */
export async function* readEvents(body: ReadableStream<Uint8Array> | null, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
  if (!body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  let event: StreamEvent = { event: 'message', data: '' };
  let hasData = false;
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', cancel, { once: true });
  let idle: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const { done, value } = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          idle = setTimeout(() => {
            cancel();
            reject(new Error(`no data for ${STREAM_IDLE_MS / 1000} s`));
          }, STREAM_IDLE_MS);
        }),
      ]);
      clearTimeout(idle);
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      if (buffer.length > MAX_EVENT_LINE) throw new CliError(`a streamed line is longer than ${MAX_EVENT_LINE} characters`);
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        if (line === '') {
          if (hasData) yield event;
          event = { event: 'message', data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
        else if (field === 'data') {
          event.data = hasData ? `${event.data}\n${value}` : value;
          hasData = true;
        }
      }
    }
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener('abort', cancel);
  }
}

function refusal(res: Response, text: string): CliError {
  let code: string | undefined;
  let message = `the server answered ${res.status}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.message) message = body.error.message;
    code = body.error?.code;
  } catch {
    // Not the API's error body (a proxy's page): the status says enough.
  }
  if (res.status === 401) message = `${message}: log in again with \`pier login\` or check PIER_TOKEN`;
  return new CliError(message, exitCodeForStatus(res.status), code);
}

function unreachable(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new CliError(`cannot reach ${url}: ${why}`, EXIT.failure, 'unreachable');
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

import { CliError, EXIT, exitCodeForStatus } from './cli-error.ts';

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

  post<T = any>(route: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', route, { body, signal });
  }

  patch<T = any>(route: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', route, { body });
  }

  put<T = any>(route: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', route, { body });
  }

  delete<T = any>(route: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', route, { query });
  }

  /** JSON in, JSON out; a refusal becomes a CliError with the API's message, code and the matching exit code. */
  async request<T = any>(method: string, route: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, route, options);
    const text = await res.text();
    if (!res.ok && !options.accept?.includes(res.status)) throw refusal(res, text);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`${method} ${route}: the server answered ${res.status} with something that is not JSON`);
    }
  }

  /** The raw response (for streams). Throws the API's refusal for a non-2xx status. */
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
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw unreachable(this.url, err);
    }
    this.checkVersion(res);
    return res;
  }

  /**
   * Reads a Server-Sent Events stream, calling `onEvent` for each event,
   * until the server ends it or `signal` aborts (then it returns: the caller
   * checks `signal.aborted`). A dropped connection is
   * resumed with Last-Event-ID (a few times, then it throws).
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
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastId) headers['last-event-id'] = lastId;
      let res: Response;
      try {
        res = await this.send('GET', route, { query, signal, headers });
      } catch (err) {
        // Aborted: the caller stopped listening (Ctrl-C); it knows, and says what goes on.
        if (signal?.aborted) return;
        if (++failures > 5) throw err;
        await sleep(500 * failures, signal);
        continue;
      }
      if (!res.ok) throw refusal(res, await res.text());
      try {
        for await (const event of readEvents(res.body, signal)) {
          failures = 0;
          if (event.id) lastId = event.id;
          if ((await onEvent(event)) === 'stop') return;
          if (event.event === 'end') return;
        }
        return;
      } catch (err) {
        if (signal?.aborted) return;
        if (++failures > 5) throw err instanceof CliError ? err : unreachable(this.url, err);
        await sleep(500 * failures, signal);
      }
    }
  }

  private checkVersion(res: Response): void {
    const server = res.headers.get('x-pier-version');
    if (!server || this.warned || server === this.options.cliVersion) return;
    this.warned = true;
    this.options.onVersionMismatch?.(server);
  }
}

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
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
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

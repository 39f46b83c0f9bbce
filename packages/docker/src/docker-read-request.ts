/**
 * The one Engine call a log reader makes (`ContainerOperations.containerLogs`:
 * `GET /containers/{id}/logs?…`), recognised exactly, so that a socket that
 * forwards only what this accepts lets its clients read logs and nothing
 * else: no create, exec, attach, archive, image, build or volume call, and no
 * other spelling of a path that the Engine's router might clean up into one
 * (`..`, `%2F`, `//`, a version prefix).
 */

/** A container id (64 hex digits, or a prefix) or name, as the Engine accepts them: no `/`, `%` or leading dot. */
const CONTAINER = '[A-Za-z0-9][A-Za-z0-9_.-]{0,127}';
const LOGS_PATH = new RegExp(`^/containers/(${CONTAINER})/logs$`);
/** The query parameters of the Engine's logs endpoint; anything else is refused, not dropped. */
const LOG_PARAMETERS = new Set(['follow', 'stdout', 'stderr', 'since', 'until', 'timestamps', 'tail', 'details']);
/** Booleans, `all`, whole numbers, and seconds.nanoseconds for since/until. */
const LOG_VALUE = /^[A-Za-z0-9.-]{0,40}$/;
/** Longer targets are never a log reader's. */
const MAX_TARGET = 1024;

/** An allowed request: whose logs, and the query to send the Engine (rebuilt from the checked parameters). */
export interface LogsRequest {
  container: string;
  query: string;
}

/** Why a request is refused, in words that name what was asked. */
export interface RefusedRequest {
  refused: string;
}

/** `method` and request target (`req.url`: path and query) → the logs call it is, or why it is refused. */
export function logsRequest(method: string | undefined, target: string | undefined): LogsRequest | RefusedRequest {
  const shown = `${method ?? '?'} ${(target ?? '').split('?')[0]?.slice(0, 200)}`;
  const refused = { refused: `${shown} is refused: this socket only reads the logs of Pier's containers` };
  if (method !== 'GET' || !target || target.length > MAX_TARGET) return refused;
  const mark = target.indexOf('?');
  const path = mark === -1 ? target : target.slice(0, mark);
  const match = LOGS_PATH.exec(path);
  if (!match) return refused;
  const query = logQuery(mark === -1 ? '' : target.slice(mark + 1));
  if (query === null) return { refused: `${shown}: only the logs endpoint's own parameters are accepted` };
  return { container: match[1] as string, query };
}

/** The query rebuilt from known parameters with plain values; null when anything else is in it. */
function logQuery(raw: string): string | null {
  if (raw.includes('%') || raw.includes('+')) return null;
  const parameters = new URLSearchParams(raw);
  const kept = new URLSearchParams();
  for (const [key, value] of parameters) {
    if (!LOG_PARAMETERS.has(key) || !LOG_VALUE.test(value) || kept.has(key)) return null;
    kept.append(key, value);
  }
  return kept.toString();
}

import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isWebSocketUpgrade } from './upgrade-requests.ts';

const websocket = { connection: 'Upgrade', upgrade: 'websocket' };

describe('isWebSocketUpgrade', () => {
  it.each<[string, string, IncomingHttpHeaders, boolean]>([
    ['a WebSocket handshake', 'GET', websocket, true],
    ['Upgrade in any case', 'GET', { connection: 'upgrade', upgrade: 'WebSocket' }, true],
    ['upgrade among other Connection tokens', 'GET', { connection: 'keep-alive, Upgrade', upgrade: 'websocket' }, true],
    ['h2c', 'GET', { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c' }, false],
    ['a made-up protocol', 'GET', { connection: 'Upgrade', upgrade: 'foo' }, false],
    ['websocket among other protocols', 'GET', { connection: 'Upgrade', upgrade: 'foo, websocket' }, false],
    ['no Connection: upgrade', 'GET', { connection: 'keep-alive', upgrade: 'websocket' }, false],
    ['no Connection at all', 'GET', { upgrade: 'websocket' }, false],
    ['Connection naming upgrade only as part of a token', 'GET', { connection: 'upgrades', upgrade: 'websocket' }, false],
    ['a POST', 'POST', websocket, false],
    ['a body by length', 'GET', { ...websocket, 'content-length': '5' }, false],
    ['a chunked body', 'GET', { ...websocket, 'transfer-encoding': 'chunked' }, false],
    ['an empty body', 'GET', { ...websocket, 'content-length': '0' }, true],
  ])('%s: %s', (_name, method, headers, expected) => {
    expect(isWebSocketUpgrade({ method, headers })).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { logsRequest } from './docker-read-request.ts';

const ID = 'f'.repeat(64);

describe('logsRequest', () => {
  it.each([
    // What DockerRuntime.containerLogs sends (dockerode drops false values from the query).
    { method: 'GET', target: `/containers/${ID}/logs?stdout=true&stderr=true&timestamps=true&tail=all`, container: ID },
    {
      method: 'GET',
      target: '/containers/web-1/logs?stdout=true&stderr=true&timestamps=true&follow=true&tail=100&since=1712345678.000000000',
      container: 'web-1',
    },
    { method: 'GET', target: '/containers/pier-app_1.web/logs', container: 'pier-app_1.web' },
  ])('allows $method $target', ({ method, target, container }) => {
    const allowed = logsRequest(method, target);
    expect(allowed).toEqual({ container, query: target.split('?')[1] ?? '' });
  });

  it.each([
    // Every other method on the logs path.
    ['POST', `/containers/${ID}/logs`],
    ['HEAD', `/containers/${ID}/logs`],
    ['DELETE', `/containers/${ID}/logs`],
    ['get', `/containers/${ID}/logs`],
    [undefined, `/containers/${ID}/logs`],
    // Calls that run, change or copy out of containers.
    ['POST', '/containers/create'],
    ['POST', '/containers/create?name=x'],
    ['DELETE', `/containers/${ID}`],
    ['POST', `/containers/${ID}/exec`],
    ['POST', `/containers/${ID}/start`],
    ['POST', `/containers/${ID}/attach?stream=1&stdin=1`],
    ['GET', `/containers/${ID}/attach/ws`],
    ['GET', `/containers/${ID}/archive?path=/etc`],
    ['GET', `/containers/${ID}/export`],
    ['GET', `/containers/${ID}/json`],
    ['GET', '/containers/json'],
    ['GET', '/containers/json?all=1'],
    // Images, builds, volumes, the daemon.
    ['GET', '/images/json'],
    ['POST', '/images/create?fromImage=alpine'],
    ['POST', '/build'],
    ['GET', '/volumes'],
    ['GET', '/info'],
    ['GET', '/_ping'],
    ['GET', '/exec/abc/json'],
    ['POST', '/exec/abc/start'],
    // Versioned paths: the Engine serves /v1.41/… as /…; only the plain form is a log reader's.
    ['GET', '/v1.41/containers/json'],
    ['GET', `/v1.41/containers/${ID}/logs`],
    // Traversal and spellings a router might clean up into another endpoint.
    ['GET', '/containers/../images/json'],
    ['GET', '/containers/../images/json/logs'],
    ['GET', '/containers/./logs'],
    ['GET', '/containers/..%2Fimages%2Fjson/logs'],
    ['GET', '/containers/x%2F..%2F..%2Fimages/logs'],
    ['GET', '/containers/%2e%2e/logs'],
    ['GET', '/containers//logs'],
    ['GET', `//containers/${ID}/logs`],
    ['GET', `/containers/${ID}/logs/`],
    ['GET', `/containers/${ID}//logs`],
    ['GET', `/containers/${ID}/logs/../exec`],
    ['GET', `/containers/.${ID}/logs`],
    ['GET', `/containers/${ID}/logs#x`],
    ['GET', `/containers/${ID}\\logs`],
    ['GET', `http://docker/containers/${ID}/logs`],
    ['GET', '*'],
    ['GET', ''],
    ['GET', undefined],
    // Queries with anything but the logs endpoint's own parameters and plain values.
    ['GET', `/containers/${ID}/logs?stdout=true&all=1`],
    ['GET', `/containers/${ID}/logs?tail=all&tail=10`],
    ['GET', `/containers/${ID}/logs?since=1%200`],
    ['GET', `/containers/${ID}/logs?since=1+0`],
    ['GET', `/containers/${ID}/logs?tail=${'9'.repeat(41)}`],
    ['GET', `/containers/${ID}/logs?tail=all&x=${'a'.repeat(1100)}`],
  ])('refuses %s %s', (method, target) => {
    const answer = logsRequest(method, target);
    expect(answer).toHaveProperty('refused');
    expect((answer as { refused: string }).refused).toMatch(/refused|only the logs endpoint/);
  });

  it('names what was refused, without the query', () => {
    expect(logsRequest('POST', '/containers/create?name=secret')).toEqual({
      refused: "POST /containers/create is refused: this socket only reads the logs of Pier's containers",
    });
  });
});

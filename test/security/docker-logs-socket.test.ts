import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_APP, type LogEntry, NotFoundError } from '@pier/core';
import { DockerReadSocket, DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeAppObjects } from '../builds/build-harness.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';

/**
 * The api's Docker socket under the systemd units: the worker serves a filter
 * of the Engine API that reads the logs of this installation's containers and
 * refuses everything else. Here it runs in front of the real Engine; the api's
 * own log reader (DockerRuntime.containerLogs) reads real containers through
 * it, and the calls that would make the socket root-equivalent (create, exec,
 * archive, images, versioned or traversing paths) get 403 from it, before the
 * Engine sees them.
 */

const run = randomBytes(3).toString('hex');
const appName = `logs-sock-${run}`;
const instance = `pier-logs-${run}`;
const engine = new DockerRuntime();
const directory = mkdtempSync(join(tmpdir(), 'pier-logs-socket-'));
const socketPath = join(directory, 'run', 'docker-logs.sock');
const refusals: { method: string; path: string; status: number }[] = [];
const filter = new DockerReadSocket({
  path: socketPath,
  dockerSocket: '/var/run/docker.sock',
  labels: { 'pier.instance': instance },
  onRefused: (refusal) => refusals.push(refusal),
});
const reader = new DockerRuntime({ socketPath });

/** A container of `labels` that prints `lines` (one each `gapMs`) and then waits. */
async function container(labels: Record<string, string>, lines: string[], gapMs = 0): Promise<string> {
  const script = lines.map((line) => `echo '${line}'; sleep ${gapMs / 1000}`).join('; ');
  const created = await engine.docker.createContainer({
    name: `${appName}-${randomBytes(3).toString('hex')}`,
    Image: LOCAL_IMAGES.procfile,
    Cmd: ['sh', '-c', `${script}; sleep 60`],
    Labels: { [LABEL_APP]: appName, 'pier.test': '1', ...labels },
    HostConfig: { NetworkMode: 'none', AutoRemove: false },
  });
  await created.start();
  return created.id;
}

async function read(id: string, options: Parameters<DockerRuntime['containerLogs']>[1] = {}): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for await (const entry of reader.containerLogs(id, options)) entries.push(entry);
  return entries;
}

/** A raw request on the filter's socket: status and body. */
function raw(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  await filter.start();
});

afterAll(async () => {
  await filter.stop();
  await removeAppObjects(engine, [appName]);
  rmSync(directory, { recursive: true, force: true });
}, 60_000);

/** Waits until the Engine has `count` lines of the container (read directly, not through the filter). */
async function untilLines(id: string, count: number): Promise<void> {
  const lines = async (): Promise<number> => {
    let n = 0;
    for await (const _ of engine.containerLogs(id, {})) n++;
    return n;
  };
  await expect.poll(lines, { timeout: 15_000 }).toBeGreaterThanOrEqual(count);
}

describe('the filtered Docker socket', () => {
  it('is a socket for its user and group only', () => {
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
  });

  it("reads the logs of this installation's containers with the api's own log reader, tail and follow", async () => {
    const id = await container({ 'pier.instance': instance }, ['one', 'two', 'three']);
    await untilLines(id, 3);
    expect((await read(id)).map((entry) => entry.line)).toEqual(['one', 'two', 'three']);
    expect((await read(id, { tail: 1 })).map((entry) => entry.line)).toEqual(['three']);
    // Timestamps come through (the reader asks for them), so `since` works.
    const [first] = await read(id, { tail: 1 });
    expect(first?.at).toBeInstanceOf(Date);

    // Follow streams: lines 400 ms apart arrive apart, not at the end.
    const ticking = await container({ 'pier.instance': instance }, ['t1', 't2', 't3', 't4'], 400);
    const controller = new AbortController();
    const received: { line: string; ms: number }[] = [];
    const started = Date.now();
    const deadline = setTimeout(() => controller.abort(), 10_000);
    for await (const entry of reader.containerLogs(ticking, { follow: true, signal: controller.signal })) {
      received.push({ line: entry.line, ms: Date.now() - started });
      if (received.length === 4) controller.abort();
    }
    clearTimeout(deadline);
    expect(received.map((r) => r.line)).toEqual(['t1', 't2', 't3', 't4']);
    expect((received[3]?.ms ?? 0) - (received[0]?.ms ?? 0)).toBeGreaterThan(600);
  }, 60_000);

  it("refuses the logs of a container of another installation or not Pier's; a missing one is NotFoundError", async () => {
    const other = await container({ 'pier.instance': `${instance}-other` }, ['not yours']);
    // This installation's label, but no pier.app: not a container Pier made (removed below, as removeAppObjects cannot find it).
    const unlabelled = await engine.docker.createContainer({
      name: `${appName}-bare-${run}`,
      Image: LOCAL_IMAGES.procfile,
      Cmd: ['echo', 'bare'],
      Labels: { 'pier.test': '1', 'pier.instance': instance },
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await expect(read(other)).rejects.toThrow(/HTTP code 403.*not one of this Pier installation's/);
      await expect(read(unlabelled.id)).rejects.toThrow(/HTTP code 403/);
      await expect(read(`${appName}-missing`)).rejects.toThrow(NotFoundError);
    } finally {
      await unlabelled.remove({ force: true });
    }
  });

  it('refuses creating a container (403, before the Engine sees it), and every other call', async () => {
    const name = `${appName}-created-${run}`;
    const attempt = reader.docker.createContainer({
      name,
      Image: LOCAL_IMAGES.procfile,
      Labels: { [LABEL_APP]: appName },
      HostConfig: { Binds: ['/:/host'], Privileged: true },
    });
    await expect(attempt).rejects.toMatchObject({ statusCode: 403 });
    await expect(attempt).rejects.toThrow(/POST \/containers\/create is refused/);
    await expect(engine.docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const id = await container({ 'pier.instance': instance }, ['x']);
    await expect(reader.exec(id, ['id'])).rejects.toThrow(/403/);
    await expect(reader.listContainers({ [LABEL_APP]: appName })).rejects.toThrow(/403/);
    await expect(reader.listImages({})).rejects.toThrow(/403/);
    for (const [method, path] of [
      ['GET', `/containers/${id}/archive?path=/etc`],
      ['POST', `/containers/${id}/attach?stream=1&stdin=1&stdout=1`],
      ['GET', `/containers/${id}/json`],
      ['DELETE', `/containers/${id}?force=1`],
      ['GET', `/v1.41/containers/${id}/logs?stdout=1`],
      ['GET', '/v1.41/containers/json'],
      ['GET', '/containers/../images/json'],
      ['GET', '/containers/..%2Fimages%2Fjson/logs'],
      ['POST', '/build'],
      ['GET', '/info'],
    ] as const) {
      expect((await raw(method, path)).status, `${method} ${path}`).toBe(403);
    }
    // The container is still there and running: the DELETE never reached the Engine.
    expect((await engine.inspectContainer(id))?.status).toBe('running');
    expect(refusals.some((r) => r.method === 'POST' && r.path === '/containers/create')).toBe(true);
  });

  it('stops: the socket goes; another start while one serves the path is refused', async () => {
    const second = new DockerReadSocket({ path: socketPath, dockerSocket: '/var/run/docker.sock', labels: {} });
    await expect(second.start()).rejects.toThrow(/another process serves/);
    const path = join(directory, 'other.sock');
    const third = new DockerReadSocket({ path, dockerSocket: '/var/run/docker.sock', labels: {} });
    await third.start();
    expect(existsSync(path)).toBe(true);
    await third.stop();
    expect(existsSync(path)).toBe(false);
  });
});

import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

/** GET /version, GET /whoami and GET /cli: what the `pier` CLI asks before anything else. */

const folder = mkdtempSync(join(tmpdir(), 'pier-cli-file-'));
const bundle = join(folder, 'pier.cjs');
const version = (await import('../../package.json', { with: { type: 'json' } })).default.version;
let api: TestApi;
let bare: TestApi;

beforeAll(async () => {
  writeFileSync(bundle, '#!/usr/bin/env node\nconsole.log("first");\n');
  [api, bare] = await Promise.all([createTestApi({ cliBundlePath: bundle }), createTestApi()]);
});

afterAll(async () => {
  await Promise.all([api?.close(), bare?.close()]);
  rmSync(folder, { recursive: true, force: true });
});

describe('meta routes', () => {
  it("GET /version answers the repository's version without a token, and every answer carries it", async () => {
    const res = await api.request({ method: 'GET', url: '/version', token: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ version, cli: '/cli' });
    const refused = await api.request({ method: 'GET', url: '/apps', token: 'not-a-token' });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['x-pier-version']).toBe(version);
  });

  it('GET /whoami says admin, or an app token and its app; without a token it is 401', async () => {
    expect((await api.request({ method: 'GET', url: '/whoami' })).json()).toEqual({
      role: 'admin',
      app: null,
      tokenId: null,
      version,
    });
    const created = await api.request({ method: 'POST', url: '/apps', payload: { name: 'whoami-app' } });
    expect(created.statusCode, created.body).toBe(201);
    const token = await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ci', app: 'whoami-app' } });
    const { token: appToken, id } = token.json();
    const who = await api.request({ method: 'GET', url: '/whoami', token: appToken });
    expect(who.json()).toEqual({ role: 'app', app: 'whoami-app', tokenId: id, version });
    expect((await api.request({ method: 'GET', url: '/whoami', token: null })).statusCode).toBe(401);
  });

  it('GET /cli serves the file as it is on disk, with an ETag that changes when the file does', async () => {
    const first = await api.request({ method: 'GET', url: '/cli', token: null });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(first.body).toContain('console.log("first")');
    const etag = first.headers.etag as string;
    const again = await api.request({ method: 'GET', url: '/cli', token: null, headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    writeFileSync(bundle, '#!/usr/bin/env node\nconsole.log("second");\n');
    utimesSync(bundle, new Date(), new Date(Date.now() + 5000));
    const rebuilt = await api.request({ method: 'GET', url: '/cli', token: null, headers: { 'if-none-match': etag } });
    expect(rebuilt.statusCode).toBe(200);
    expect(rebuilt.body).toContain('second');
    expect(rebuilt.headers.etag).not.toBe(etag);
  });

  it('GET /cli without a built CLI is 503 cli_not_built, saying what to run', async () => {
    const res = await bare.request({ method: 'GET', url: '/cli', token: null });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toEqual({ code: 'cli_not_built', message: expect.stringContaining('npm run build:cli') });
  });
});

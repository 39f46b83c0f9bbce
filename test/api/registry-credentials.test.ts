import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';

let api: TestApi;
let appToken: string;
const PASSWORD = 'ghp_registryToken0123456789';
const DIGEST = `sha256:${'0f'.repeat(32)}`;

beforeAll(async () => {
  api = await createTestApi();
  for (const name of ['shipped', 'other']) {
    expect((await api.request({ method: 'POST', url: '/apps', payload: { name } })).statusCode).toBe(201);
  }
  appToken = (await api.request({ method: 'POST', url: '/tokens', payload: { name: 'ci', app: 'shipped' } })).json().token;
});
afterAll(async () => api.close());

const put = (payload: object, token?: string) =>
  api.request({ method: 'PUT', url: '/apps/shipped/registry-credentials', payload, ...(token ? { token } : {}) });

describe('registry credentials', () => {
  it('are stored sealed, shown as server and user only, and can be forgotten', async () => {
    expect((await put({ server: 'https://GHCR.io/', username: 'acme-ci', password: PASSWORD })).statusCode).toBe(204);
    const shown = await api.request({ method: 'GET', url: '/apps/shipped/registry-credentials' });
    expect(shown.json()).toEqual({ server: 'ghcr.io', username: 'acme-ci' });
    const app = (await api.request({ method: 'GET', url: '/apps/shipped' })).json();
    expect(app.registryCredentials).toBe(true);
    expect(JSON.stringify(app)).not.toContain(PASSWORD);
    const [row] = await api.database.sql`select registry_credentials_ciphertext as c from apps where name = 'shipped'`;
    expect(String(row?.c)).not.toContain(PASSWORD);
    expect(api.logs.join('')).not.toContain(PASSWORD);

    expect((await api.request({ method: 'DELETE', url: '/apps/shipped/registry-credentials' })).statusCode).toBe(204);
    expect((await api.request({ method: 'GET', url: '/apps/shipped' })).json().registryCredentials).toBe(false);
    expectError(await api.request({ method: 'GET', url: '/apps/shipped/registry-credentials' }), 404, 'not_found');
  });

  it('are an admin’s to set, read and remove', async () => {
    expectError(await put({ server: 'ghcr.io', username: 'x', password: 'y' }, appToken), 403, 'forbidden');
    expectError(
      await api.request({ method: 'GET', url: '/apps/shipped/registry-credentials', token: appToken }),
      403,
      'forbidden',
    );
    expectError(
      await api.request({ method: 'DELETE', url: '/apps/shipped/registry-credentials', token: appToken }),
      403,
      'forbidden',
    );
  });

  it.each([
    [{ server: 'ghcr.io/acme', username: 'u', password: 'p' }, 'body.server'],
    [{ server: 'ghcr.io', username: 'has space', password: 'p' }, 'body.username'],
    [{ server: 'ghcr.io', username: 'u', password: '' }, 'body.password'],
    [{ server: 'ghcr.io', username: 'u' }, 'body.password'],
  ])('refuse %j, naming %s', async (payload, field) => {
    const message = expectError(await put(payload), 422, 'validation_failed', field);
    expect(message).not.toContain(PASSWORD);
  });
});

describe('POST …/deployments { image }', () => {
  const deploy = (payload: object, token?: string) =>
    api.request({ method: 'POST', url: '/apps/other/environments/staging/deployments', payload, ...(token ? { token } : {}) });

  it('queues a pull of the image, for an app without a repository too', async () => {
    const image = `ghcr.io/acme/web:1.4@${DIGEST}`;
    const res = await deploy({ image });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ state: 'queued', trigger: 'manual', prebuiltImage: image, ref: null, commit: null });
    const [row] = await api.database.sql`select image, git_ref from deployments where id = ${res.json().id}`;
    expect(row).toEqual({ image, git_ref: null });
  });

  it.each([
    ['ghcr.io/acme/web 1.4', 'whitespace'],
    ['ghcr.io/acme/web\n', 'whitespace'],
    ['ghcr.io/Acme/web', 'name component "Acme"'],
    ['ghcr.io/acme/web@sha256:123', 'digest'],
    ['', 'must not be empty'],
  ])('refuses the image %j, naming body.image', async (image, problem) => {
    const message = expectError(await deploy({ image }), 422, 'validation_failed', 'body.image');
    expect(message).toContain(problem);
  });

  describe('from a registry on this host or a private network', () => {
    const deployShipped = (image: string, token?: string) =>
      api.request({
        method: 'POST',
        url: '/apps/shipped/environments/staging/deployments',
        payload: { image },
        ...(token ? { token } : {}),
      });
    const images = async () =>
      (await api.database.sql`select image from deployments where image is not null`).map((r) => r.image as string);

    it.each([
      ['127.0.0.1:4000/x', 'is a loopback address'],
      ['169.254.169.254/x', 'is a link-local address'],
      ['10.0.0.5:5000/x', 'is a private address'],
      ['192.168.1.2/team/web:1', 'is a private address'],
      ['localhost:5000/x', 'is this machine (localhost)'],
      ['0.0.0.0:5000/x', 'is the unspecified address'],
      ['127.1:5000/x', 'is a loopback address'],
    ])('refuses an app token %s (403 naming image and why), queueing nothing', async (image, reason) => {
      const message = expectError(await deployShipped(image, appToken), 403, 'forbidden', 'image: the registry');
      expect(message).toContain(reason);
      expect(message).toContain('only an admin token');
      expect(await images()).not.toContain(image);
    });

    it('lets an app token pull from a public registry, and an admin from its own on loopback', async () => {
      expect((await deployShipped('ghcr.io/acme/web:2', appToken)).statusCode).toBe(202);
      const admin = await deployShipped('127.0.0.1:4000/x');
      expect(admin.statusCode, admin.body).toBe(202);
      expect(admin.json()).toMatchObject({ prebuiltImage: '127.0.0.1:4000/x' });
    });
  });

  it('refuses an image together with a branch, tag or commit', async () => {
    for (const other of [{ branch: 'main' }, { tag: 'v1' }, { commit: 'a'.repeat(40) }]) {
      expectError(await deploy({ image: 'ghcr.io/acme/web:1', ...other }), 422, 'validation_failed', 'body.image');
    }
  });
});

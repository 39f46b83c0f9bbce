import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, ROOMY_QUOTAS, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';

let api: TestApi;
beforeAll(async () => {
  // Many environments in one app: the quotas (tested in test/security/quotas.test.ts) are set out of the way.
  api = await createTestApi({ quotas: ROOMY_QUOTAS });
});
afterAll(async () => api.close());

/** `path: null`: automatic (/health when it answers 2xx, else / below 500). */
const DEFAULT_HEALTH = { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 };
const REPOSITORY = { fullName: 'acme/shop', cloneUrl: 'https://github.example/acme/shop.git' };

async function createApp(payload: object) {
  const res = await api.request({ method: 'POST', url: '/apps', payload });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function send(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return api.request({ method, url, payload });
}

describe('apps', () => {
  it('creates an app from a repository with production and staging', async () => {
    const app = await createApp({ name: 'shop', repository: REPOSITORY });
    expect(internalFields(app)).toEqual([]);
    expect(app).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'shop',
      repository: REPOSITORY,
      defaultBranch: 'main',
      dockerfilePath: 'Dockerfile',
      configPath: 'pier.json',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      environments: [
        {
          id: expect.any(String),
          name: 'production',
          branch: null,
          tagPattern: 'v*',
          replicas: 1,
          healthCheck: DEFAULT_HEALTH,
          configVersion: 0,
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
        expect.objectContaining({ name: 'staging', branch: 'main', tagPattern: null, replicas: 1, healthCheck: DEFAULT_HEALTH }),
      ],
    });
  });

  it('creates an app without a repository', async () => {
    const app = await createApp({ name: 'scratch' });
    expect(app.repository).toBeNull();
    expect(app.environments.map((e: { name: string }) => e.name)).toEqual(['production', 'staging']);
  });

  it('points staging at the default branch it is given', async () => {
    const app = await createApp({
      name: 'develop-first',
      defaultBranch: 'develop',
      dockerfilePath: 'docker/Dockerfile.prod',
      configPath: 'deploy/pier.json',
    });
    expect(app).toMatchObject({
      defaultBranch: 'develop',
      dockerfilePath: 'docker/Dockerfile.prod',
      configPath: 'deploy/pier.json',
    });
    const staging = app.environments.find((e: { name: string }) => e.name === 'staging');
    const production = app.environments.find((e: { name: string }) => e.name === 'production');
    expect(staging).toMatchObject({ branch: 'develop', tagPattern: null });
    expect(production).toMatchObject({ branch: null, tagPattern: 'v*' });
  });

  it('accepts the clone URL forms git understands', async () => {
    const urls = ['git@github.com:acme/shop.git', 'ssh://git@host/acme/shop.git', 'file:///srv/git/shop.git', 'git://host/shop'];
    for (const [i, cloneUrl] of urls.entries()) {
      const app = await createApp({ name: `clone-${i}`, repository: { fullName: 'acme/shop', cloneUrl } });
      expect(app.repository.cloneUrl).toBe(cloneUrl);
    }
  });

  it('lists apps by name, without their environments', async () => {
    await createApp({ name: 'zebra' });
    await createApp({ name: 'alpha' });
    const res = await send('GET', '/apps');
    expect(res.statusCode).toBe(200);
    const names = res.json().apps.map((a: { name: string }) => a.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['alpha', 'zebra']));
    expect(res.json().apps[0]).not.toHaveProperty('environments');
  });

  it('shows an app with its environments', async () => {
    // A webhook secret, when the app has one, is shown once at creation only.
    const { webhookSecret: _, ...created } = await createApp({ name: 'shown', repository: REPOSITORY });
    const res = await send('GET', '/apps/shown');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
  });

  it('patches the repository, default branch and Dockerfile path', async () => {
    const created = await createApp({ name: 'patched' });
    const res = await send('PATCH', '/apps/patched', {
      repository: REPOSITORY,
      defaultBranch: 'trunk',
      dockerfilePath: 'ops/Dockerfile',
    });
    expect(res.statusCode).toBe(200);
    const patched = res.json();
    expect(patched).toMatchObject({ repository: REPOSITORY, defaultBranch: 'trunk', dockerfilePath: 'ops/Dockerfile' });
    expect(patched.createdAt).toBe(created.createdAt);
    expect(Date.parse(patched.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt));
    expect((await send('GET', '/apps/patched')).json()).toMatchObject(patched);

    const cleared = (await send('PATCH', '/apps/patched', { repository: null })).json();
    expect(cleared).toMatchObject({ repository: null, defaultBranch: 'trunk', dockerfilePath: 'ops/Dockerfile' });
  });

  it('deletes an app with its environments, variables and tokens', async () => {
    const app = await createApp({ name: 'doomed' });
    const preview = (await send('POST', '/apps/doomed/environments', { name: 'preview' })).json();
    const envIds = [...app.environments.map((e: { id: string }) => e.id), preview.id];
    for (const env of ['production', 'staging', 'preview']) {
      await send('PATCH', `/apps/doomed/environments/${env}/variables`, { set: { A: '1', B: '2' } });
    }
    await send('POST', '/tokens', { name: 'doomed', app: 'doomed' });
    expect(await rowsOf(app.id, envIds)).toEqual({ environments: 3, variables: 6, tokens: 1 });

    const res = await send('DELETE', '/apps/doomed');
    // No worker here to remove its images and say how much was freed: accepted, not done.
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ app: 'doomed', imagesRemoved: null, freedBytes: null });
    expect(await rowsOf(app.id, envIds)).toEqual({ environments: 0, variables: 0, tokens: 0 });
    expectError(await send('GET', '/apps/doomed'), 404, 'not_found', 'doomed');
    expectError(await send('DELETE', '/apps/doomed'), 404, 'not_found', 'doomed');
    expect((await send('GET', '/apps')).json().apps.map((a: { name: string }) => a.name)).not.toContain('doomed');
  });

  it('lets a deleted app’s name be used again, from scratch', async () => {
    await createApp({ name: 'reborn' });
    await send('PATCH', '/apps/reborn/environments/production/variables', { set: { OLD: '1' } });
    await send('DELETE', '/apps/reborn');
    const again = await createApp({ name: 'reborn' });
    expect(again.environments.map((e: { configVersion: number }) => e.configVersion)).toEqual([0, 0]);
    expect((await send('GET', '/apps/reborn/environments/production/variables')).json().variables).toEqual([]);
  });
});

describe('environments', () => {
  beforeAll(async () => {
    await createApp({ name: 'envs', defaultBranch: 'main' });
  });

  it('creates a custom environment with its settings, defaulting the rest', async () => {
    const res = await send('POST', '/apps/envs/environments', {
      name: 'preview',
      branch: 'feature/login',
      replicas: 2,
      healthCheck: { path: '/up', intervalMs: 1000 },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      id: expect.any(String),
      name: 'preview',
      branch: 'feature/login',
      tagPattern: null,
      replicas: 2,
      port: null,
      healthCheck: { ...DEFAULT_HEALTH, path: '/up', intervalMs: 1000 },
      drainTimeoutMs: 30_000,
      waitForChecks: null,
      requiredChecks: null,
      checksTimeoutMs: 1_800_000,
      health: 'ok',
      configVersion: 0,
      pullRequest: null,
      fromFork: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('creates an environment with only a name', async () => {
    const res = await send('POST', '/apps/envs/environments', { name: 'qa' });
    expect(res.json()).toMatchObject({ name: 'qa', branch: null, tagPattern: null, replicas: 1, healthCheck: DEFAULT_HEALTH });
  });

  it('lists environments by name and shows one', async () => {
    await send('POST', '/apps/envs/environments', { name: 'listed' });
    const { environments } = (await send('GET', '/apps/envs/environments')).json();
    const names = environments.map((e: { name: string }) => e.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['listed', 'production', 'staging']));

    const listed = environments.find((e: { name: string }) => e.name === 'listed');
    expect((await send('GET', '/apps/envs/environments/listed')).json()).toEqual(listed);
  });

  it('answers 409 to a duplicate environment, changing nothing', async () => {
    await send('POST', '/apps/envs/environments', { name: 'twice', replicas: 3 });
    const res = await send('POST', '/apps/envs/environments', { name: 'twice', replicas: 5 });
    expectError(res, 409, 'conflict', 'twice');
    expect((await send('GET', '/apps/envs/environments/twice')).json().replicas).toBe(3);
  });

  it('allows the same environment name in two apps', async () => {
    await createApp({ name: 'envs-two' });
    for (const app of ['envs', 'envs-two']) {
      expect((await send('POST', `/apps/${app}/environments`, { name: 'shared-name' })).statusCode).toBe(201);
    }
  });

  it('patches replicas, including scaling to zero', async () => {
    await send('POST', '/apps/envs/environments', { name: 'scaled' });
    for (const replicas of [20, 0, 3]) {
      const res = await send('PATCH', '/apps/envs/environments/scaled', { replicas });
      expect(res.statusCode).toBe(200);
      expect(res.json().replicas).toBe(replicas);
    }
    expect((await send('GET', '/apps/envs/environments/scaled')).json().replicas).toBe(3);
  });

  it('patches the health check field by field', async () => {
    await send('POST', '/apps/envs/environments', { name: 'checked' });
    await send('PATCH', '/apps/envs/environments/checked', { healthCheck: { path: '/ready?full=1', timeoutMs: 500 } });
    const res = await send('PATCH', '/apps/envs/environments/checked', {
      healthCheck: { intervalMs: 5000, healthyThreshold: 3, deadlineMs: 300_000 },
    });
    expect(res.json().healthCheck).toEqual({
      path: '/ready?full=1',
      intervalMs: 5000,
      timeoutMs: 500,
      healthyThreshold: 3,
      deadlineMs: 300_000,
    });
  });

  it('patches the trigger: branch, tag pattern, and clears them with null', async () => {
    await send('POST', '/apps/envs/environments', { name: 'triggered', branch: 'main' });
    const tagged = await send('PATCH', '/apps/envs/environments/triggered', { branch: null, tagPattern: 'release-*' });
    expect(tagged.json()).toMatchObject({ branch: null, tagPattern: 'release-*' });
    const none = await send('PATCH', '/apps/envs/environments/triggered', { tagPattern: null });
    expect(none.json()).toMatchObject({ branch: null, tagPattern: null });
  });

  it('does not change the config version on a settings change', async () => {
    await send('POST', '/apps/envs/environments', { name: 'versioned' });
    await send('PATCH', '/apps/envs/environments/versioned/variables', { set: { A: '1' } });
    const res = await send('PATCH', '/apps/envs/environments/versioned', { replicas: 4 });
    expect(res.json().configVersion).toBe(1);
  });

  it('deletes a custom environment with its variables', async () => {
    const env = (await send('POST', '/apps/envs/environments', { name: 'temporary' })).json();
    await send('PATCH', '/apps/envs/environments/temporary/variables', { set: { A: '1' } });
    const res = await send('DELETE', '/apps/envs/environments/temporary');
    expect(res.statusCode).toBe(204);
    expectError(await send('GET', '/apps/envs/environments/temporary'), 404, 'not_found', 'temporary');
    expectError(await send('DELETE', '/apps/envs/environments/temporary'), 404, 'not_found', 'temporary');
    const variables = await api.database.sql`select key from variables where environment_id = ${env.id}`;
    expect(variables).toHaveLength(0);
  });

  it('deletes staging but never production', async () => {
    await createApp({ name: 'envs-protected' });
    expect((await send('DELETE', '/apps/envs-protected/environments/staging')).statusCode).toBe(204);
    expectError(await send('DELETE', '/apps/envs-protected/environments/production'), 409, 'conflict', 'production');
    const { environments } = (await send('GET', '/apps/envs-protected/environments')).json();
    expect(environments.map((e: { name: string }) => e.name)).toEqual(['production']);
  });
});

describe('names that would clash across apps', () => {
  it('two apps never share a network or a hostname: the later one is refused, naming the other', async () => {
    await createApp({ name: 'clash' });
    expect((await send('POST', '/apps/clash/environments', { name: 'b-c' })).statusCode).toBe(201);
    await createApp({ name: 'clash-b' });
    // clash-b/c would be pier-clash-b-c and clash-b-c.<base>, like clash/b-c.
    const env = await send('POST', '/apps/clash-b/environments', { name: 'c' });
    expectError(env, 409, 'conflict', 'clash-b/c would use the network pier-clash-b-c, which clash/b-c already has');
    // clash-staging's production would be served at clash-staging.<base>, clash's staging.
    const app = await send('POST', '/apps', { name: 'clash-staging' });
    expectError(
      app,
      409,
      'conflict',
      'app clash-staging would use the hostname clash-staging.<base domain>, which clash/staging',
    );
    expect((await send('GET', '/apps/clash-staging')).statusCode).toBe(404);
    // Once clash/b-c is gone, the name is free.
    expect((await send('DELETE', '/apps/clash/environments/b-c')).statusCode).toBe(204);
    expect((await send('POST', '/apps/clash-b/environments', { name: 'c' })).statusCode).toBe(201);
  });

  it('an environment that clashed before names were kept (its columns null) still holds the names it uses', async () => {
    await createApp({ name: 'legacy' });
    expect((await send('POST', '/apps/legacy/environments', { name: 'b-c' })).statusCode).toBe(201);
    // As migration 0007 leaves the newer of two environments that already clashed.
    await api.database.sql`update environments set slug = null, hostname_label = null where name = 'b-c'
      and app_id = (select id from apps where name = 'legacy')`;
    await createApp({ name: 'legacy-b' });
    const env = await send('POST', '/apps/legacy-b/environments', { name: 'c' });
    expectError(env, 409, 'conflict', 'legacy-b/c would use the network pier-legacy-b-c, which legacy/b-c already has');
    expectError(await send('POST', '/apps', { name: 'legacy-b-c' }), 409, 'conflict', 'which legacy/b-c already has');
  });
});

describe('default branch', () => {
  it('moves environments that followed the old default branch, and only those', async () => {
    await api.request({ method: 'POST', url: '/apps', payload: { name: 'branchy', defaultBranch: 'main' } });
    await api.request({ method: 'POST', url: '/apps/branchy/environments', payload: { name: 'qa', branch: 'qa' } });
    const res = await api.request({ method: 'PATCH', url: '/apps/branchy', payload: { defaultBranch: 'trunk' } });
    expect(res.statusCode).toBe(200);
    const envs = (await api.request({ method: 'GET', url: '/apps/branchy/environments' })).json().environments;
    const branches = Object.fromEntries(envs.map((e: { name: string; branch: string | null }) => [e.name, e.branch]));
    expect(branches).toEqual({ production: null, qa: 'qa', staging: 'trunk' });
  });
});

/** Keys of a response that look like storage internals (sealed values, hashes), at any depth. */
function internalFields(value: unknown, path = ''): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => [
    ...(/ciphertext|keyid|hash/i.test(key) ? [`${path}${key}`] : []),
    ...internalFields(inner, `${path}${key}.`),
  ]);
}

/** Rows that belong to an app, counted straight from the database. */
async function rowsOf(appId: string, environmentIds: string[]) {
  const [row] = await api.database.sql`
    select
      (select count(*)::int from environments where app_id = ${appId}) as environments,
      (select count(*)::int from variables where environment_id = any(${environmentIds}::uuid[])) as variables,
      (select count(*)::int from api_tokens where app_id = ${appId}) as tokens`;
  return row;
}

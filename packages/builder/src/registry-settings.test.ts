import { describe, expect, it } from 'vitest';
import { registryBuildArgs, registryCredentials } from './registry-settings.ts';

describe('registryBuildArgs', () => {
  const settings = {
    caBundle: 'pem',
    npmRegistry: 'https://npm.mirror.test/',
    corepackIntegrityKeys: '0',
    pipIndexUrl: 'http://pypi.mirror.test:8080/simple/',
    httpProxy: 'http://proxy.test:3128',
    httpsProxy: 'http://proxy.test:3128',
    noProxy: 'localhost',
  };

  it('gives the repository’s own Dockerfile the proxies only (Docker’s predefined args)', () => {
    expect(registryBuildArgs(settings, false)).toEqual({
      HTTP_PROXY: 'http://proxy.test:3128',
      http_proxy: 'http://proxy.test:3128',
      HTTPS_PROXY: 'http://proxy.test:3128',
      https_proxy: 'http://proxy.test:3128',
      NO_PROXY: 'localhost',
      no_proxy: 'localhost',
    });
  });

  it('gives generated builds the registries too; a plain-http pip index is trusted as given', () => {
    expect(registryBuildArgs(settings, true)).toMatchObject({
      npm_config_registry: 'https://npm.mirror.test/',
      YARN_NPM_REGISTRY_SERVER: 'https://npm.mirror.test/',
      COREPACK_NPM_REGISTRY: 'https://npm.mirror.test/',
      COREPACK_INTEGRITY_KEYS: '0',
      PIP_INDEX_URL: 'http://pypi.mirror.test:8080/simple/',
      PIP_TRUSTED_HOST: 'pypi.mirror.test',
    });
    expect(registryBuildArgs({ pipIndexUrl: 'https://pypi.mirror.test/simple/' }, true)).toEqual({
      PIP_INDEX_URL: 'https://pypi.mirror.test/simple/',
    });
  });

  it('gives nothing when nothing is set', () => {
    expect(registryBuildArgs({}, true)).toEqual({});
  });
});

describe('registryCredentials', () => {
  it('masks URLs that carry credentials, and their passwords', () => {
    expect(
      registryCredentials({
        npmRegistry: 'https://user:p%40ss@npm.mirror.test/',
        pipIndexUrl: 'https://pypi.mirror.test/simple/',
        httpsProxy: 'http://token@proxy.test:3128',
      }),
    ).toEqual(['https://user:p%40ss@npm.mirror.test/', 'p%40ss', 'p@ss', 'http://token@proxy.test:3128']);
  });
});

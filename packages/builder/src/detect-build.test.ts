import { BuildError, ValidationError } from '@pier/core';
import { describe, expect, it } from 'vitest';
import type { BuildOptions, BuildPlan, BuildSnapshot } from './build-plan.ts';
import { detectBuild, NOTHING_TO_BUILD, planBuildArgs } from './detect-build.ts';

const options: BuildOptions = {
  dockerfilePath: 'Dockerfile',
  images: { node: 'pier-local/node', python: 'pier-local/python', procfile: 'pier-local/debian:bookworm' },
};

const startScript = JSON.stringify({ name: 'x', scripts: { start: 'node index.js' } });
const withBuild = JSON.stringify({ scripts: { start: 'node dist/index.js', build: 'tsc' } });

function generated(snapshot: BuildSnapshot, opts: BuildOptions = options): Extract<BuildPlan, { kind: 'generated' }> {
  const plan = detectBuild(snapshot, opts);
  if (plan.kind !== 'generated') throw new Error(`expected a generated plan, got ${plan.kind}`);
  return plan;
}

function lines(snapshot: BuildSnapshot, opts?: BuildOptions): string[] {
  return generated(snapshot, opts).dockerfile.trimEnd().split('\n');
}

describe('detectBuild: which path', () => {
  it.each<[string, BuildSnapshot, string]>([
    ['Dockerfile wins over everything', { dockerfile: 'FROM x', packageJson: startScript, procfile: 'web: x' }, 'dockerfile'],
    ['package.json', { packageJson: startScript }, 'node'],
    ['package.json wins over requirements.txt', { packageJson: startScript, requirementsTxt: 'flask' }, 'node'],
    ['requirements.txt', { requirementsTxt: 'flask', procfile: 'web: flask run' }, 'python'],
    ['pyproject.toml', { pyprojectToml: '[project]\nname = "x"', procfile: 'web: x' }, 'python'],
    ['Procfile alone', { procfile: 'web: ./server' }, 'procfile'],
  ])('%s', (_, snapshot, expected) => {
    const plan = detectBuild(snapshot, options);
    expect(plan.kind === 'dockerfile' ? 'dockerfile' : plan.runtime).toBe(expected);
  });

  it('uses the configured Dockerfile path', () => {
    expect(detectBuild({ dockerfile: 'FROM x' }, { ...options, dockerfilePath: 'docker/Dockerfile.prod' })).toEqual({
      kind: 'dockerfile',
      dockerfilePath: 'docker/Dockerfile.prod',
    });
  });

  it('notes a configured Dockerfile that is missing', () => {
    const plan = generated({ packageJson: startScript }, { ...options, dockerfilePath: 'docker/Dockerfile' });
    expect(plan.notes[0]).toMatch(
      /^the configured Dockerfile docker\/Dockerfile was not found \(the app’s dockerfilePath, or build.dockerfile/,
    );
  });
});

describe('detectBuild: errors', () => {
  const noProcfileImage = { ...options, images: { ...options.images, procfile: null } };
  it.each<[string, BuildSnapshot, BuildOptions, typeof BuildError | typeof ValidationError, RegExp, string?]>([
    [
      'empty repository',
      {},
      options,
      BuildError,
      new RegExp(
        `^${NOTHING_TO_BUILD} at the root of the build context: set the app’s dockerfilePath, or build.dockerfile / build.context in pier.json$`,
      ),
    ],
    ['only a lockfile', { lockfile: 'package-lock.json' }, options, BuildError, /^no Dockerfile, package.json/],
    ['Node app without start', { packageJson: '{"name":"x"}' }, options, BuildError, /add a start script or a Procfile/],
    ['package.json not JSON', { packageJson: '{' }, options, ValidationError, /not valid JSON/, 'package.json'],
    ['package.json an array', { packageJson: '[]' }, options, ValidationError, /JSON object/, 'package.json'],
    ['main with a newline', { packageJson: '{"main":"a\\nRUN x"}' }, options, ValidationError, /control/, 'package.json'],
    ['Python without Procfile', { requirementsTxt: 'flask' }, options, BuildError, /add a Procfile with a web: line/],
    ['pyproject without a project', { pyprojectToml: '[tool.black]', procfile: 'web: x' }, options, BuildError, /requirements/],
    ['Procfile with only a release line', { procfile: 'release: ./migrate' }, options, BuildError, /no web: line/],
    ['Procfile, no image configured', { procfile: 'web: ./s' }, noProcfileImage, BuildError, /no base image is configured/],
    [
      'malformed Procfile',
      { packageJson: startScript, procfile: 'oops' },
      options,
      ValidationError,
      /Procfile line 1/,
      'Procfile',
    ],
    ['carriage return injection', { procfile: 'web: a\rRUN b' }, options, ValidationError, /control/, 'Procfile'],
    ['newline injection', { procfile: 'web: a\nRUN b' }, options, ValidationError, /line 2: expected/, 'Procfile'],
    [
      'bad Dockerfile path',
      { dockerfile: 'x' },
      { ...options, dockerfilePath: '../x' },
      ValidationError,
      /\.\./,
      'dockerfilePath',
    ],
    [
      'bad image',
      { packageJson: startScript },
      { ...options, images: { ...options.images, node: 'node\nRUN x' } },
      ValidationError,
      /image/,
      'images.node',
    ],
  ])('%s', (_, snapshot, opts, type, message, field) => {
    let error: unknown;
    try {
      detectBuild(snapshot, opts);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
    if (field) expect(error).toMatchObject({ field });
  });
});

describe('detectBuild: Node Dockerfile', () => {
  it('npm with package-lock.json: an install stage (manifests first, dev install, build, prune), then the app as an unprivileged user', () => {
    expect(lines({ packageJson: withBuild, lockfile: 'package-lock.json' })).toEqual([
      '# Generated by Pier for a Node.js app (npm, package-lock.json).',
      'FROM pier-local/node AS install',
      'ARG PIER_APP',
      'LABEL pier.app="$PIER_APP" pier.role=build-stage',
      'WORKDIR /app',
      'RUN mkdir -p /home/pier && chown 10001:10001 /app /home/pier',
      'ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false',
      'ARG npm_config_registry',
      'ARG YARN_NPM_REGISTRY_SERVER',
      'ARG COREPACK_NPM_REGISTRY',
      'ARG COREPACK_INTEGRITY_KEYS',
      'USER 10001:10001',
      'ENV HOME=/home/pier',
      'COPY --chown=10001:10001 package.json package-lock.json ./',
      'RUN npm ci --include=dev && npm cache clean --force',
      'COPY --chown=10001:10001 . .',
      'ENV NODE_ENV=production',
      'RUN npm run build',
      'RUN npm prune --omit=dev && npm cache clean --force',
      '',
      'FROM pier-local/node',
      'WORKDIR /app',
      'RUN mkdir -p /home/pier && chown 10001:10001 /app /home/pier',
      'ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false',
      'USER 10001:10001',
      'ENV HOME=/home/pier',
      'ENV NODE_ENV=production',
      'COPY --chown=10001:10001 --from=install /app /app',
      'CMD ["npm", "start"]',
    ]);
  });

  it('with a CA bundle: copied and used in the install stage only, and removed from the app before the final stage copies it', () => {
    const text = lines({ packageJson: startScript, lockfile: 'package-lock.json' }, { ...options, caBundle: true });
    const final = text.indexOf('FROM pier-local/node');
    expect(text.indexOf('COPY pier-build-ca.crt /etc/ssl/pier-build-ca.crt')).toBeLessThan(text.indexOf('USER 10001:10001'));
    expect(text).toContain('ENV NODE_EXTRA_CA_CERTS=/etc/ssl/pier-build-ca.crt');
    expect(text[final - 2]).toBe('RUN rm -f /app/pier-build-ca.crt');
    expect(text.slice(final).join('\n')).not.toMatch(/pier-build-ca|ARG /);
  });

  it('runs the build command after the build script and before the prune, JSON-quoted for /bin/sh -c', () => {
    const text = lines(
      { packageJson: withBuild, lockfile: 'package-lock.json' },
      { ...options, buildCommand: 'echo "a" && tsc' },
    );
    const command = text.indexOf('RUN ["/bin/sh", "-c", "echo \\"a\\" && tsc"]');
    expect(command).toBeGreaterThan(text.indexOf('RUN npm run build'));
    expect(command).toBeLessThan(text.indexOf('RUN npm prune --omit=dev && npm cache clean --force'));
  });

  it('yarn and pnpm: the final stage gets corepack and the package manager it downloaded', () => {
    const text = lines({ packageJson: startScript, lockfile: 'pnpm-lock.yaml' });
    const final = text.indexOf('FROM pier-local/node');
    expect(text.slice(final)).toContain('COPY --chown=10001:10001 --from=install /home/pier/.corepack /home/pier/.corepack');
    expect(text.filter((line) => line.includes('corepack enable'))).toHaveLength(2);
  });

  it.each<[string, BuildSnapshot, string[], string[]]>([
    [
      'npm-shrinkwrap.json uses npm ci',
      { lockfile: 'npm-shrinkwrap.json' },
      ['RUN npm ci --include=dev && npm cache clean --force'],
      [],
    ],
    [
      'no lockfile uses npm install',
      {},
      ['COPY --chown=10001:10001 package.json ./', 'RUN npm install --include=dev && npm cache clean --force'],
      [],
    ],
    ['no build script, no build step', {}, [], ['RUN npm run build']],
    [
      'yarn.lock: corepack, frozen lockfile',
      { lockfile: 'yarn.lock' },
      ['RUN yarn install --frozen-lockfile --production=false && yarn cache clean', 'CMD ["yarn", "start"]'],
      [],
    ],
    [
      'pnpm-lock.yaml: corepack, pnpm',
      { lockfile: 'pnpm-lock.yaml' },
      ['RUN pnpm install --frozen-lockfile', 'RUN pnpm prune --prod'],
      ['RUN npm ci --include=dev && npm cache clean --force'],
    ],
    ['no ENV NODE_ENV before the install', {}, [], []],
  ])('%s', (_, extra, present, absent) => {
    const text = lines({ packageJson: extra.lockfile === 'pnpm-lock.yaml' ? withBuild : startScript, ...extra });
    for (const line of present) expect(text).toContain(line);
    for (const line of absent) expect(text).not.toContain(line);
    expect(text.indexOf('ENV NODE_ENV=production')).toBeGreaterThan(text.findIndex((line) => / install| ci /.test(line)));
  });

  it('yarn and pnpm check for corepack as root, with a clear message', () => {
    const text = lines({ packageJson: startScript, lockfile: 'yarn.lock' });
    const corepack = text.findIndex((line) => line.includes('corepack enable'));
    expect(corepack).toBeGreaterThan(0);
    expect(corepack).toBeLessThan(text.indexOf('USER 10001:10001'));
    expect(text[corepack]).toContain('yarn.lock needs corepack');
    expect(lines({ packageJson: startScript, lockfile: 'package-lock.json' }).join('\n')).not.toContain('corepack');
  });

  it('Yarn 2+ (packageManager) uses --immutable and notes that it cannot prune', () => {
    const packageJson = JSON.stringify({ packageManager: 'yarn@4.1.0', scripts: { start: 'node .', build: 'tsc' } });
    const plan = generated({ packageJson, lockfile: 'yarn.lock' });
    expect(plan.dockerfile).toContain('RUN yarn install --immutable\n');
    expect(plan.notes).toContain('devDependencies stay in the image (Yarn 2+ has no prune)');
  });

  it.each([
    ['workspaces', { workspaces: ['packages/*'], scripts: { start: 'x' } }],
    ['a postinstall script', { scripts: { start: 'x', postinstall: 'node setup.js' } }],
    ['a file: dependency', { dependencies: { lib: 'file:./lib' }, scripts: { start: 'x' } }],
  ])('copies the whole source before installing when package.json has %s', (_, manifest) => {
    const text = lines({ packageJson: JSON.stringify(manifest), lockfile: 'package-lock.json' });
    expect(text.indexOf('COPY --chown=10001:10001 . .')).toBeLessThan(
      text.indexOf('RUN npm ci --include=dev && npm cache clean --force'),
    );
    expect(text).not.toContain('COPY --chown=10001:10001 package.json package-lock.json ./');
  });

  it.each<[string, BuildSnapshot, string]>([
    [
      'Procfile web wins',
      { packageJson: startScript, procfile: 'web: node app.js --port $PORT' },
      'CMD ["/bin/sh", "-c", "node app.js --port $PORT"]',
    ],
    ['start script', { packageJson: startScript, procfile: 'worker: x' }, 'CMD ["npm", "start"]'],
    ['server.js', { packageJson: '{"main":"lib.js"}', serverJs: true }, 'CMD ["node", "server.js"]'],
    ['main', { packageJson: '{"main":"-e"}' }, 'CMD ["node", "--", "-e"]'],
    [
      'quotes and backslashes are JSON-escaped',
      { packageJson: startScript, procfile: 'web: echo "a\\" ]\\' },
      'CMD ["/bin/sh", "-c", "echo \\"a\\\\\\" ]\\\\"]',
    ],
  ])('start command: %s', (_, snapshot, cmd) => {
    const text = lines(snapshot);
    expect(text.at(-1)).toBe(cmd);
    expect(JSON.parse(cmd.slice('CMD '.length))).toBeInstanceOf(Array);
  });

  it.each<[string, BuildSnapshot]>([
    ['Procfile only', { procfile: 'release: ./migrate\nworker: ./work --queue a' }],
    ['Python', { requirementsTxt: 'redis', procfile: 'worker: ./work --queue a' }],
  ])('%s without web: the image runs the first other type (the app serves no traffic), with a note', (_, snapshot) => {
    const plan = generated(snapshot);
    expect(plan.dockerfile.trimEnd().split('\n').at(-1)).toBe('CMD ["/bin/sh", "-c", "./work --queue a"]');
    expect(plan.notes).toContain(
      'Procfile process types other than web run in replicas of their own: worker; there is no web: line, so the app serves no traffic',
    );
  });

  it('notes which file decided, the start command, a Node version it cannot honour and the other process types', () => {
    const plan = generated({
      packageJson: startScript,
      nodeVersionFile: '20\n',
      nodeVersionFileName: '.nvmrc',
      procfile: 'web: a\nworker: b\nclock: c',
    });
    expect(plan.notes).toEqual([
      'package.json decided: a Node.js app, installed with npm, no lockfile',
      'started by the Procfile web: line',
      'warning: .nvmrc asks for Node 20, but the configured images offer no version tags (scripts/base-images.sh makes them): building FROM pier-local/node instead',
      'Procfile process types other than web run in replicas of their own: worker, clock',
    ]);
  });

  it.each<[string, BuildSnapshot, string[], string]>([
    [
      'engines.node: the highest major offered',
      { packageJson: '{"main":"a","engines":{"node":">=18"}}' },
      ['18', '20', '22', 'latest'],
      'FROM pier-local/node:22',
    ],
    [
      'engines.node wins over .nvmrc',
      { packageJson: '{"main":"a","engines":{"node":"^20.11"}}', nodeVersionFile: '18' },
      ['18', '20'],
      'FROM pier-local/node:20',
    ],
    [
      '.node-version',
      { packageJson: '{"main":"a"}', nodeVersionFile: 'v18.19.0\n', nodeVersionFileName: '.node-version' },
      ['18', '20'],
      'FROM pier-local/node:18',
    ],
    ['none asked: the configured image', { packageJson: '{"main":"a"}' }, ['18', '20'], 'FROM pier-local/node'],
    [
      'none offered: the configured image',
      { packageJson: '{"main":"a","engines":{"node":"22.x"}}' },
      ['18'],
      'FROM pier-local/node',
    ],
  ])('Node version: %s', (_, snapshot, node, from) => {
    expect(lines(snapshot, { ...options, offeredTags: { node } })).toContain(from);
  });
});

describe('detectBuild: Python Dockerfile', () => {
  it('requirements.txt: an install stage (requirements first, pip install as root into a virtualenv), then the app user', () => {
    expect(lines({ requirementsTxt: 'flask==3.0\n', procfile: 'web: gunicorn app:app --bind 0.0.0.0:$PORT' })).toEqual([
      '# Generated by Pier for a Python app (requirements.txt).',
      'FROM pier-local/python AS install',
      'ARG PIER_APP',
      'LABEL pier.app="$PIER_APP" pier.role=build-stage',
      'WORKDIR /app',
      'RUN mkdir -p /home/pier && chown 10001:10001 /app /home/pier',
      'ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore',
      'RUN python3 -m venv /opt/pier-venv',
      'ENV VIRTUAL_ENV=/opt/pier-venv PATH=/opt/pier-venv/bin:$PATH',
      'ARG PIP_INDEX_URL',
      'ARG PIP_TRUSTED_HOST',
      'COPY --chown=10001:10001 requirements.txt ./',
      'RUN pip install --no-cache-dir -r requirements.txt',
      'COPY --chown=10001:10001 . .',
      '',
      'FROM pier-local/python',
      'WORKDIR /app',
      'RUN mkdir -p /home/pier && chown 10001:10001 /app /home/pier',
      'ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore',
      'ENV VIRTUAL_ENV=/opt/pier-venv PATH=/opt/pier-venv/bin:$PATH',
      'COPY --from=install /opt/pier-venv /opt/pier-venv',
      'COPY --chown=10001:10001 --from=install /app /app',
      'USER 10001:10001',
      'ENV HOME=/home/pier',
      'CMD ["/bin/sh", "-c", "gunicorn app:app --bind 0.0.0.0:$PORT"]',
    ]);
  });

  it.each<[string, BuildSnapshot, BuildOptions, boolean]>([
    ['manage.py and django in requirements.txt', { requirementsTxt: 'Django>=5.0\n', managePy: true }, options, true],
    [
      'manage.py and django in pyproject.toml',
      { pyprojectToml: '[project]\ndependencies = ["django~=5.0"]', managePy: true },
      options,
      true,
    ],
    ['django without manage.py', { requirementsTxt: 'django\n' }, options, false],
    ['manage.py, django-environ only', { requirementsTxt: 'django-environ\n', managePy: true }, options, false],
    [
      'a build command replaces it',
      { requirementsTxt: 'django\n', managePy: true },
      { ...options, buildCommand: 'make static' },
      false,
    ],
  ])('Django collectstatic by default: %s → %s', (_, snapshot, opts, collects) => {
    const plan = generated({ procfile: 'web: x', ...snapshot }, opts);
    expect(plan.dockerfile.includes('python manage.py collectstatic --noinput')).toBe(collects);
    expect(plan.dockerfile.includes('ARG DISABLE_COLLECTSTATIC')).toBe(collects);
    if (opts.buildCommand) expect(plan.dockerfile).toContain('RUN ["/bin/sh", "-c", "make static"]');
  });

  it.each<[string, BuildSnapshot, string[], string, RegExp]>([
    [
      '.python-version',
      { pythonVersionFile: '3.12.1\n' },
      ['3.11', '3.12'],
      'FROM pier-local/python:3.12',
      /^Python 3.12 \(.python-version: "3.12.1"\)/,
    ],
    ['runtime.txt', { runtimeTxt: 'python-3.11.4' }, ['3.11'], 'FROM pier-local/python:3.11', /^Python 3.11 \(runtime.txt/],
    [
      'not offered',
      { runtimeTxt: 'python-3.9.1' },
      ['3.11'],
      'FROM pier-local/python',
      /^warning: runtime.txt asks for Python 3.9, but the configured images offer only pier-local\/python:3.11/,
    ],
    [
      'not a version',
      { pythonVersionFile: 'system' },
      ['3.11'],
      'FROM pier-local/python',
      /^warning: .python-version says "system", which is not a Python version/,
    ],
  ])('Python version: %s', (_, snapshot, python, from, note) => {
    const plan = generated({ requirementsTxt: '', procfile: 'web: x', ...snapshot }, { ...options, offeredTags: { python } });
    expect(plan.dockerfile.split('\n')).toContain(from);
    expect(plan.notes.some((line) => note.test(line))).toBe(true);
  });

  it.each([
    ['-e .', true],
    ['-r base.txt', true],
    ['./wheels/x.whl', true],
    ['pkg @ file:///x', true],
    ['--find-links ./wheels\nflask', true],
    ['flask==3.0 \\\n    --hash=sha256:abc', false],
    ['--index-url https://example.invalid/simple\nflask', false],
  ])('requirements %j need the source first: %s', (requirementsTxt, first) => {
    const text = lines({ requirementsTxt, procfile: 'web: x' });
    expect(text.includes('COPY --chown=10001:10001 requirements.txt ./')).toBe(!first);
  });

  it('pyproject.toml installs the project after copying it', () => {
    const text = lines({ pyprojectToml: '[build-system]\nrequires = ["hatchling"]', procfile: 'web: x' });
    expect(text.slice(11, 13)).toEqual(['COPY --chown=10001:10001 . .', 'RUN pip install --no-cache-dir .']);
  });

  it('requirements.txt is preferred over pyproject.toml', () => {
    const text = lines({ requirementsTxt: 'flask', pyprojectToml: '[project]', procfile: 'web: x' });
    expect(text).toContain('RUN pip install --no-cache-dir -r requirements.txt');
  });
});

describe('detectBuild: Procfile Dockerfile', () => {
  it('uses the configured image and the web command', () => {
    expect(lines({ procfile: 'web: ./bin/server' })).toEqual([
      '# Generated by Pier for a Procfile app.',
      'FROM pier-local/debian:bookworm',
      'WORKDIR /app',
      'RUN mkdir -p /home/pier && chown 10001:10001 /app /home/pier',
      'COPY --chown=10001:10001 . .',
      'USER 10001:10001',
      'ENV HOME=/home/pier',
      'CMD ["/bin/sh", "-c", "./bin/server"]',
    ]);
  });
});

describe('planBuildArgs', () => {
  it.each<[string, BuildSnapshot, Record<string, string>]>([
    ['a Node install stage is labelled with the app', { packageJson: startScript }, { PIER_APP: 'web' }],
    ['so is a Python one', { requirementsTxt: 'flask', procfile: 'web: flask run' }, { PIER_APP: 'web' }],
    ['a Procfile app has one stage, labelled by the build', { procfile: 'web: ./server' }, {}],
    ['a repository’s own Dockerfile declares no such arg', { dockerfile: 'FROM x', packageJson: startScript }, {}],
  ])('%s', (_, snapshot, expected) => {
    expect(planBuildArgs(detectBuild(snapshot, options), 'web')).toEqual(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import { parseRepoConfig, repoConfigFor } from './repo-config.ts';

function problem(text: string): { field: string | undefined; message: string } {
  try {
    parseRepoConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return { field: (err as ValidationError).field, message: (err as Error).message };
  }
  throw new Error(`accepted: ${text}`);
}

describe('parseRepoConfig', () => {
  it('accepts an empty file and every documented field', () => {
    expect(parseRepoConfig('{}')).toEqual({});
    const full = {
      build: {
        dockerfile: 'web/Dockerfile',
        context: 'web',
        target: 'runtime',
        args: { NODE_ENV: 'production' },
        command: 'npm run build',
      },
      port: 3000,
      healthCheck: 'tcp',
      release: 'python manage.py migrate',
      processes: { worker: 'celery -A app worker' },
      cron: [{ name: 'report', schedule: '@daily', command: 'node report.js', timeout: 600, concurrency: 'allow' }],
      requiredVariables: ['SECRET_KEY'],
      resources: { memoryMb: 256, cpus: 0.5 },
      environments: { production: { port: 3001 } },
    };
    expect(parseRepoConfig(JSON.stringify(full))).toEqual(full);
  });

  it.each([
    ['{', 'pier.json', /^pier\.json is not valid JSON: /],
    ['[]', 'pier.json', /^pier\.json: Invalid input: expected object, received array/],
    ['{"port": "80"}', 'pier.json:port', /^pier\.json\.port: Invalid input: expected number, received string$/],
    ['{"port": 70000}', 'pier.json:port', /^pier\.json\.port: Too big/],
    ['{"prot": 80}', 'pier.json', /^pier\.json: unknown field prot$/],
    ['{"build": {"dockerfile": "/etc/Dockerfile"}}', 'pier.json:build.dockerfile', /a path that must be relative/],
    ['{"build": {"context": "a/../.."}}', 'pier.json:build.context', /a folder that must not contain \., \.\. or empty segments/],
    ['{"build": {"args": {"lower": "x"}}}', 'pier.json:build.args.lower', /upper-case name/],
    ['{"healthCheck": "health"}', 'pier.json:healthCheck', /must be a path starting with \/ or "tcp"/],
    ['{"release": ""}', 'pier.json:release', /must not be empty/],
    ['{"cron": [{"name": "x", "schedule": "61 * * * *", "command": "true"}]}', 'pier.json:cron.0.schedule', /minute/],
    [
      '{"cron": [{"name": "x", "schedule": "@daily", "command": "true", "timeZone": "Mars/Olympus"}]}',
      'pier.json:cron.0.timeZone',
      /"Mars\/Olympus" is not a known IANA time zone/,
    ],
    ['{"requiredVariables": ["secret"]}', 'pier.json:requiredVariables.0', /must match/],
    ['{"environments": {"production": {"build": {}}}}', 'pier.json:environments.production', /unknown field build/],
  ])('%s is refused naming %s', (text, field, message) => {
    const found = problem(text);
    expect(found.field).toBe(field);
    expect(found.message).toMatch(message);
  });

  it('names every offending field at once', () => {
    expect(problem('{"port": "x", "healthCheck": "y"}').message).toMatch(/pier\.json\.port: .*; pier\.json\.healthCheck: /);
  });
});

describe('repoConfigFor', () => {
  const config = parseRepoConfig(
    JSON.stringify({
      build: { dockerfile: 'Dockerfile.web' },
      port: 3000,
      healthCheck: '/up',
      release: { command: 'migrate', timeoutSeconds: 60 },
      requiredVariables: ['A', { name: 'B', description: 'b' }],
      environments: { production: { port: 4000, requiredVariables: ['C'] } },
    }),
  );

  it('applies an environment’s overrides key by key and keeps the build for every environment', () => {
    expect(repoConfigFor(config, 'production')).toEqual({
      build: { dockerfile: 'Dockerfile.web' },
      port: 4000,
      healthCheck: { path: '/up' },
      release: { command: 'migrate', timeoutSeconds: 60 },
      requiredVariables: [{ name: 'C' }],
    });
    expect(repoConfigFor(config, 'staging')).toMatchObject({
      port: 3000,
      requiredVariables: [{ name: 'A' }, { name: 'B', description: 'b' }],
    });
  });

  it('is empty without a file', () => {
    expect(repoConfigFor(null, 'staging')).toEqual({ build: {}, requiredVariables: [] });
  });
});

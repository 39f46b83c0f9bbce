import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(async () => api.close());

/** The README's full example: every documented field, as an editor would check it. */
const example = {
  $schema: 'https://pier.example.org/schemas/pier.json',
  app: 'web',
  build: { dockerfile: 'web/Dockerfile', context: 'web', target: 'runtime', args: { NODE_ENV: 'production' } },
  port: 3000,
  healthCheck: { path: '/up', deadlineSeconds: 90 },
  release: { command: 'npm run migrate', timeoutSeconds: 300 },
  processes: { worker: 'node worker.js' },
  cron: [{ name: 'nightly-report', schedule: '0 2 * * *', command: 'node report.js', concurrency: 'forbid' }],
  requiredVariables: ['SECRET_KEY', { name: 'STRIPE_KEY', description: 'payments' }],
  resources: { memoryMb: 512, cpus: 0.5 },
  environments: { production: { port: 3001, resources: { memoryMb: 1024 } } },
};

describe('GET /schemas/pier.json', () => {
  it('serves the JSON Schema of pier.json without a token, and it accepts the documented example and refuses mistakes', async () => {
    const res = await api.request({ method: 'GET', url: '/schemas/pier.json', token: null });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('application/schema+json');
    const schema = res.json();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const validate = new Ajv2020({ strict: false }).compile(schema);
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ port: 'eighty' })).toBe(false);
    expect(validate({ unknownField: true })).toBe(false);
    expect(validate({ app: 'Not An App' })).toBe(false);
    expect(validate({ environments: { production: { build: {} } } })).toBe(false);
  });
});

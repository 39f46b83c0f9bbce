import { describe, expect, it } from 'vitest';
import { userKept } from './replica-config.ts';

describe('userKept', () => {
  const injection = {
    variables: { DATABASE_URL: 'postgres://link', PGHOST: 'pier-svc-db', PGSSLROOTCERT: '/etc/pier/ca.crt' },
    urlVariables: ['DATABASE_URL'],
  };

  it('keeps the values an environment set before links injected the same names, never its own URL variable', () => {
    expect(userKept({ PGHOST: 'db.example.org', DATABASE_URL: 'postgres://old', GREETING: 'hi' }, injection)).toEqual({
      PGHOST: 'db.example.org',
    });
  });

  it('keeps nothing when nothing clashes', () => {
    expect(userKept({ GREETING: 'hi' }, injection)).toEqual({});
  });
});

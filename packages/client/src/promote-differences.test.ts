import { describe, expect, it } from 'vitest';
import { compareEnvironments, differenceLines, type Link } from './promote-differences.ts';

const postgres = (service: string, version: string, variable = 'DATABASE_URL'): Link => ({
  service,
  type: 'postgres',
  version,
  variable,
  variables: [variable, 'PGHOST', 'PGPASSWORD'],
});

describe('compareEnvironments', () => {
  it('names the variables only on one side and those whose values differ, as the server compared them', () => {
    const differences = compareEnvironments(
      { name: 'staging', links: [] },
      { name: 'production', links: [] },
      { onlyHere: ['ONLY_STAGING'], onlyThere: ['ONLY_PROD'], differing: ['DIFF'] },
    );
    expect(differences).toEqual({
      from: 'staging',
      to: 'production',
      variables: { onlyInFrom: ['ONLY_STAGING'], onlyInTo: ['ONLY_PROD'], differing: ['DIFF'] },
      services: [],
    });
    expect(differenceLines(differences)).toEqual([
      'variables only in staging: ONLY_STAGING',
      'variables only in production: ONLY_PROD',
      'variables whose values differ: DIFF',
    ]);
  });

  it('does not call a variable missing when a link of the other environment injects it', () => {
    const differences = compareEnvironments(
      { name: 'staging', links: [] },
      { name: 'production', links: [postgres('db-prod', '16')] },
      { onlyHere: ['DATABASE_URL'], onlyThere: [], differing: [] },
    );
    expect(differences.variables.onlyInFrom).toEqual([]);
    expect(differences.services).toEqual([
      { variable: 'DATABASE_URL', from: null, to: { service: 'db-prod', type: 'postgres', version: '16' } },
    ]);
  });

  it('compares linked services by kind and version, not by name', () => {
    const same = compareEnvironments(
      { name: 'staging', links: [postgres('db-staging', '16')] },
      { name: 'production', links: [postgres('db-prod', '16')] },
      { onlyHere: [], onlyThere: [], differing: [] },
    );
    expect(same.services).toEqual([]);
    expect(differenceLines(same)).toEqual([]);
    const older = compareEnvironments(
      { name: 'staging', links: [postgres('db-staging', '17')] },
      { name: 'production', links: [postgres('db-prod', '16')] },
      { onlyHere: [], onlyThere: [], differing: [] },
    );
    expect(differenceLines(older)).toEqual([
      'DATABASE_URL: staging links postgres 17 (db-staging), production links postgres 16 (db-prod)',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { secretsStatus } from './secrets-command.ts';

const NEW = 'aaaaaaaaaaaaaaaa';
const OLD = 'bbbbbbbbbbbbbbbb';
const LOST = 'cccccccccccccccc';

describe('secretsStatus', () => {
  it.each([
    [
      'values left under the previous key',
      [{ label: 'variables.value', byKey: { [NEW]: 3, [OLD]: 2 } }],
      [OLD],
      /^2 value\(s\) still sealed with a previous key: keep PIER_SECRET_KEYS_PREVIOUS/m,
    ],
    [
      'none left under the previous key',
      [{ label: 'variables.value', byKey: { [NEW]: 5 } }],
      [OLD],
      /^0 values sealed with a previous key: PIER_SECRET_KEYS_PREVIOUS can be emptied/m,
    ],
    ['no previous key at all', [{ label: 'variables.value', byKey: {} }], [], /none is configured/],
    [
      'a key that is not configured',
      [{ label: 'acme_accounts.key', byKey: { [LOST]: 1 } }],
      [OLD],
      /^1 value\(s\) sealed with a key that is not configured/m,
    ],
  ])('%s', (_what, counts, previous, verdict) => {
    expect(secretsStatus(counts, NEW, previous)).toMatch(verdict);
  });

  it('one line per column, a column per key: the current first', () => {
    const text = secretsStatus(
      [
        { label: 'variables.value', byKey: { [NEW]: 3, [OLD]: 2 } },
        { label: 'managed_services.credentials', byKey: { [LOST]: 1 } },
      ],
      NEW,
      [OLD],
    );
    const [header, variables, services] = text.split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['value', `${NEW} (current)`, `${OLD} (previous)`, `${LOST} (not configured)`]);
    expect(variables?.split(/\s+/)).toEqual(['variables.value', '3', '2', '0']);
    expect(services?.split(/\s+/)).toEqual(['managed_services.credentials', '0', '0', '1']);
  });
});

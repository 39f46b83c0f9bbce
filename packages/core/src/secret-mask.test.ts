import { describe, expect, it } from 'vitest';
import { createSecretMask, MASK } from './secret-mask.ts';

describe('createSecretMask', () => {
  it.each([
    [['hunter22'], 'password is hunter22!', `password is ${MASK}!`],
    [['abcd', 'abcdefgh'], 'abcdefgh abcd', `${MASK} ${MASK}`],
    [['s3cr3t'], 's3cr3ts3cr3t', `${MASK}${MASK}`],
    [['on', '1'], 'turn on 1', 'turn on 1'],
    [[], 'nothing', 'nothing'],
    [['a.b*c'], 'x a.b*c y', `x ${MASK} y`],
  ])('%j masks %j', (secrets, input, output) => {
    expect(createSecretMask(secrets)(input)).toBe(output);
  });
});

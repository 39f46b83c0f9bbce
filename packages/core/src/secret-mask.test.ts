import { describe, expect, it } from 'vitest';
import { createSecretMask, MASK } from './secret-mask.ts';

const PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7',
  'q2A7hRGmdnm9tUDbO9IDSwBK6TbQa+PXYPCPy6rbTrTtw7PHkcc',
  'Zg==',
  '-----END PRIVATE KEY-----',
].join('\n');

describe('createSecretMask', () => {
  it.each([
    [['hunter22'], 'password is hunter22!', `password is ${MASK}!`],
    [['abcd', 'abcdefgh'], 'abcdefgh abcd', `${MASK} ${MASK}`],
    [['s3cr3t'], 's3cr3ts3cr3t', `${MASK}${MASK}`],
    [['on', '1'], 'turn on 1', 'turn on 1'],
    [[], 'nothing', 'nothing'],
    [['a.b*c'], 'x a.b*c y', `x ${MASK} y`],
    // A multi-line value printed whole is one mask; its lines printed one by one are each masked.
    [[PEM], `key: ${PEM}.`, `key: ${MASK}.`],
    [[PEM], 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', MASK],
    [[PEM], '  > q2A7hRGmdnm9tUDbO9IDSwBK6TbQa+PXYPCPy6rbTrTtw7PHkcc', `  > ${MASK}`],
    [[PEM], '-----END PRIVATE KEY-----', MASK],
    // Lines under six characters are left alone: `Zg==` would mask it everywhere.
    [[PEM], 'Zg== stays', 'Zg== stays'],
    [['{\n  "on": true,\n  "token": "tok-123456"\n}'], '"token": "tok-123456" } true', `${MASK} } true`],
    [['first line\r\nsecond line\r\n'], 'second line', MASK],
    [['hunter22\n'], 'echo hunter22', `echo ${MASK}`],
    [['ab\ncd'], 'ab cd ab\ncd', `ab cd ${MASK}`],
  ])('%j masks %j', (secrets, input, output) => {
    expect(createSecretMask(secrets)(input)).toBe(output);
  });

  it('masks every line of a multi-line secret when output is masked line by line', () => {
    const mask = createSecretMask([PEM]);
    const masked = `app starting\n${PEM}\ndone`.split('\n').map(mask);
    expect(masked).toEqual(['app starting', MASK, MASK, MASK, 'Zg==', MASK, 'done']);
  });
});

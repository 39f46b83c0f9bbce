import { describe, expect, it } from 'vitest';
import { MASK, maskSecrets, maskUrlPassword } from './secret-mask.ts';

describe('maskSecrets', () => {
  it('masks password fields and URL passwords, keeps the rest', () => {
    const service = {
      name: 'shop-db',
      connection: {
        host: 'pier-svc-shop-db',
        port: 5432,
        user: 'pier',
        password: 'p@ss:w/rd',
        database: 'shop',
        url: 'postgres://pier:p%40ss%3Aw%2Frd@pier-svc-shop-db:5432/shop',
      },
    };
    expect(maskSecrets(service)).toEqual({
      name: 'shop-db',
      connection: {
        host: 'pier-svc-shop-db',
        port: 5432,
        user: 'pier',
        password: MASK,
        database: 'shop',
        url: `postgres://pier:${MASK}@pier-svc-shop-db:5432/shop`,
      },
    });
    expect(service.connection.password).toBe('p@ss:w/rd');
  });

  it('leaves a body without credentials as it is', () => {
    const body = { connection: { host: 'h', port: 6379, revealed: false }, linkedTo: ['a/staging'] };
    expect(maskSecrets(body)).toEqual(body);
  });
});

describe('maskUrlPassword', () => {
  it.each([
    ['redis://:secret@pier-svc-cache:6379', `redis://:${MASK}@pier-svc-cache:6379`],
    ['postgres://u:secret@h/d?sslmode=require', `postgres://u:${MASK}@h/d?sslmode=require`],
    ['postgres://u@h/d', 'postgres://u@h/d'],
    ['https://example.com/a:b@c', 'https://example.com/a:b@c'],
    ['not a url', 'not a url'],
  ])('%s', (text, masked) => {
    expect(maskUrlPassword(text)).toBe(masked);
  });
});

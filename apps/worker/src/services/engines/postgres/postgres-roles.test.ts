import { scramVerifier } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { roleSetupSql } from './postgres-roles.ts';

const verifier = scramVerifier('a@b:c/d?e#f%g+h&i=j', Buffer.alloc(16, 7));
const setup = { superuser: 'pier', database: 'shop_db', roles: [{ name: 'app_0123456789ab', verifier }] };

describe('roleSetupSql', () => {
  it.each([
    ['the owner role, without attributes', 'ALTER ROLE app_owner WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'],
    ['the owner may use the database', 'GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "shop_db" TO app_owner;'],
    ['what the superuser creates later is granted', 'ALTER DEFAULT PRIVILEGES FOR ROLE "pier" GRANT ALL ON TABLES TO app_owner;'],
    ['objects left to the superuser are handed over', "EXECUTE format('ALTER SCHEMA %I OWNER TO app_owner'"],
    [
      'the link role logs in and has no attributes',
      'ALTER ROLE app_0123456789ab WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE',
    ],
    ['its password by verifier only', `PASSWORD '${verifier}';`],
    ['it is a member of the owner', 'GRANT app_owner TO app_0123456789ab;'],
    ['its sessions start as the owner', "ALTER ROLE app_0123456789ab SET role = 'app_owner';"],
    ['other link roles are dropped', "rolname <> ALL (ARRAY['app_0123456789ab']::text[])"],
  ])('%s', (_what, statement) => {
    expect(roleSetupSql(setup)).toContain(statement);
  });

  it('with no link left, every link role is dropped and the owner still set up', () => {
    const sql = roleSetupSql({ ...setup, roles: [] });
    expect(sql).toContain('rolname <> ALL (ARRAY[]::text[])');
    expect(sql).toContain('CREATE ROLE app_owner;');
    expect(sql).not.toContain('LOGIN INHERIT');
  });

  it.each([
    ['a role name outside the pattern', { roles: [{ name: 'pier', verifier }] }, /not a link role name/],
    ['a role name with SQL in it', { roles: [{ name: "app_0123456789ab'; drop role pier; --", verifier }] }, /link role/],
    ['a plain password as verifier', { roles: [{ name: 'app_0123456789ab', verifier: 'secret' }] }, /SCRAM-SHA-256 verifier/],
    ['a verifier with a quote', { roles: [{ name: 'app_0123456789ab', verifier: `${verifier}'` }] }, /SCRAM-SHA-256/],
    ['a database name with a quote', { database: 'shop"; drop' }, /not a plain identifier/],
    ['a superuser name with a space', { superuser: 'pi er' }, /not a plain identifier/],
  ])('refuses %s', (_what, change, error) => {
    expect(() => roleSetupSql({ ...setup, ...change })).toThrow(error);
  });

  it('the password itself is never part of the SQL', () => {
    expect(roleSetupSql(setup)).not.toContain('a@b:c/d?e#f%g+h&i=j');
  });
});

import { LINK_OWNER_ROLE, LINK_ROLE_PATTERN } from '@pier/core';

/** What the roles of one managed Postgres should be. */
export interface RoleSetup {
  /** The service's superuser (the image's POSTGRES_USER), whose objects become the owner role's. */
  superuser: string;
  /** The application database every link shares. */
  database: string;
  /** Link roles that must exist and log in, each with the SCRAM verifier of its password. */
  roles: { name: string; verifier: string }[];
}

const SYSTEM_SCHEMA = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`;
const NOT_EXTENSION_MEMBER = (catalog: string, oid: string) =>
  `not exists (select 1 from pg_depend d where d.classid = '${catalog}'::regclass and d.objid = ${oid} and d.deptype = 'e')`;

/**
 * The SQL, run as the superuser in the service's database in one transaction,
 * that makes its roles what `setup` says, idempotently:
 *
 * - `app_owner` (NOLOGIN, no attributes) may connect, create schemas and temporary
 *   tables, owns the `public` schema and every object of the database's own
 *   schemas that the superuser or a link role owned (left by apps that used the
 *   superuser before link roles, and by pg_restore, which runs as the superuser);
 *   what the superuser creates later is granted to it by default privileges.
 * - each link role: LOGIN, nothing else, a member of `app_owner` whose sessions
 *   start as it (`SET ROLE`), so objects created through any link belong to the
 *   owner and every link uses them; its password set by verifier only.
 * - every other role named like a link role is dropped, its sessions ended and
 *   anything it still owned handed to `app_owner`.
 *
 * Names are checked against their patterns here: nothing else reaches the SQL.
 */
export function roleSetupSql(setup: RoleSetup): string {
  for (const role of setup.roles) {
    if (!LINK_ROLE_PATTERN.test(role.name)) throw new RangeError(`not a link role name: ${JSON.stringify(role.name)}`);
    if (!/^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(role.verifier))
      throw new RangeError('not a SCRAM-SHA-256 verifier');
  }
  const owner = LINK_OWNER_ROLE;
  const superuser = identifier(setup.superuser);
  const keep = setup.roles.map((r) => `'${r.name}'`).join(', ');
  return [
    'SET LOCAL client_min_messages = warning;',
    createRole(owner),
    `ALTER ROLE ${owner} WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;`,
    `GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${identifier(setup.database)} TO ${owner};`,
    ...['TABLES', 'SEQUENCES', 'FUNCTIONS', 'TYPES', 'SCHEMAS'].map(
      (kind) => `ALTER DEFAULT PRIVILEGES FOR ROLE ${superuser} GRANT ALL ON ${kind} TO ${owner};`,
    ),
    adoptObjectsSql(owner),
    ...setup.roles.flatMap((role) => [
      createRole(role.name),
      `ALTER ROLE ${role.name} WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '${role.verifier}';`,
      `GRANT ${owner} TO ${role.name};`,
      `ALTER ROLE ${role.name} SET role = '${owner}';`,
    ]),
    `DO $pier$ DECLARE r record; BEGIN
  FOR r IN SELECT rolname FROM pg_roles WHERE rolname ~ '${LINK_ROLE_PATTERN.source}'
      AND rolname <> ALL (ARRAY[${keep}]::text[]) LOOP
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = r.rolname;
    EXECUTE format('REASSIGN OWNED BY %I TO ${owner}', r.rolname);
    EXECUTE format('DROP OWNED BY %I', r.rolname);
    EXECUTE format('DROP ROLE %I', r.rolname);
  END LOOP;
END $pier$;`,
  ].join('\n');
}

function createRole(name: string): string {
  return `DO $pier$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${name}') THEN CREATE ROLE ${name}; END IF;
END $pier$;`;
}

/**
 * Objects of the database's own schemas owned by a superuser, a link role or
 * (`public`) the database's owner become `owner`'s: schemas, tables, views, materialized views, foreign
 * tables, sequences of their own (those of serial and identity columns follow
 * their table), functions, procedures, aggregates, and enum, range, multirange,
 * composite and domain types. Members of extensions stay as they are.
 */
function adoptObjectsSql(owner: string): string {
  // pg_database_owner owns `public` from Postgres 15 on; the superuser did before.
  const from = `(SELECT oid FROM pg_roles WHERE rolsuper OR rolname = 'pg_database_owner' OR rolname ~ '${LINK_ROLE_PATTERN.source}')`;
  return `DO $pier$ DECLARE r record; BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n
      WHERE ${SYSTEM_SCHEMA} AND n.nspowner IN ${from} AND ${NOT_EXTENSION_MEMBER('pg_namespace', 'n.oid')} LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO ${owner}', r.nspname);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
        WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${SYSTEM_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner IN ${from}
        AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
        AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
          AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))) LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${owner}', r.kind, r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name, CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
        ELSE 'FUNCTION' END AS kind
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE ${SYSTEM_SCHEMA} AND p.proowner IN ${from} AND ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')} LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${owner}', r.kind, r.name);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS name, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS kind
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE ${SYSTEM_SCHEMA} AND t.typowner IN ${from} AND ${NOT_EXTENSION_MEMBER('pg_type', 't.oid')}
        AND (t.typtype IN ('e', 'r', 'm', 'd') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')) LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${owner}', r.kind, r.name);
  END LOOP;
END $pier$;`;
}

/** A double-quoted identifier; names from Pier's own records, quoted all the same. */
function identifier(name: string): string {
  if (!/^[A-Za-z0-9_]{1,63}$/.test(name)) throw new RangeError(`not a plain identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

import type postgres from 'postgres';

/** What the proxy adds to per bucket (request_metrics' counters). */
const REQUEST_METRIC_COUNTERS = [
  'status_1xx',
  'status_2xx',
  'status_3xx',
  'status_4xx',
  'status_5xx',
  'bytes_in',
  'bytes_out',
  'latency_buckets',
  'latency_sum',
];
const REQUEST_METRIC_COLUMNS = ['environment_id', 'release_id', 'step', 'at', ...REQUEST_METRIC_COUNTERS];

/**
 * What the internet-facing proxy may do in Pier's database, and nothing more:
 * read the route table (deployed environments, the health check of their
 * live release, their serving web replicas, custom domains, whether a
 * rollout is under way and whether their web process mounts a single-writer
 * volume), the certificates
 * it serves (keys sealed under PIER_PROXY_KEY) and the ACME challenge answers,
 * record the health it sees on replicas, and add the requests it counted to
 * request_metrics. Column by column, so that it never reads webhook secrets,
 * variables, credentials or tokens.
 */
export const PROXY_ROLE_PRIVILEGES: readonly {
  table: string;
  select: readonly string[];
  update?: readonly string[];
  insert?: readonly string[];
}[] = [
  { table: 'apps', select: ['id', 'name'] },
  {
    table: 'environments',
    select: ['id', 'app_id', 'name', 'https_redirect', 'hsts', 'live_release_id'],
  },
  // The live release's health check (no variables: those are in config_ciphertext, never granted).
  { table: 'releases', select: ['id', 'health'] },
  {
    table: 'replicas',
    // release_id: requests are counted per release of the replica that answered.
    select: ['id', 'environment_id', 'release_id', 'host', 'port', 'state', 'process_type', 'unhealthy_since'],
    update: ['healthy', 'unhealthy_since'],
  },
  { table: 'domains', select: ['hostname', 'environment_id'] },
  // Which environments are mid-rollout: their routes hold requests while they have no upstream.
  { table: 'rollouts', select: ['environment_id', 'state'] },
  // Whether an environment's web process mounts a single-writer volume (only those rollouts hold requests).
  { table: 'volumes', select: ['environment_id', 'process_types', 'shared', 'deleting_at'] },
  {
    table: 'certificates',
    select: ['hostname', 'certificate_pem', 'private_key_ciphertext', 'key_id', 'not_before', 'not_after'],
  },
  { table: 'acme_challenges', select: ['token', 'hostname', 'key_authorization', 'expires_at'] },
  // Its request counts, added per minute by `insert … on conflict do update set x = x + excluded.x`: Postgres asks
  // for insert on what is inserted, update on what is set, and select on the conflict key and what the sums read.
  {
    table: 'request_metrics',
    select: REQUEST_METRIC_COLUMNS,
    insert: REQUEST_METRIC_COLUMNS,
    update: REQUEST_METRIC_COUNTERS,
  },
];

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Makes `role`'s privileges exactly PROXY_ROLE_PRIVILEGES (earlier grants on
 * Pier's tables are revoked first, so a privilege dropped here goes), in one
 * transaction. Run by the tables' owner (`npm run migrate`); the role itself
 * is made by whoever administers Postgres (scripts/services.sh).
 */
export async function grantProxyRole(sql: postgres.Sql, role: string): Promise<void> {
  if (!ROLE_NAME.test(role)) throw new Error(`the proxy's database role ${JSON.stringify(role)} is not a plain lower-case name`);
  const [found] = await sql<{ super: boolean }[]>`select rolsuper as super from pg_roles where rolname = ${role}`;
  if (!found) throw new Error(`the proxy's database role ${role} does not exist: create it (scripts/services.sh does)`);
  if (found.super) throw new Error(`the proxy's database role ${role} is a superuser: give the proxy a role of its own`);
  await sql.begin(async (tx) => {
    await tx`revoke all on all tables in schema public from ${tx(role)}`;
    await tx`revoke all on all sequences in schema public from ${tx(role)}`;
    await tx`grant usage on schema public to ${tx(role)}`;
    for (const { table, select, update, insert } of PROXY_ROLE_PRIVILEGES) {
      await tx`grant select (${tx(select as string[])}) on ${tx(table)} to ${tx(role)}`;
      if (update) await tx`grant update (${tx(update as string[])}) on ${tx(table)} to ${tx(role)}`;
      if (insert) await tx`grant insert (${tx(insert as string[])}) on ${tx(table)} to ${tx(role)}`;
    }
  });
}

/** True when the current role can read tables the proxy has no business reading (it was given the owner's URL). */
export async function holdsMoreThanProxyNeeds(sql: postgres.Sql): Promise<boolean> {
  const [row] = await sql<{ wide: boolean }[]>`
    select has_table_privilege(current_user, 'variables', 'select')
        or has_column_privilege(current_user, 'apps', 'webhook_secret_ciphertext', 'select') as wide`;
  return row?.wide ?? false;
}

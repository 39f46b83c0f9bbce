import type { SecretBox } from '@pier/core';
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';

/**
 * One column of Pier's database holding values sealed with PIER_SECRET_KEY:
 * where the ciphertext and its key id are, and the context (AAD) each row's
 * value was sealed for, exactly as the store that writes it builds it.
 */
export interface SealedColumn {
  /** `table.value` as `npm run secrets -- status` shows it. */
  label: string;
  table: string;
  ciphertext: string;
  keyId: string;
  /** Columns the context is made of (each row's id is read anyway). */
  contextColumns: string[];
  context(row: Record<string, string>): string;
  /** The row's key when it is not a uuid `id`: a text column (`certificate_authorities.name`). */
  textKey?: string;
}

/**
 * Every column sealed with PIER_SECRET_KEY. A new one belongs here, or rotating the key leaves it on the old key (the
 * rotation test seals one of each). Certificate keys are not: they are sealed under PIER_PROXY_KEY, and the worker
 * re-seals them at start (CertificateStore.resealKeys).
 */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  column(
    'variables.value',
    'variables',
    'value_ciphertext',
    'key_id',
    ['environment_id', 'key'],
    (r) => `variable:${r.environment_id}:${r.key}`,
  ),
  column('releases.config', 'releases', 'config_ciphertext', 'key_id', ['id'], (r) => `release-config:${r.id}`),
  column(
    'apps.webhook_secret',
    'apps',
    'webhook_secret_ciphertext',
    'webhook_secret_key_id',
    ['id'],
    (r) => `app-webhook-secret:${r.id}`,
  ),
  column(
    'apps.repo_credentials',
    'apps',
    'repo_credentials_ciphertext',
    'repo_credentials_key_id',
    ['id'],
    (r) => `app-repo-credentials:${r.id}`,
  ),
  column(
    'managed_services.credentials',
    'managed_services',
    'credentials_ciphertext',
    'key_id',
    ['id'],
    (r) => `service-credentials:${r.id}`,
  ),
  column(
    'service_link_roles.password',
    'service_link_roles',
    'password_ciphertext',
    'key_id',
    ['id'],
    (r) => `service-link-role:${r.id}`,
  ),
  {
    ...column(
      'certificate_authorities.key',
      'certificate_authorities',
      'key_ciphertext',
      'key_id',
      ['name'],
      (r) => `certificate-authority:${r.name}`,
    ),
    textKey: 'name',
  },
  column(
    'acme_accounts.key',
    'acme_accounts',
    'key_ciphertext',
    'key_id',
    ['directory_url'],
    (r) => `acme-account-key:${r.directory_url}`,
  ),
  column('log_drains.config', 'log_drains', 'config_ciphertext', 'key_id', ['id'], (r) => `log-drain:${r.id}`),
  column(
    'notification_channels.config',
    'notification_channels',
    'config_ciphertext',
    'key_id',
    ['id'],
    (r) => `notification-channel:${r.id}`,
  ),
];

function column(
  label: string,
  table: string,
  ciphertext: string,
  keyId: string,
  contextColumns: string[],
  context: (row: Record<string, string>) => string,
): SealedColumn {
  return { label, table, ciphertext, keyId, contextColumns, context };
}

/** How many values of one column are sealed under each key id. */
export interface SealedCount {
  label: string;
  byKey: Record<string, number>;
}

/** What one batch of re-sealing did. */
export interface ResealBatch {
  /** Rows looked at; fewer than the limit means the column is done for this pass. */
  seen: number;
  resealed: number;
  /** Changed by someone else between reading and writing (so already sealed anew, or gone). */
  changed: number;
  /** Sealed with a key that is not configured, or failing authentication: left as they are. */
  unreadable: number;
  /** The last id seen: the next batch starts after it. */
  lastId: string | null;
}

/**
 * Sealed values as a whole: how many use each key (for the status command),
 * and re-sealing under the current key, in batches, one row at a time with
 * a compare on the old ciphertext so a concurrent write is never overwritten.
 */
export class SealedValueStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async counts(): Promise<SealedCount[]> {
    const result: SealedCount[] = [];
    for (const c of SEALED_COLUMNS) {
      const rows = await this.db.execute<{ key_id: string; n: number }>(sql`
        select ${ident(c.keyId)} as key_id, count(*)::int as n from ${ident(c.table)}
        where ${ident(c.keyId)} is not null and ${ident(c.ciphertext)} is not null group by 1 order by 1`);
      result.push({ label: c.label, byKey: Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)])) });
    }
    return result;
  }

  /** Re-seals up to `limit` values of `column` not sealed with the current key, in id order after `afterId`. */
  async resealBatch(column: SealedColumn, afterId: string | null, limit: number): Promise<ResealBatch> {
    const current = this.box.currentKeyId;
    const contextColumns = column.contextColumns.filter((name) => name !== 'id');
    const key = ident(column.textKey ?? 'id');
    const asKey = column.textKey ? sql`::text` : sql`::uuid`;
    const rows = await this.db.execute<Record<string, string>>(sql`
      select ${key}::text as id, ${sql.join(
        contextColumns.map((name) => sql`${ident(name)}::text as ${ident(name)}`),
        sql`, `,
      )}${contextColumns.length > 0 ? sql`, ` : sql``}${ident(column.ciphertext)} as ciphertext, ${ident(column.keyId)} as key_id
      from ${ident(column.table)}
      where ${ident(column.keyId)} is not null and ${ident(column.ciphertext)} is not null
        and ${ident(column.keyId)} <> ${current} ${afterId ? sql`and ${key} > ${afterId}${asKey}` : sql``}
      order by ${key} limit ${limit}`);
    const batch: ResealBatch = { seen: rows.length, resealed: 0, changed: 0, unreadable: 0, lastId: rows.at(-1)?.id ?? null };
    for (const row of rows) {
      const context = column.context(row);
      let plaintext: string;
      try {
        plaintext = this.box.open({ keyId: row.key_id as string, ciphertext: row.ciphertext as string }, context);
      } catch {
        batch.unreadable++;
        continue;
      }
      const sealed = this.box.seal(plaintext, context);
      // One statement, so one transaction: written only if the row still holds what was opened, for the same context.
      const updated = await this.db.execute(sql`
        update ${ident(column.table)} set ${ident(column.ciphertext)} = ${sealed.ciphertext}, ${ident(column.keyId)} = ${sealed.keyId}
        where ${key} = ${row.id}${asKey} and ${ident(column.ciphertext)} = ${row.ciphertext} and ${ident(column.keyId)} = ${row.key_id}
          ${sql.join(
            contextColumns.map((name) => sql`and ${ident(name)}::text = ${row[name]}`),
            sql` `,
          )}
        returning ${key}`);
      if (updated.length === 1) batch.resealed++;
      else batch.changed++;
    }
    return batch;
  }
}

/** Table and column names come from `SEALED_COLUMNS` only. */
function ident(name: string): SQL {
  if (!/^[a-z_]+$/.test(name)) throw new RangeError(`not a column name: ${name}`);
  return sql.raw(`"${name}"`);
}

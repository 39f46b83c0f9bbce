import { sql } from 'drizzle-orm';
import type { Db } from '../client.ts';

/**
 * In a table of durable operations on one kind of owner (`service_operations`
 * by `service_id`, `volume_operations` by `volume_id`): claims the oldest
 * operation that is pending, or running with an expired lease (its worker
 * died), for `leaseMs` by Postgres's clock, and counts the attempt. An
 * owner's operations run one at a time, in order. The claimed id, or null.
 */
export async function claimNextOperation(
  db: Db,
  table: 'service_operations' | 'volume_operations',
  owner: 'service_id' | 'volume_id',
  leaseMs: number,
): Promise<string | null> {
  const t = sql.identifier(table);
  const by = sql.identifier(owner);
  const rows = await db.execute<{ id: string }>(sql`
    update ${t} set state = 'running', attempts = attempts + 1,
      locked_until = now() + ${`${leaseMs} milliseconds`}::interval
    where id = (
      select o.id from ${t} o
      where ((o.state = 'pending' and (o.locked_until is null or o.locked_until < now()))
          or (o.state = 'running' and o.locked_until < now()))
        and not exists (
          select 1 from ${t} p
          where p.${by} = o.${by} and p.id <> o.id
            and ((p.created_at < o.created_at and p.state in ('pending', 'running'))
              or (p.state = 'running' and p.locked_until >= now()))
        )
      order by o.created_at
      limit 1
      for update skip locked
    )
    returning id`);
  return rows[0]?.id ?? null;
}

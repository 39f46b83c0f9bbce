import type { AlertState } from '@pier/core';
import { like } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { alertStates } from '../schema.ts';

/**
 * Conditions that fire and clear (the host's disks and memory): what was
 * firing at the last look, so an event is recorded when one starts or ends,
 * not on every pass.
 */
export class AlertStateStore {
  constructor(private readonly db: Db) {}

  /** The states whose key begins with `prefix` (`host.`), by key. */
  async read(prefix: string): Promise<Map<string, AlertState>> {
    const rows = await this.db
      .select()
      .from(alertStates)
      .where(like(alertStates.key, `${prefix.replace(/[\\%_]/g, '\\$&')}%`));
    return new Map(rows.map((r) => [r.key, { firing: r.firing, since: r.since, data: r.data as Record<string, unknown> }]));
  }

  async write(states: readonly { key: string; firing: boolean; since: Date; data: Record<string, unknown> }[]): Promise<void> {
    for (const state of states) {
      await this.db
        .insert(alertStates)
        .values(state)
        .onConflictDoUpdate({ target: alertStates.key, set: { firing: state.firing, since: state.since, data: state.data } });
    }
  }
}

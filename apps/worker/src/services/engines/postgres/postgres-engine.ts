import type { EngineOperations } from '../engine.ts';
import { checkPostgresRestore, dumpPostgres, restorePostgres } from './postgres-backup.ts';
import { syncLinkRoles } from './postgres-link-roles.ts';
import { postgresStartup } from './postgres-startup.ts';

/**
 * Managed Postgres: the official image's entrypoint initialises an empty data
 * directory with the credentials from its environment (not in `ps`), and the
 * server speaks TLS with a certificate of the installation's CA; backups
 * are `pg_dump` custom-format files checked by restoring them into a scratch
 * server and counting rows; each linked environment has a login role of its own.
 */
export const postgresEngine: EngineOperations = {
  backupStrategy: 'pg-dump',

  startup: postgresStartup,

  dump: async (ops, containerId, credentials, out) => ({ tables: await dumpPostgres(ops, containerId, credentials, out) }),

  async verify(ops, containerId, credentials, file, expected) {
    const tables = (expected as { tables?: Record<string, number> } | undefined)?.tables ?? {};
    const { found, problems } = await checkPostgresRestore(ops, containerId, credentials, file, tables);
    return { found: { tables: found }, problems };
  },

  async restore(context, target, file) {
    await restorePostgres(context.containers, target.containerId as string, context.services.credentials(target), file, true);
    // pg_restore ran as the superuser, and roles are not in a dump: the link roles get the restored objects.
    await syncLinkRoles(context, target);
  },

  syncRoles: syncLinkRoles,
};

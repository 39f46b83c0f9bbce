import { exitOnStartupError, type MigrateConfig } from '@pier/config';
import { connectDatabase, grantProxyRole, migrationStatus, runMigrations } from '@pier/db';
import { createLogger } from '@pier/log';

/** `npm run migrate`: applies pending migrations, idempotently. */
export async function migrateCommand(config: MigrateConfig): Promise<void> {
  const logger = createLogger({ name: 'migrate', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT });
  const database = connectDatabase(config.DATABASE_URL, { max: 1, applicationName: 'pier-migrate' });
  try {
    const before = await migrationStatus(database.sql);
    await runMigrations(database.db);
    logger.info(
      { applied: before.pending, total: before.total },
      before.pending.length ? 'migrations applied' : 'database is up to date',
    );
    if (config.PIER_PROXY_DATABASE_URL) {
      const role = decodeURIComponent(new URL(config.PIER_PROXY_DATABASE_URL).username);
      await grantProxyRole(database.sql, role);
      logger.info({ role }, "the proxy's database role may read routes and certificates, and nothing else");
    }
  } catch (err) {
    exitOnStartupError('migrate', err);
  } finally {
    await database.close();
  }
}

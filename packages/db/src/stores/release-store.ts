import { NotFoundError, type ReleaseHealth, type SecretBox, type SettingSource } from '@pier/core';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { environments, releases } from '../schema.ts';

export type ReleaseRow = typeof releases.$inferSelect;

/** Health-check settings a release was made with: `path` is a path, `tcp`, or null (automatic). */
export type HealthSettings = ReleaseHealth;

/** A setting of a release and where it came from (`releases.settings`, keyed by setting name). */
export interface ReleaseSetting {
  value: unknown;
  source: SettingSource;
}

export interface NewRelease {
  environmentId: string;
  imageId: string;
  imageRef: string;
  /** The environment's variables at `configVersion`; sealed before they are stored. */
  config: Record<string, string>;
  configVersion: number;
  replicas: number;
  health: HealthSettings;
  /** Networks of the linked services; replicas join them. */
  networks?: string[];
  /** Port the app listens on inside its containers (absent: 8080). */
  port?: number;
  /** The settings it runs with and where each came from. */
  settings?: Record<string, ReleaseSetting>;
  /** Runs once before any of its replicas starts (null: none). */
  releaseCommand?: string | null;
  /** Process type → command (null: the image's own); absent: one web process. */
  processes?: Record<string, string | null>;
  /** The cron jobs of its `pier.json` for the environment. */
  cron?: unknown[];
}

/** Immutable releases: an image plus the configuration it runs with, numbered per environment. */
export class ReleaseStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async create(input: NewRelease): Promise<ReleaseRow> {
    return this.db.transaction(async (tx) => {
      await tx.select({ id: environments.id }).from(environments).where(eq(environments.id, input.environmentId)).for('update');
      const [last] = await tx
        .select({ version: sql<number>`coalesce(max(${releases.version}), 0)` })
        .from(releases)
        .where(eq(releases.environmentId, input.environmentId));
      const version = Number(last?.version ?? 0) + 1;
      const id = crypto.randomUUID();
      const sealed = this.box.seal(JSON.stringify(input.config), configContext(id));
      const [row] = await tx
        .insert(releases)
        .values({
          id,
          environmentId: input.environmentId,
          version,
          imageId: input.imageId,
          imageRef: input.imageRef,
          configCiphertext: sealed.ciphertext,
          keyId: sealed.keyId,
          configVersion: input.configVersion,
          replicas: input.replicas,
          health: input.health,
          networks: input.networks ?? [],
          port: input.port ?? null,
          settings: input.settings ?? {},
          releaseCommand: input.releaseCommand ?? null,
          processes: input.processes ?? { web: null },
          cron: input.cron ?? [],
        })
        .returning();
      if (!row) throw new Error('insert returned no row');
      return row;
    });
  }

  async get(id: string): Promise<ReleaseRow> {
    const [row] = await this.db.select().from(releases).where(eq(releases.id, id));
    if (!row) throw new NotFoundError(`release ${id} not found`);
    return row;
  }

  list(environmentId: string, limit = 50): Promise<ReleaseRow[]> {
    return this.db
      .select()
      .from(releases)
      .where(eq(releases.environmentId, environmentId))
      .orderBy(desc(releases.version))
      .limit(limit);
  }

  /** The release before `version` in the same environment, or null. */
  async previous(environmentId: string, version: number): Promise<ReleaseRow | null> {
    const [row] = await this.db
      .select()
      .from(releases)
      .where(and(eq(releases.environmentId, environmentId), lt(releases.version, version)))
      .orderBy(desc(releases.version))
      .limit(1);
    return row ?? null;
  }

  /** Records the verified backup taken right before the release's command ran. */
  async setBackup(id: string, backupId: string): Promise<void> {
    await this.db.update(releases).set({ backupId }).where(eq(releases.id, id));
  }

  /** The variables the release runs with. Never logged, never put in a job payload. */
  config(release: ReleaseRow): Record<string, string> {
    return JSON.parse(this.box.open({ keyId: release.keyId, ciphertext: release.configCiphertext }, configContext(release.id)));
  }

  health(release: ReleaseRow): HealthSettings {
    return release.health as HealthSettings;
  }

  /** The settings a release runs with and where each came from (empty on releases made before they were kept). */
  settings(release: ReleaseRow): Record<string, ReleaseSetting> {
    return (release.settings ?? {}) as Record<string, ReleaseSetting>;
  }
}

const configContext = (releaseId: string) => `release-config:${releaseId}`;

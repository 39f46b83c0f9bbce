import {
  ConflictError,
  defaultEnvironments,
  NotFoundError,
  type Principal,
  type RegistryAuth,
  type RepoAccess,
  registryServer,
  repositoryOrigin,
  type SecretBox,
  ValidationError,
  visibleAppId,
} from '@pier/core';
import { and, asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { APP_DELETED_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { apps, environments } from '../schema.ts';
import { environmentNameClash, environmentNames, isEnvironmentNameClash } from './environment-names.ts';
import { isUniqueViolation } from './pg-errors.ts';
import { scheduleOwnedServiceDeletion } from './service-store.ts';

export type AppRow = typeof apps.$inferSelect;

export interface NewApp {
  name: string;
  /** HMAC secret of the app's GitHub webhooks, sealed before it is stored. */
  webhookSecret: string;
  repoFullName?: string | null;
  repoCloneUrl?: string | null;
  defaultBranch?: string;
  dockerfilePath?: string;
  /** Where the app's `pier.json` is in its repository. */
  configPath?: string;
}

export type AppPatch = Partial<Omit<NewApp, 'name' | 'webhookSecret'>> & {
  /** Pull requests get `pr-<number>` previews. */
  previewsEnabled?: boolean;
  /** Pull requests from forks are previewed too (without the app's variables). */
  forkPreviews?: boolean;
  /** Each preview gets a fresh managed Postgres of its own, linked. */
  previewDatabase?: boolean;
};

export type RepoCredentials = NonNullable<RepoAccess['credentials']>;

/** What pulls the app's prebuilt images: sent only to `server` (`host[:port]`), sealed at rest. */
export type RegistryCredentials = RegistryAuth;

/** Credentials as sealed: with the origin of the clone URL they were given for (absent on rows stored before). */
type StoredRepoCredentials = RepoCredentials & { origin?: string };

/** An app after a change, and whether its repository credentials were dropped because the repository moved. */
export interface AppUpdate {
  app: AppRow;
  repositoryCredentialsDropped: boolean;
}

/** What the worker may use to reach the repository, and why credentials were withheld when they were. */
export interface RepoAccessResult {
  access: RepoAccess;
  /** Stored credentials bound to another origin than the clone URL's: not sent. */
  withheld?: { boundTo: string };
}

/** Apps, always read through what the caller may see. */
export class AppStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** Creates the app with its default environments in one transaction. */
  async create(input: NewApp): Promise<AppRow> {
    const { webhookSecret, ...values } = input;
    for (const env of defaultEnvironments('main')) {
      // Also catches a clash with environments older than the unique names (the indexes catch the rest, races included).
      const clash = await environmentNameClash(this.db, input.name, env.name);
      if (clash) throw new ConflictError(`name: ${clash}`);
    }
    try {
      return await this.db.transaction(async (tx) => {
        const [app] = await tx.insert(apps).values(values).returning();
        if (!app) throw new Error('insert returned no row');
        const sealed = this.box.seal(webhookSecret, webhookContext(app.id));
        await tx
          .update(apps)
          .set({ webhookSecretCiphertext: sealed.ciphertext, webhookSecretKeyId: sealed.keyId })
          .where(eq(apps.id, app.id));
        const envs = defaultEnvironments(app.defaultBranch).map((e) => ({
          ...e,
          appId: app.id,
          ...environmentNames(app.name, e.name),
        }));
        await tx.insert(environments).values(envs);
        return app;
      });
    } catch (err) {
      if (isEnvironmentNameClash(err)) {
        const clashes = await Promise.all(
          defaultEnvironments('main').map((e) => environmentNameClash(this.db, input.name, e.name)),
        );
        throw new ConflictError(`name: ${clashes.find(Boolean) ?? `app ${input.name} clashes with another app's environment`}`);
      }
      if (isUniqueViolation(err)) throw new ConflictError(`an app named ${input.name} already exists`);
      throw err;
    }
  }

  list(principal: Principal): Promise<AppRow[]> {
    return this.db.select().from(apps).where(scoped(principal)).orderBy(asc(apps.name));
  }

  async get(principal: Principal, name: string): Promise<AppRow> {
    const [app] = await this.db
      .select()
      .from(apps)
      .where(and(eq(apps.name, name), scoped(principal)));
    if (!app) throw new NotFoundError(`app ${name} not found`);
    return app;
  }

  /**
   * Environments that followed the old default branch follow the new one.
   * Repository credentials are bound to the origin they were given for: when
   * the clone URL moves to another origin (or goes), they are dropped in the
   * same transaction, so they can never be sent to the new one.
   */
  async update(principal: Principal, name: string, patch: AppPatch): Promise<AppUpdate> {
    const app = await this.get(principal, name);
    const dropCredentials = patch.repoCloneUrl !== undefined && !this.#credentialsFollow(app, patch.repoCloneUrl);
    const updated = await this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(apps)
        .set({
          ...patch,
          ...(dropCredentials ? { repoCredentialsCiphertext: null, repoCredentialsKeyId: null } : {}),
          // Another repository's hook is another target: large bodies wait for its first verified delivery.
          ...(patch.repoFullName !== undefined && patch.repoFullName !== app.repoFullName ? { githubHookTargetId: null } : {}),
          updatedAt: new Date(),
        })
        .where(eq(apps.id, app.id))
        .returning();
      if (!row) throw new NotFoundError(`app ${name} not found`);
      if (patch.defaultBranch && patch.defaultBranch !== app.defaultBranch) {
        await tx
          .update(environments)
          .set({ branch: patch.defaultBranch, updatedAt: new Date() })
          .where(and(eq(environments.appId, app.id), eq(environments.branch, app.defaultBranch)));
      }
      return row;
    });
    return { app: updated, repositoryCredentialsDropped: dropCredentials };
  }

  /** True when the app has no credentials, or they are bound to `cloneUrl`'s origin. */
  #credentialsFollow(app: AppRow, cloneUrl: string | null): boolean {
    const stored = this.#storedCredentials(app);
    if (!stored) return true;
    const boundTo = stored.origin ?? (app.repoCloneUrl ? repositoryOrigin(app.repoCloneUrl) : null);
    return cloneUrl !== null && boundTo !== null && boundTo === repositoryOrigin(cloneUrl);
  }

  async delete(principal: Principal, name: string): Promise<void> {
    const app = await this.get(principal, name);
    await this.db.transaction(async (tx) => {
      // Services its environments own (preview databases) are deleted with it; shared ones stay.
      const owned = await tx.select({ id: environments.id }).from(environments).where(eq(environments.appId, app.id));
      for (const env of owned) await scheduleOwnedServiceDeletion(tx, env.id);
      await tx.delete(apps).where(eq(apps.id, app.id));
      // On commit: the worker removes the app's images once the reconciler has removed its containers.
      await tx.execute(sql`select pg_notify(${APP_DELETED_CHANNEL}, ${app.name})`);
    });
  }

  /** Replaces the webhook secret; the old one stops working at once. */
  async rotateWebhookSecret(principal: Principal, name: string, secret: string): Promise<void> {
    const app = await this.get(principal, name);
    const sealed = this.box.seal(secret, webhookContext(app.id));
    await this.db
      .update(apps)
      .set({ webhookSecretCiphertext: sealed.ciphertext, webhookSecretKeyId: sealed.keyId, updatedAt: new Date() })
      .where(eq(apps.id, app.id));
  }

  webhookSecret(app: AppRow): string | null {
    if (!app.webhookSecretCiphertext || !app.webhookSecretKeyId) return null;
    return this.box.open({ keyId: app.webhookSecretKeyId, ciphertext: app.webhookSecretCiphertext }, webhookContext(app.id));
  }

  /** Apps whose repository is `fullName` (several apps may deploy one repository). Not scoped: for webhooks. */
  findByRepository(fullName: string): Promise<AppRow[]> {
    return this.db.select().from(apps).where(sql`lower(${apps.repoFullName}) = lower(${fullName})`);
  }

  /** Apps whose last verified webhook came from this hook target (`X-GitHub-Hook-Installation-Target-ID`). Not scoped. */
  findByHookTarget(targetId: number): Promise<AppRow[]> {
    return this.db.select().from(apps).where(eq(apps.githubHookTargetId, targetId));
  }

  /** Records the hook target of a verified delivery on the apps it was for (only where it changed). */
  async rememberHookTarget(appIds: readonly string[], targetId: number): Promise<void> {
    if (appIds.length === 0) return;
    await this.db
      .update(apps)
      .set({ githubHookTargetId: targetId })
      .where(and(inArray(apps.id, [...appIds]), sql`${apps.githubHookTargetId} is distinct from ${targetId}`));
  }

  /** Internal lookup by id, not scoped: for the worker. */
  async byId(id: string): Promise<AppRow> {
    const [app] = await this.db.select().from(apps).where(eq(apps.id, id));
    if (!app) throw new NotFoundError(`app ${id} not found`);
    return app;
  }

  /**
   * Seals credentials bound to the origin of the app's current clone URL; an
   * access token needs an http(s) URL and a deploy key an ssh one.
   */
  async setRepoCredentials(principal: Principal, name: string, credentials: RepoCredentials | null): Promise<void> {
    const app = await this.get(principal, name);
    let sealed: { ciphertext: string; keyId: string } | null = null;
    if (credentials) {
      const origin = app.repoCloneUrl ? repositoryOrigin(app.repoCloneUrl) : null;
      if (!origin) throw new ValidationError("repository: set the app's repository before its credentials", 'repository');
      const wanted = credentials.kind === 'token' ? /^https?:/ : /^ssh:/;
      if (!wanted.test(origin)) {
        const needs =
          credentials.kind === 'token' ? 'an access token needs an https clone URL' : 'a deploy key needs an ssh clone URL';
        const field = credentials.kind === 'token' ? 'token' : 'deployKey';
        throw new ValidationError(`${field}: ${needs} (the repository is at ${origin})`, field);
      }
      const stored: StoredRepoCredentials = { ...credentials, origin };
      sealed = this.box.seal(JSON.stringify(stored), credentialsContext(app.id));
    }
    await this.db
      .update(apps)
      .set({
        repoCredentialsCiphertext: sealed?.ciphertext ?? null,
        repoCredentialsKeyId: sealed?.keyId ?? null,
        updatedAt: new Date(),
      })
      .where(eq(apps.id, app.id));
  }

  /** True when the app holds repository credentials. */
  hasRepoCredentials(app: AppRow): boolean {
    return app.repoCredentialsCiphertext !== null && app.repoCredentialsKeyId !== null;
  }

  /**
   * How the worker reaches the app's repository, credentials opened; null
   * when no repository is configured. Credentials bound to another origin than
   * the clone URL's are withheld (never sent), and the result says so.
   */
  repoAccess(app: AppRow): RepoAccessResult | null {
    if (!app.repoCloneUrl) return null;
    const stored = this.#storedCredentials(app);
    if (!stored) return { access: { cloneUrl: app.repoCloneUrl } };
    const { origin, ...credentials } = stored;
    if (origin !== undefined && origin !== repositoryOrigin(app.repoCloneUrl)) {
      return { access: { cloneUrl: app.repoCloneUrl }, withheld: { boundTo: origin } };
    }
    return { access: { cloneUrl: app.repoCloneUrl, credentials } };
  }

  /**
   * Seals the credentials that pull the app's prebuilt images, bound to one
   * registry (`registryServer`: `host[:port]`); null forgets them.
   */
  async setRegistryCredentials(principal: Principal, name: string, credentials: RegistryCredentials | null): Promise<void> {
    const app = await this.get(principal, name);
    let sealed: { ciphertext: string; keyId: string } | null = null;
    if (credentials) {
      const server = registryServer(credentials.server);
      if (!server) throw new ValidationError('server: must be a registry host with an optional :port, e.g. ghcr.io', 'server');
      sealed = this.box.seal(JSON.stringify({ ...credentials, server }), registryContext(app.id));
    }
    await this.db
      .update(apps)
      .set({
        registryCredentialsCiphertext: sealed?.ciphertext ?? null,
        registryCredentialsKeyId: sealed?.keyId ?? null,
        updatedAt: new Date(),
      })
      .where(eq(apps.id, app.id));
  }

  /** The app's registry credentials, opened (for the worker's pull); null when it has none. */
  registryCredentials(app: AppRow): RegistryCredentials | null {
    if (!app.registryCredentialsCiphertext || !app.registryCredentialsKeyId) return null;
    const plain = this.box.open(
      { keyId: app.registryCredentialsKeyId, ciphertext: app.registryCredentialsCiphertext },
      registryContext(app.id),
    );
    return JSON.parse(plain) as RegistryCredentials;
  }

  #storedCredentials(app: AppRow): StoredRepoCredentials | null {
    if (!app.repoCredentialsCiphertext || !app.repoCredentialsKeyId) return null;
    const plain = this.box.open(
      { keyId: app.repoCredentialsKeyId, ciphertext: app.repoCredentialsCiphertext },
      credentialsContext(app.id),
    );
    return JSON.parse(plain) as StoredRepoCredentials;
  }
}

const webhookContext = (appId: string) => `app-webhook-secret:${appId}`;
const credentialsContext = (appId: string) => `app-repo-credentials:${appId}`;
const registryContext = (appId: string) => `app-registry-credentials:${appId}`;

function scoped(principal: Principal): SQL | undefined {
  const appId = visibleAppId(principal);
  return appId === null ? undefined : eq(apps.id, appId);
}

import { generateApiToken, hashApiToken, NotFoundError } from '@pier/core';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apiTokens, apps } from '../schema.ts';

export interface TokenView {
  id: string;
  name: string;
  displayPrefix: string;
  app: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface ResolvedToken {
  id: string;
  appId: string | null;
}

/** API tokens: the plaintext is returned once by `create`, only its hash is stored. */
export class TokenStore {
  constructor(private readonly db: Db) {}

  async create(name: string, appId: string | null): Promise<{ token: string; view: TokenView }> {
    const token = generateApiToken();
    const [row] = await this.db
      .insert(apiTokens)
      .values({ name, appId, tokenHash: hashApiToken(token), displayPrefix: token.slice(0, 12) })
      .returning();
    if (!row) throw new Error('insert returned no row');
    const [view] = await this.views(eq(apiTokens.id, row.id));
    if (!view) throw new Error('created token not found');
    return { token, view };
  }

  list(): Promise<TokenView[]> {
    return this.views(isNull(apiTokens.revokedAt));
  }

  async revoke(id: string): Promise<void> {
    const rows = await this.db
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    if (rows.length === 0) throw new NotFoundError(`token ${id} not found`);
  }

  /** The live token with this plaintext, or null. Records when it was last used. */
  async resolve(token: string): Promise<ResolvedToken | null> {
    const [row] = await this.db
      .update(apiTokens)
      .set({ lastUsedAt: new Date() })
      .where(and(eq(apiTokens.tokenHash, hashApiToken(token)), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id, appId: apiTokens.appId });
    return row ?? null;
  }

  private async views(where: ReturnType<typeof eq>): Promise<TokenView[]> {
    return this.db
      .select({
        id: apiTokens.id,
        name: apiTokens.name,
        displayPrefix: apiTokens.displayPrefix,
        app: apps.name,
        createdAt: apiTokens.createdAt,
        lastUsedAt: apiTokens.lastUsedAt,
      })
      .from(apiTokens)
      .leftJoin(apps, eq(apiTokens.appId, apps.id))
      .where(where)
      .orderBy(asc(apiTokens.createdAt));
  }
}

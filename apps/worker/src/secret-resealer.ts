import { SEALED_COLUMNS, type SealedValueStore } from '@pier/db';
import type { Logger } from '@pier/log';

export interface SecretResealerOptions {
  values: Pick<SealedValueStore, 'resealBatch'>;
  logger: Logger;
  /** How often values sealed with an older key are looked for. Default 10 minutes. */
  intervalMs?: number;
  /** Rows re-sealed per batch. Default 200. */
  batchSize?: number;
  /** Pause between batches, so a rotation never crowds out the worker's other queries. Default 100 ms. */
  pauseMs?: number;
}

/**
 * After PIER_SECRET_KEY is rotated (the old key moved to
 * PIER_SECRET_KEYS_PREVIOUS), re-seals every stored secret under the new
 * key, in the background: on start and every few minutes, each sealed
 * column in bounded batches, each row written only if unchanged since it was
 * read. Several workers doing it at once write each row once. Once
 * `npm run secrets -- status` shows nothing under a previous key, that key can go.
 */
export class SecretResealer {
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<void> = Promise.resolve();
  #busy = false;
  #stopped = false;

  constructor(private readonly options: SecretResealerOptions) {}

  start(): void {
    this.#stopped = false;
    this.kick();
    this.#timer = setInterval(() => this.kick(), this.options.intervalMs ?? 10 * 60_000);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#pass;
  }

  /** Runs one pass unless one is running. */
  kick(): void {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    this.#pass = this.pass()
      .then(() => {})
      .catch((err: unknown) => this.options.logger.warn({ err }, 'secret re-sealing pass failed'))
      .finally(() => {
        this.#busy = false;
      });
  }

  /** One pass over every sealed column; returns how many values were re-sealed and how many could not be read. */
  async pass(): Promise<{ resealed: number; unreadable: number }> {
    const { values, logger } = this.options;
    const limit = this.options.batchSize ?? 200;
    let resealed = 0;
    let unreadable = 0;
    for (const column of SEALED_COLUMNS) {
      let after: string | null = null;
      while (!this.#stopped) {
        const batch = await values.resealBatch(column, after, limit);
        resealed += batch.resealed;
        unreadable += batch.unreadable;
        if (batch.resealed > 0)
          logger.info({ column: column.label, resealed: batch.resealed }, 'secrets re-sealed with the current key');
        if (batch.seen < limit) break;
        after = batch.lastId;
        await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs ?? 100));
      }
    }
    if (unreadable > 0) {
      logger.warn(
        { unreadable },
        'stored secrets sealed with a key that is not configured (or damaged) cannot be re-sealed; `npm run secrets -- status` lists them',
      );
    }
    return { resealed, unreadable };
  }
}

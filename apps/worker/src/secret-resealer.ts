import { PassLoop } from '@pier/core';
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
  readonly #loop: PassLoop;

  constructor(private readonly options: SecretResealerOptions) {
    this.#loop = new PassLoop({
      name: 'secret re-sealing',
      intervalMs: options.intervalMs ?? 10 * 60_000,
      logger: options.logger,
      pass: (signal) => this.pass(signal),
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Runs a pass now, or right after the one running. */
  kick(): void {
    this.#loop.kick();
  }

  /**
   * One pass over every sealed column, until done or `signal` aborts; returns
   * how many values were re-sealed and how many could not be read.
   */
  async pass(signal?: AbortSignal): Promise<{ resealed: number; unreadable: number }> {
    const { values, logger } = this.options;
    const limit = this.options.batchSize ?? 200;
    let resealed = 0;
    let unreadable = 0;
    for (const column of SEALED_COLUMNS) {
      let after: string | null = null;
      while (!signal?.aborted) {
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

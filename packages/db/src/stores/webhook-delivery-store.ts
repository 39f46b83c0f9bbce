import { eq, inArray, lt } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { webhookDeliveries } from '../schema.ts';
import type { CommitCheckStore } from './commit-checks.ts';
import type { DeploymentRow, DeploymentStore, NewDeployment } from './deployment-store.ts';

export interface StoredDelivery {
  statusCode: number;
  response: unknown;
}

/** The transaction a delivery is recorded in. */
export type DeliveryTransaction = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface DeliveryRecord {
  deliveryId: string;
  event: string;
  appId: string | null;
  statusCode: number;
  /** Builds the response from the deployments created; stored and replayed on redelivery. */
  respond(deployments: DeploymentRow[]): unknown;
  /**
   * Runs in the delivery's transaction, only for its first arrival, before anything is queued: environment
   * changes a delivery makes (pull request previews). Returns more deployments to queue.
   */
  prepare?(tx: DeliveryTransaction): Promise<NewDeployment[]>;
}

/** GitHub deliveries by X-GitHub-Delivery, so a redelivery creates nothing and gets the first answer. */
export class WebhookDeliveryStore {
  constructor(
    private readonly db: Db,
    private readonly deployments: DeploymentStore,
    /** Deployments that wait for their commit's checks (those with `checksDeadlineAt`) are recorded through it. */
    private readonly checks?: CommitCheckStore,
  ) {}

  async find(deliveryId: string): Promise<StoredDelivery | null> {
    const [row] = await this.db
      .select({ statusCode: webhookDeliveries.statusCode, response: webhookDeliveries.response })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.deliveryId, deliveryId));
    return row ?? null;
  }

  /**
   * Deletes up to `limit` delivery records received before `receivedBefore`;
   * returns how many went. A redelivery of one of them is then handled as a
   * new delivery.
   */
  async deleteReceivedBefore(receivedBefore: Date, limit: number): Promise<number> {
    const old = this.db
      .select({ deliveryId: webhookDeliveries.deliveryId })
      .from(webhookDeliveries)
      .where(lt(webhookDeliveries.receivedAt, receivedBefore))
      .limit(limit);
    const deleted = await this.db
      .delete(webhookDeliveries)
      .where(inArray(webhookDeliveries.deliveryId, old))
      .returning({ deliveryId: webhookDeliveries.deliveryId });
    return deleted.length;
  }

  /**
   * Records the delivery and queues its deployments in one transaction. When a
   * concurrent request recorded the same delivery first, nothing is written
   * and that request's answer is returned.
   */
  async record(delivery: DeliveryRecord, toQueue: NewDeployment[]): Promise<StoredDelivery> {
    return this.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(webhookDeliveries)
        .values({ deliveryId: delivery.deliveryId, event: delivery.event, appId: delivery.appId, statusCode: 0, response: {} })
        .onConflictDoNothing()
        .returning({ deliveryId: webhookDeliveries.deliveryId });
      if (inserted.length === 0) {
        const [first] = await tx
          .select({ statusCode: webhookDeliveries.statusCode, response: webhookDeliveries.response })
          .from(webhookDeliveries)
          .where(eq(webhookDeliveries.deliveryId, delivery.deliveryId));
        return first ?? { statusCode: 409, response: { error: { code: 'conflict', message: 'delivery in progress' } } };
      }
      const created: DeploymentRow[] = [];
      const prepared = delivery.prepare ? await delivery.prepare(tx) : [];
      for (const input of [...toQueue, ...prepared])
        created.push(await this.#enqueue({ ...input, deliveryId: delivery.deliveryId }, tx));
      // The answer is returned as stored (jsonb orders keys its own way), so a redelivery's is byte for byte the same.
      const [stored] = await tx
        .update(webhookDeliveries)
        .set({ statusCode: delivery.statusCode, response: delivery.respond(created) })
        .where(eq(webhookDeliveries.deliveryId, delivery.deliveryId))
        .returning({ statusCode: webhookDeliveries.statusCode, response: webhookDeliveries.response });
      if (!stored) throw new Error('delivery row vanished');
      return stored;
    });
  }

  /** Queued at once, or waiting for its commit's checks when it has a deadline for them. */
  #enqueue(input: NewDeployment, tx: DeliveryTransaction): Promise<DeploymentRow> {
    const { commitSha, checksDeadlineAt } = input;
    if (!checksDeadlineAt || !commitSha) return this.deployments.enqueue(input, tx);
    if (!this.checks) throw new Error('a deployment waiting for checks needs the check store');
    return this.checks.enqueueWaiting({ ...input, commitSha, checksDeadlineAt }, tx);
  }
}

import { runEdgeWorker } from './edge-worker.ts';

/**
 * Entry point of the proxy's serving processes (`node:cluster` workers,
 * forked by `EdgeCluster`); everything they need comes from the primary.
 */
await runEdgeWorker();

export { DockerRuntime, type DockerRuntimeOptions } from './docker-runtime.ts';
export { type PruneOptions, type PruneResult, pruneCandidates, pruneImages } from './prune.ts';

import { type ServiceType, serviceEngine } from '@pier/core';
import type { EngineOperations } from './engine.ts';
import { postgresEngine } from './postgres/postgres-engine.ts';
import { redisEngine } from './redis/redis-engine.ts';

/** The worker's side of each engine of `SERVICE_ENGINES`, by name: a new engine is one entry here and its folder. */
export const ENGINE_OPERATIONS: { readonly [T in ServiceType]: EngineOperations } = {
  postgres: postgresEngine,
  redis: redisEngine,
};

/** The operations of `type`'s engine; an unknown type is an error naming it (core's), never another engine's operations. */
export function engineOperations(type: string): EngineOperations {
  return ENGINE_OPERATIONS[serviceEngine(type).name];
}

export * from './client.ts';
export * from './migrations.ts';
export * as schema from './schema.ts';
export * from './stores/app-store.ts';
export * from './stores/environment-store.ts';
export * from './stores/token-store.ts';
export * from './stores/variable-store.ts';

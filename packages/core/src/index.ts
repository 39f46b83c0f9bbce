export * from './api-token.ts';
export * from './deployment-state.ts';
export * from './environment-defaults.ts';
export * from './errors.ts';
export * from './names.ts';
export * from './principal.ts';
export * from './secret-box.ts';

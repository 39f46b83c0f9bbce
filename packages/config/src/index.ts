export { capacityPolicyFrom } from './capacity-config.ts';
export { secretKeyProblem } from './fields.ts';
export { type HostReaderOptions, readHostResources } from './host-resources.ts';
export { exitOnStartupError, onShutdownSignal } from './lifecycle.ts';
export { ConfigError, type Env, loadConfigOrExit, parseConfig } from './load-config.ts';
export * from './proxy-schema.ts';
export * from './schemas.ts';

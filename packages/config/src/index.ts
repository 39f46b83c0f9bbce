export { secretKeyProblem } from './fields.ts';
export { exitOnStartupError, onShutdownSignal } from './lifecycle.ts';
export { ConfigError, type Env, loadConfigOrExit, parseConfig } from './load-config.ts';
export * from './schemas.ts';

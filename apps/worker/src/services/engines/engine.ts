import type { Writable } from 'node:stream';
import type { ContainerOperations, ContainerSpec, ServiceCredentials, ServiceEngine } from '@pier/core';
import type { ServiceRoleStore, ServiceRow, ServiceStore } from '@pier/db';
import type { Logger } from '@pier/log';

/** Starting and stopping a service's own container (`ServiceContainers`), for restores that swap its data. */
export interface ServiceLifecycle {
  /** A fresh container on the service's volume, resolved once it accepts connections; returns its id. */
  start(service: ServiceRow): Promise<string>;
  /** Stops (with a grace) and removes the service's container. */
  stop(serviceId: string): Promise<void>;
}

/** What an engine's operations work with: Docker, the stores, this worker's instance. */
export interface EngineContext {
  containers: ContainerOperations;
  services: Pick<ServiceStore, 'credentials' | 'setState'>;
  /** The link roles of engines that have them. */
  roles: ServiceRoleStore;
  serviceContainers: ServiceLifecycle;
  logger: Logger;
  instance: string;
}

/** A service's server certificate (signed by the installation's CA) and its key; never logged. */
export interface ServerTls {
  certificatePem: string;
  keyPem: string;
}

/** What a backup's verification found, and how it differs from what was dumped. */
export interface BackupCheck {
  found: object;
  problems: string[];
}

/**
 * The worker's side of one engine (`ServiceEngine` in core is the data side):
 * how its container starts with its credentials, how its data is dumped,
 * checked and restored, and its link roles when it has them. Every command
 * is an argument array run in the service's own (or a scratch) container;
 * passwords reach tools through the environment or stdin, never a command.
 */
export interface EngineOperations {
  /** The core strategy it implements (`ServiceEngine.backup.strategy`). */
  backupStrategy: ServiceEngine['backup']['strategy'];
  /**
   * Environment, command and files that make the image start with these
   * credentials (a fresh data directory is initialised with them), and serve
   * TLS with `tls` when given (engines whose `ServiceEngine.tls` is true).
   */
  startup(credentials: ServiceCredentials, tls?: ServerTls): Pick<ContainerSpec, 'env' | 'command' | 'files'>;
  /** Writes a consistent copy of the running service's data into `out`; returns what a verification expects to find. */
  dump(ops: ContainerOperations, containerId: string, credentials: ServiceCredentials, out: Writable): Promise<object>;
  /** Restores `file` into a scratch container (`containerId`, started like the service) and compares with `expected`. */
  verify(
    ops: ContainerOperations,
    containerId: string,
    credentials: ServiceCredentials,
    file: string,
    expected: object | undefined,
  ): Promise<BackupCheck>;
  /** Puts a verified, unchanged backup file in place of the ready service's data. */
  restore(context: EngineContext, target: ServiceRow, file: string): Promise<void>;
  /** Makes the service's link roles what the store says (engines whose `ServiceEngine.linkRoles` is true). */
  syncRoles?(context: EngineContext, service: ServiceRow): Promise<void>;
}

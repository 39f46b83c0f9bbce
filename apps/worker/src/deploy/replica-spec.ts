import { randomBytes } from 'node:crypto';
import {
  type ContainerFile,
  type ContainerSpec,
  DEFAULT_APP_PORT,
  LABEL_APP,
  LABEL_ENV,
  LABEL_RELEASE,
  LABEL_ROLE,
  type ResourceLimits,
} from '@pier/core';
import { processCommand } from './process-command.ts';

/** Port an app process listens on inside its container, given to it as PORT, unless its release says another. */
export const APP_PORT = DEFAULT_APP_PORT;
export const LABEL_ENVIRONMENT_ID = 'pier.environment-id';
/** Which Pier installation owns a container: reconcilers sharing one Docker Engine leave each other's alone. */
export const LABEL_INSTANCE = 'pier.instance';
/** The process type of a replica (`web`, `worker`, …). */
export const LABEL_PROCESS = 'pier.process';
/** `pier.role` of a web replica (routed, health-gated) and of a replica of any other process type. */
export const ROLE_WEB = 'web';
export const ROLE_PROCESS = 'process';

export const DEFAULT_LIMITS: ResourceLimits = { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1_000_000_000, pids: 512 };

export interface ReplicaSpecInput {
  app: string;
  env: string;
  environmentId: string;
  /**
   * `networks`: those of the services linked when the release was made;
   * `port`: the one its app listens on (null on releases made before it was kept: 8080).
   */
  release: { id: string; version: number; imageId: string; networks?: readonly string[]; port?: number | null };
  /** `web` (default: published port, routes) or another process type (no port). */
  processType?: string;
  /** The process type's command, run by the shell with SIGTERM passed on (process-command.ts); null or absent: the image's own command. */
  command?: string | null;
  /** Named volumes mounted into it: Docker volume name → mount path. */
  volumes?: Record<string, string>;
  /** The release's variables; PORT (the release's port) is added. */
  config: Record<string, string>;
  limits?: ResourceLimits;
  /** The installation's name (PIER_INSTANCE). */
  instance: string;
  /** Written into the container before it starts (the installation's CA certificate when a Postgres is linked). */
  files?: readonly ContainerFile[];
  /** Random suffix; given by tests for a stable name. */
  suffix?: string;
}

/** The network an environment's containers share (and linked services join). */
export function environmentNetwork(app: string, env: string): string {
  return `pier-${app}-${env}`;
}

/** One replica of a release as a container: pure, so every label and variable is checked in a table test. */
export function replicaSpec(input: ReplicaSpecInput): ContainerSpec {
  const suffix = input.suffix ?? randomBytes(3).toString('hex');
  const port = input.release.port ?? APP_PORT;
  const type = input.processType ?? 'web';
  const web = type === 'web';
  return {
    name: `${`pier-${input.app}-${input.env}`.slice(0, 100)}-v${input.release.version}-${web ? '' : `${type.slice(0, 30)}-`}${suffix}`,
    image: input.release.imageId,
    env: { ...input.config, PORT: String(port) },
    labels: {
      [LABEL_APP]: input.app,
      [LABEL_ENV]: input.env,
      [LABEL_ENVIRONMENT_ID]: input.environmentId,
      [LABEL_RELEASE]: input.release.id,
      [LABEL_ROLE]: web ? ROLE_WEB : ROLE_PROCESS,
      [LABEL_PROCESS]: type,
      [LABEL_INSTANCE]: input.instance,
    },
    // Only web is reached from outside; the others still get PORT, as a Procfile's processes do.
    containerPort: web ? port : null,
    networks: [environmentNetwork(input.app, input.env), ...(input.release.networks ?? [])],
    limits: input.limits ?? DEFAULT_LIMITS,
    ...(input.files?.length ? { files: [...input.files] } : {}),
    ...(input.command ? { command: processCommand(input.command) } : {}),
    ...(input.volumes && Object.keys(input.volumes).length > 0 ? { volumes: { ...input.volumes } } : {}),
  };
}

import { type ContainerSpec, type ServiceCredentials, serviceContainerName, serviceEngine, serviceNetwork } from '@pier/core';
import type { ServerTls } from './engines/engine.ts';
import { engineOperations } from './engines/registry.ts';
import { LABEL_SERVICE_CA, SERVICE_LIMITS, type ServiceIdentity, serviceLabels, VERIFY_LIMITS } from './service-labels.ts';

/** A server certificate and which CA signed it (`authorityId`, the container's `pier.service-ca` label). */
export interface ServiceTls extends ServerTls {
  authorityId: string;
}

/**
 * The service's container: its own network only (apps join that network when
 * linked), its named volume at its engine's data directory, nothing published
 * on the host; started with the credentials as its engine takes them, and
 * serving TLS with `tls` (labelled with its CA) when given.
 */
export function serviceContainerSpec(
  service: ServiceIdentity,
  credentials: ServiceCredentials,
  instance: string,
  tls?: ServiceTls,
): ContainerSpec {
  return {
    name: serviceContainerName(service.name),
    image: service.image,
    ...engineOperations(service.type).startup(credentials, tls),
    labels: { ...serviceLabels(service, instance), ...(tls ? { [LABEL_SERVICE_CA]: tls.authorityId } : {}) },
    containerPort: null,
    networks: [serviceNetwork(service.name)],
    limits: SERVICE_LIMITS,
    volumes: { [service.volumeName]: serviceEngine(service.type).dataDirectory },
  };
}

/** A container that restores a backup to check it: no network at all, its own volume, removed afterwards. */
export function verifyContainerSpec(
  service: ServiceIdentity,
  credentials: ServiceCredentials,
  instance: string,
  backupId: string,
): ContainerSpec {
  const name = `pier-verify-${backupId.slice(0, 8)}-${Date.now().toString(36)}`;
  return {
    name,
    image: service.image,
    ...engineOperations(service.type).startup(credentials),
    labels: serviceLabels(service, instance, 'backup-verify'),
    containerPort: null,
    networks: ['none'],
    limits: VERIFY_LIMITS,
    volumes: { [name]: serviceEngine(service.type).dataDirectory },
  };
}

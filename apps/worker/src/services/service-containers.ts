import type { ContainerInfo, ContainerOperations } from '@pier/core';
import { LABEL_SERVICE_ID, serviceNetwork } from '@pier/core';
import type { ServiceRow, ServiceStore } from '@pier/db';
import { LABEL_INSTANCE } from '../deploy/replica-spec.ts';
import type { ServiceAuthority } from './service-authority.ts';
import { waitReady } from './service-commands.ts';
import { serviceLabels } from './service-labels.ts';
import { serviceContainerSpec } from './service-spec.ts';

/** A database gets this long to shut down cleanly before it is killed. */
const STOP_GRACE_SECONDS = 30;
/** Roles of the short-lived containers that work on a service's data. */
export const SCRATCH_ROLES = ['backup-verify', 'restore'] as const;

export interface ServiceContainersOptions {
  services: Pick<ServiceStore, 'credentials'>;
  containers: ContainerOperations;
  instance: string;
  /** Signs the server certificate of each new container of an engine that speaks TLS. */
  authority: ServiceAuthority;
  /** How long a new container gets to accept connections. */
  readyTimeoutMs: number;
}

/** The Docker side of managed services: their containers (and scratch ones), found by `pier.service-id` and this instance. */
export class ServiceContainers {
  constructor(private readonly options: ServiceContainersOptions) {}

  /**
   * Network, volume and a fresh container (with a fresh server certificate
   * when its engine speaks TLS), resolved once it accepts an authenticated
   * connection. A container left by a crash, or one that died, is stopped
   * with a grace and replaced; the volume keeps the data.
   */
  async start(service: ServiceRow): Promise<string> {
    const { containers, instance } = this.options;
    const labels = serviceLabels(service, instance);
    await containers.ensureNetwork(serviceNetwork(service.name), labels);
    await containers.ensureVolume(service.volumeName, labels);
    const tls = await this.options.authority.serverTls(service);
    await this.stop(service.id);
    const credentials = this.options.services.credentials(service);
    const info = await containers.runContainer(serviceContainerSpec(service, credentials, instance, tls));
    try {
      await waitReady(containers, info.id, service.type, credentials, this.options.readyTimeoutMs);
    } catch (err) {
      const tail = await this.logTail(info.id);
      throw new Error(`${service.type} ${service.name}: ${(err as Error).message}${tail ? `; last log lines: ${tail}` : ''}`);
    }
    return info.id;
  }

  /** Stops (with a grace) and removes the service's container. */
  async stop(serviceId: string): Promise<void> {
    for (const old of await this.list(serviceId, 'service')) {
      await this.options.containers.stopContainer(old.id, STOP_GRACE_SECONDS);
      await this.options.containers.removeContainer(old.id);
    }
  }

  list(serviceId: string | undefined, role: string): Promise<ContainerInfo[]> {
    return this.options.containers.listContainers({
      ...(serviceId ? { [LABEL_SERVICE_ID]: serviceId } : {}),
      'pier.role': role,
      [LABEL_INSTANCE]: this.options.instance,
    });
  }

  /** Removes a scratch container, and a verification's own volume (named like it). */
  async removeScratch(container: ContainerInfo): Promise<void> {
    await this.options.containers.removeContainer(container.id);
    if (container.labels['pier.role'] === 'backup-verify')
      await this.options.containers.removeVolume(container.name).catch(() => {});
  }

  /** Every container of the service, scratch ones included. */
  async removeAll(serviceId: string): Promise<void> {
    for (const container of await this.list(serviceId, 'service')) await this.options.containers.removeContainer(container.id);
    for (const role of SCRATCH_ROLES)
      for (const container of await this.list(serviceId, role)) await this.removeScratch(container);
  }

  private async logTail(containerId: string): Promise<string> {
    const lines: string[] = [];
    try {
      for await (const entry of this.options.containers.containerLogs(containerId, { tail: 5 })) lines.push(entry.line);
    } catch {
      return '';
    }
    return lines.join(' / ');
  }
}

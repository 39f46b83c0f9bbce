import { ConflictError, type ContainerOperations, LABEL_APP, type NetworkInfo } from '@pier/core';

export type NetworkOperations = Pick<ContainerOperations, 'ensureNetwork' | 'removeNetwork' | 'listNetworks' | 'ensureVolume'>;

export interface MemoryNetworksOptions {
  /** How many running replicas are attached to a network, e.g. from MemoryWorkload's instances; default none. */
  attached?: (name: string) => number;
}

/**
 * The network half of ContainerOperations in memory, for reconciler tests
 * with MemoryWorkload: networks are names with labels, kept to the port's
 * contract (an unlabelled existing network is refused; a missing one is
 * removed quietly; one with a running replica attached is not removed), and
 * the volumes replicas mount (made once, with their labels).
 */
export class MemoryNetworks implements NetworkOperations {
  readonly #networks = new Map<string, { labels: Record<string, string>; createdAt: Date }>();
  readonly #attached: (name: string) => number;
  readonly #volumes = new Map<string, Record<string, string>>();

  constructor(options: MemoryNetworksOptions = {}) {
    this.#attached = options.attached ?? (() => 0);
  }

  async ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    const existing = this.#networks.get(name);
    if (existing && !existing.labels[LABEL_APP]) throw new ConflictError(`network ${name} exists and is not Pier's`);
    if (!existing) this.#networks.set(name, { labels: { ...labels }, createdAt: new Date() });
  }

  async removeNetwork(name: string): Promise<void> {
    if (!this.#networks.has(name)) return;
    if (this.#attached(name) > 0) throw new ConflictError(`network ${name} has active endpoints`);
    this.#networks.delete(name);
  }

  async listNetworks(labels: Record<string, string>): Promise<NetworkInfo[]> {
    const wanted = Object.entries(labels);
    return [...this.#networks]
      .filter(([, network]) => network.labels[LABEL_APP] && wanted.every(([key, value]) => network.labels[key] === value))
      .map(([name, network]) => ({
        name,
        labels: { ...network.labels },
        createdAt: network.createdAt,
        containers: this.#attached(name),
      }));
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    const existing = this.#volumes.get(name);
    if (existing && !existing[LABEL_APP]) throw new ConflictError(`volume ${name} exists and is not Pier's`);
    if (!existing) this.#volumes.set(name, { ...labels });
  }

  /** The volumes made, by name, with their labels. */
  volumes(): Map<string, Record<string, string>> {
    return new Map(this.#volumes);
  }

  /** The networks that exist now, by name. */
  names(): string[] {
    return [...this.#networks.keys()].sort();
  }
}

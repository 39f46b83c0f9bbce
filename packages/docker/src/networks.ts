import { networkInterfaces } from 'node:os';
import {
  ConflictError,
  cidrsOverlap,
  DEFAULT_NETWORK_POOL,
  LABEL_APP,
  type NetworkInfo,
  type NetworkPool,
  networkOfAddress,
  networkPoolCapacity,
  subnetCandidates,
  ValidationError,
} from '@pier/core';
import type Dockerode from 'dockerode';
import { engineMessage, isStatus } from './engine-errors.ts';

/** Docker's rule for network names. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * `ContainerOperations.ensureNetwork`: a labelled bridge network named `name`,
 * created unless it exists. The Engine allows several networks of one name and
 * its duplicate check is not atomic, so after creating one this looks again:
 * when concurrent calls made several, all agree on the oldest (`survivor`) and
 * each removes the one it made.
 */
export async function ensureNetwork(
  docker: Dockerode,
  name: string,
  labels: Record<string, string>,
  pool: NetworkPool = DEFAULT_NETWORK_POOL,
): Promise<void> {
  checkNetworkName(name);
  if (!labels[LABEL_APP]) throw new ValidationError(`a network needs the ${LABEL_APP} label`, 'labels');
  const existing = survivor(await networksNamed(docker, name));
  if (existing) return assertOwned(existing);
  const created = await createNetwork(docker, name, labels, pool);
  const winner = survivor(await networksNamed(docker, name));
  if (created && winner && winner.Id !== created) await removeNetworkById(docker, created);
  if (winner) assertOwned(winner);
}

/** `ContainerOperations.removeNetwork`: removes every network of that name; refuses one without the `pier.app` label. */
export async function removeNetwork(docker: Dockerode, name: string): Promise<void> {
  checkNetworkName(name);
  for (const network of await networksNamed(docker, name)) {
    assertOwned(network);
    await removeNetworkById(docker, network.Id);
  }
}

/** `ContainerOperations.listNetworks`: Pier's networks with every label of `labels`, and their attached containers. */
export async function listNetworks(docker: Dockerode, labels: Record<string, string>): Promise<NetworkInfo[]> {
  const filters = [LABEL_APP, ...Object.entries(labels).map(([key, value]) => `${key}=${value}`)];
  const found: NetworkInfo[] = [];
  for (const network of await docker.listNetworks({ filters: { label: filters } })) {
    // The list leaves `Containers` empty; inspecting tells (a network removed meanwhile is skipped).
    const inspected = await docker
      .getNetwork(network.Id)
      .inspect()
      .catch((error: unknown) => {
        if (isStatus(error, 404)) return null;
        throw error;
      });
    if (!inspected) continue;
    found.push({
      name: network.Name,
      labels: { ...network.Labels },
      createdAt: new Date(network.Created),
      containers: Object.keys(inspected.Containers ?? {}).length,
    });
  }
  return found;
}

/** Of networks sharing a name, the one every caller keeps: the oldest, ties broken by id. */
export function survivor<T extends { Id: string; Created: string }>(networks: readonly T[]): T | undefined {
  return [...networks].sort((a, b) => Date.parse(a.Created) - Date.parse(b.Created) || a.Id.localeCompare(b.Id))[0];
}

/** The networks named exactly `name` (the Engine's `name` filter also matches parts of names). */
async function networksNamed(docker: Dockerode, name: string): Promise<Dockerode.NetworkInspectInfo[]> {
  const networks = await docker.listNetworks({ filters: { name: [name] } });
  return networks.filter((network) => network.Name === name);
}

/**
 * The id of the network made, or undefined when the Engine says one of that
 * name exists. Its subnet comes from `pool`, skipping those that overlap a
 * network Docker has or an address of this host; one taken meanwhile by a
 * concurrent creation (the Engine refuses overlaps) is skipped too.
 */
async function createNetwork(
  docker: Dockerode,
  name: string,
  labels: Record<string, string>,
  pool: NetworkPool,
): Promise<string | undefined> {
  const docked = await dockerSubnets(docker);
  // The host's interfaces include the bridges of Docker's networks: those are Docker's, not the host's.
  const host = hostSubnets().filter((subnet) => !docked.includes(subnet));
  const used = [...docked, ...host];
  for (const subnet of subnetCandidates(pool, name)) {
    if (used.some((taken) => cidrsOverlap(taken, subnet))) continue;
    try {
      const network = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Labels: { ...labels },
        CheckDuplicate: true,
        IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
      });
      return network.id;
    } catch (error) {
      if (isStatus(error, 409)) return undefined;
      if (!/overlap/i.test(engineMessage(error))) throw error;
      // Taken meanwhile: most likely by a concurrent creation of this very network (same name, same first
      // candidate), which is then the one to use; else by another network, and the next subnet is tried.
      if ((await networksNamed(docker, name)).length > 0) return undefined;
    }
  }
  const hostOverlap = host.find((subnet) => cidrsOverlap(subnet, pool.cidr));
  throw new ConflictError(
    `cannot create network ${name}: every subnet of the network pool ${pool.cidr} is taken ` +
      `(${networkPoolCapacity(pool)} networks of /${pool.size}` +
      (hostOverlap ? `, some by this host's own network ${hostOverlap}` : '') +
      '); set PIER_NETWORK_POOL to a larger range clear of the host’s networks, or a longer PIER_NETWORK_SUBNET_SIZE',
  );
}

/** Subnets of every network the Engine has, Pier's or not. */
async function dockerSubnets(docker: Dockerode): Promise<string[]> {
  const networks = await docker.listNetworks();
  return networks.flatMap((network) => (network.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [c.Subnet] : [])));
}

/** The IPv4 networks of this host's interfaces (a VPC, a VPN): a bridge on one would cut the host off from it. */
function hostSubnets(): string[] {
  return Object.values(networkInterfaces()).flatMap((addresses) =>
    (addresses ?? []).flatMap((a) => (a.family === 'IPv4' && a.cidr ? [networkOfAddress(a.cidr) ?? a.cidr] : [])),
  );
}

async function removeNetworkById(docker: Dockerode, id: string): Promise<void> {
  try {
    await docker.getNetwork(id).remove();
  } catch (error) {
    if (isStatus(error, 404)) return;
    // 403 (or 409 on some versions): containers are still attached.
    if (isStatus(error, 403) || isStatus(error, 409))
      throw new ConflictError(`cannot remove network ${id}: ${engineMessage(error)}`);
    throw error;
  }
}

function assertOwned(network: Dockerode.NetworkInspectInfo): void {
  if (!network.Labels?.[LABEL_APP]) {
    throw new ConflictError(`network ${network.Name} exists but has no ${LABEL_APP} label, so Pier does not own it`);
  }
}

function checkNetworkName(name: string): void {
  if (!NETWORK_NAME.test(name)) throw new ValidationError(`network name ${JSON.stringify(name)} is not valid`, 'name');
}

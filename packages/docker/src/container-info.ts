import type { ContainerInfo, ContainerStatus } from '@pier/core';
import type Dockerode from 'dockerode';
import { PUBLISH_HOST_IP } from './host-config.ts';

const STATUSES: readonly ContainerStatus[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
/** What the Engine reports for a time that has not happened (never started, never finished). */
const ZERO_TIME_YEAR = 1;

/**
 * The port's view of `GET /containers/{id}/json`. The host port is the one
 * published on 127.0.0.1 (there is at most one); the Engine only reports it
 * while the container runs. The exit code is set once the container has
 * stopped (exited or dead).
 */
export function toContainerInfo(inspect: Dockerode.ContainerInspectInfo): ContainerInfo {
  const status = toStatus(inspect.State.Status);
  return {
    id: inspect.Id,
    name: inspect.Name.replace(/^\//, ''),
    imageId: inspect.Image,
    labels: { ...(inspect.Config.Labels ?? {}) },
    status,
    exitCode: status === 'exited' || status === 'dead' ? inspect.State.ExitCode : null,
    // The Engine keeps the flag of the last exit while the container is started again: only a stopped one's counts.
    oomKilled: (status === 'exited' || status === 'dead') && inspect.State.OOMKilled === true,
    startedAt: toDate(inspect.State.StartedAt),
    finishedAt: toDate(inspect.State.FinishedAt),
    hostPort: publishedHostPort(inspect.NetworkSettings.Ports),
    networks: networkAddresses(inspect.NetworkSettings.Networks),
  };
}

/** The port's view of one entry of `GET /containers/json` (a summary: no exit code, times, port or addresses). */
export function summaryToContainerInfo(summary: Dockerode.ContainerInfo): ContainerInfo {
  return {
    id: summary.Id,
    name: (summary.Names[0] ?? '').replace(/^\//, ''),
    imageId: summary.ImageID,
    labels: { ...(summary.Labels ?? {}) },
    status: toStatus(summary.State),
    exitCode: null,
    oomKilled: false,
    startedAt: null,
    finishedAt: null,
    hostPort: null,
    networks: {},
  };
}

function toStatus(status: string): ContainerStatus {
  const known = STATUSES.find((candidate) => candidate === status);
  if (!known) throw new Error(`the Engine reported an unknown container status: ${status}`);
  return known;
}

function toDate(value: string | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() <= ZERO_TIME_YEAR ? null : date;
}

function publishedHostPort(ports: Dockerode.ContainerInspectInfo['NetworkSettings']['Ports'] | null | undefined): number | null {
  for (const bindings of Object.values(ports ?? {})) {
    const binding = (bindings ?? []).find((candidate) => candidate.HostIp === PUBLISH_HOST_IP && candidate.HostPort !== '');
    if (binding) return Number(binding.HostPort);
  }
  return null;
}

function networkAddresses(networks: Dockerode.ContainerInspectInfo['NetworkSettings']['Networks'] | null | undefined) {
  const addresses: Record<string, string> = {};
  for (const [name, endpoint] of Object.entries(networks ?? {})) {
    if (endpoint.IPAddress) addresses[name] = endpoint.IPAddress;
  }
  return addresses;
}

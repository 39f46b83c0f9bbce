import type { ImageSummary } from '@pier/core';
import type Dockerode from 'dockerode';

const UNTAGGED = '<none>:<none>';

/** The port's view of one entry of `GET /images/json`. */
export function toImageSummary(info: Dockerode.ImageInfo): ImageSummary {
  return {
    imageId: info.Id,
    tags: (info.RepoTags ?? []).filter((tag) => tag !== UNTAGGED),
    labels: { ...(info.Labels ?? {}) },
    createdAt: new Date(info.Created * 1000),
    sizeBytes: info.Size,
  };
}

/** `{ a: '1' }` → `{ label: ['a=1'] }`, the Engine's "has every label" filter; none for no labels. */
export function labelFilters(labels: Record<string, string>): { label: string[] } | undefined {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}=${value}`);
  return pairs.length > 0 ? { label: pairs } : undefined;
}

/** `Config.ExposedPorts` of an image (`{ '3000/tcp': {}, '53/udp': {} }`) → its TCP ports, ascending. */
export function exposedTcpPorts(exposed: Record<string, unknown> | null | undefined): number[] {
  const ports = Object.keys(exposed ?? {}).flatMap((key) => {
    const [number, protocol = 'tcp'] = key.split('/');
    const port = Number(number);
    return protocol === 'tcp' && Number.isInteger(port) && port >= 1 && port <= 65_535 ? [port] : [];
  });
  return [...new Set(ports)].sort((a, b) => a - b);
}

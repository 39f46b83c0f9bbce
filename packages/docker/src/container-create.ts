import { type ContainerSpec, LABEL_APP, ValidationError } from '@pier/core';
import type Dockerode from 'dockerode';
import { buildHostConfig } from './host-config.ts';

/** Docker's rule for container names, without the leading `/`. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** Network names and aliases Pier uses: DNS-safe. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** What a process can receive as an environment variable name. */
const ENV_KEY = /^[^=\0]+$/;

/**
 * The body of `POST /containers/create` for a spec: its env, labels and
 * command, the container port exposed, the HostConfig of `buildHostConfig`, and
 * an endpoint (with the aliases) on the first network. The other networks are
 * connected after creation, with `networkEndpoint`. Nothing is added to the
 * spec's env: the caller sets PORT.
 */
export function containerCreateOptions(spec: ContainerSpec): Dockerode.ContainerCreateOptions {
  checkSpec(spec);
  const [firstNetwork] = spec.networks;
  return {
    name: spec.name,
    Image: spec.image,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...spec.labels },
    ...(spec.command ? { Cmd: [...spec.command] } : {}),
    ...(spec.containerPort === null ? {} : { ExposedPorts: { [`${spec.containerPort}/tcp`]: {} } }),
    HostConfig: buildHostConfig(spec),
    ...(firstNetwork ? { NetworkingConfig: { EndpointsConfig: { [firstNetwork]: networkEndpoint(spec) } } } : {}),
  };
}

/** The endpoint settings on each of the spec's networks: its aliases. */
export function networkEndpoint(spec: ContainerSpec): Dockerode.EndpointSettings {
  return spec.aliases && spec.aliases.length > 0 ? { Aliases: [...spec.aliases] } : {};
}

function checkSpec(spec: ContainerSpec): void {
  if (!CONTAINER_NAME.test(spec.name))
    throw new ValidationError(`container name ${JSON.stringify(spec.name)} is not valid`, 'name');
  if (spec.image.trim() === '') throw new ValidationError('image must not be empty', 'image');
  if (!spec.labels[LABEL_APP]) {
    throw new ValidationError(`a container needs the ${LABEL_APP} label: Pier only ever manages labelled containers`, 'labels');
  }
  const badKey = Object.keys(spec.env).find((key) => !ENV_KEY.test(key));
  if (badKey !== undefined) throw new ValidationError(`environment variable name ${JSON.stringify(badKey)} is not valid`, 'env');
  const names = [...spec.networks, ...(spec.aliases ?? [])];
  const badName = names.find((name) => !NETWORK_NAME.test(name));
  if (badName !== undefined) throw new ValidationError(`network or alias ${JSON.stringify(badName)} is not valid`, 'networks');
  if (spec.aliases?.length && spec.networks.length === 0) {
    throw new ValidationError("aliases need a network: Docker's default bridge has no aliases", 'aliases');
  }
  if (spec.command?.length === 0) throw new ValidationError('command, when given, must not be empty', 'command');
}

import { ConflictError, LABEL_APP, ValidationError } from '@pier/core';
import type Dockerode from 'dockerode';
import { engineMessage, isStatus } from './engine-errors.ts';

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** `ContainerOperations.ensureVolume`: a labelled local volume, created once (the Engine's create is idempotent by name). */
export async function ensureVolume(docker: Dockerode, name: string, labels: Record<string, string>): Promise<void> {
  checkName(name);
  if (!labels[LABEL_APP]) throw new ValidationError(`a volume needs the ${LABEL_APP} label`, 'labels');
  const existing = await inspectVolume(docker, name);
  if (existing) return assertOwned(name, existing);
  await docker.createVolume({ Name: name, Driver: 'local', Labels: { ...labels } });
  const created = await inspectVolume(docker, name);
  if (!created) throw new Error(`volume ${name} vanished right after it was created`);
  assertOwned(name, created);
}

/** `ContainerOperations.removeVolume`: missing is fine; in use is a ConflictError; unlabelled is refused. */
export async function removeVolume(docker: Dockerode, name: string): Promise<void> {
  checkName(name);
  const existing = await inspectVolume(docker, name);
  if (!existing) return;
  assertOwned(name, existing);
  try {
    await docker.getVolume(name).remove();
  } catch (error) {
    if (isStatus(error, 404)) return;
    if (isStatus(error, 409)) throw new ConflictError(`cannot remove volume ${name}: ${engineMessage(error)}`);
    throw error;
  }
}

async function inspectVolume(docker: Dockerode, name: string): Promise<{ Labels?: Record<string, string> | null } | undefined> {
  try {
    return await docker.getVolume(name).inspect();
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

function assertOwned(name: string, volume: { Labels?: Record<string, string> | null }): void {
  if (!volume.Labels?.[LABEL_APP]) {
    throw new ConflictError(`volume ${name} exists but has no ${LABEL_APP} label, so Pier does not own it`);
  }
}

function checkName(name: string): void {
  if (!VOLUME_NAME.test(name)) throw new ValidationError(`volume name ${JSON.stringify(name)} is not valid`, 'name');
}

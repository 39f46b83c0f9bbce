import type Dockerode from 'dockerode';
import { isStatus } from './engine-errors.ts';

const GONE_WITHIN_MS = 10_000;
const POLL_MS = 100;

/**
 * Makes sure the RUN containers of a stopped build are gone. The Engine removes
 * them itself (forcerm) once it notices the client left; this does not wait for
 * that: it force-removes each one the build announced, then waits until the
 * Engine no longer knows it.
 */
export async function removeBuildContainers(docker: Dockerode, containerIds: readonly string[]): Promise<void> {
  await Promise.all(containerIds.map((id) => removeContainer(docker.getContainer(id))));
}

async function removeContainer(container: Dockerode.Container): Promise<void> {
  try {
    await container.remove({ force: true });
  } catch (error) {
    // 404: already removed; 409: the Engine is removing it right now.
    if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
  }
  const deadline = Date.now() + GONE_WITHIN_MS;
  while (Date.now() < deadline) {
    if (!(await exists(container))) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`build container ${container.id} is still there ${GONE_WITHIN_MS / 1000} s after the build stopped`);
}

async function exists(container: Dockerode.Container): Promise<boolean> {
  try {
    await container.inspect();
    return true;
  } catch (error) {
    if (isStatus(error, 404)) return false;
    throw error;
  }
}

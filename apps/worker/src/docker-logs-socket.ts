import type { WorkerConfig } from '@pier/config';
import { DockerReadSocket } from '@pier/docker';
import type { Logger } from '@pier/log';
import { LABEL_INSTANCE } from './deploy/replica-spec.ts';

/**
 * Serves PIER_DOCKER_LOGS_SOCKET, when set: the api's Docker socket, which
 * reads the logs of this installation's containers and refuses every other
 * call (see DockerReadSocket), so that the api needs no access to the
 * Engine's root-equivalent socket. Refused calls are logged.
 */
export async function serveDockerLogsSocket(config: WorkerConfig, logger: Logger): Promise<DockerReadSocket | undefined> {
  if (!config.PIER_DOCKER_LOGS_SOCKET) return undefined;
  const socket = new DockerReadSocket({
    path: config.PIER_DOCKER_LOGS_SOCKET,
    dockerSocket: config.PIER_DOCKER_SOCKET,
    labels: { [LABEL_INSTANCE]: config.PIER_INSTANCE },
    onRefused: (refusal) => logger.warn(refusal, 'refused a call on the logs-only Docker socket'),
  });
  try {
    await socket.start();
  } catch (err) {
    throw new Error(`cannot serve PIER_DOCKER_LOGS_SOCKET: ${(err as Error).message}`, { cause: err });
  }
  logger.info({ path: config.PIER_DOCKER_LOGS_SOCKET }, 'serving the logs-only Docker socket');
  return socket;
}

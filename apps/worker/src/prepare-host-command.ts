import { exitOnStartupError, type WorkerConfig } from '@pier/config';
import { DockerRuntime, type FirewallRule, prepareBuildCgroup } from '@pier/docker';
import { createLogger } from '@pier/log';
import { enforceHostFirewall } from './host-firewall.ts';

/**
 * `node apps/worker/dist/main.mjs prepare-host` (compiled), as root: what the
 * worker needs root for, done before a worker that is not root starts (the
 * systemd unit runs it with `ExecStartPre=+`). Installs the host firewall for
 * PIER_NETWORK_POOL (the worker then only checks it) and sets the build
 * cgroup's process limit (the worker then only names the cgroup to the
 * Engine). Idempotent; says what it did. Fails, and so keeps the unit from
 * starting the worker, when the firewall cannot be installed; a host without
 * a build process limit (Docker's systemd cgroup driver) is only warned about,
 * as the worker would.
 */
export async function prepareHostCommand(config: WorkerConfig): Promise<void> {
  const logger = createLogger({ name: 'prepare-host', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT });
  try {
    if (config.PIER_HOST_FIREWALL) {
      const added = await enforceHostFirewall(config.PIER_NETWORK_POOL, 'install');
      logger.info(
        { pool: config.PIER_NETWORK_POOL, added: added.map(describeRule) },
        added.length > 0 ? 'host firewall installed' : 'host firewall already in place',
      );
    } else {
      logger.warn('PIER_HOST_FIREWALL is off: no host firewall installed');
    }
    const docker = new DockerRuntime({ socketPath: config.PIER_DOCKER_SOCKET }).docker;
    const cgroup = await prepareBuildCgroup(docker, config.PIER_BUILD_PIDS);
    if ('parent' in cgroup) logger.info({ cgroup: cgroup.parent, pids: config.PIER_BUILD_PIDS }, 'build process limit set');
    else logger.warn({ problem: cgroup.problem }, 'builds have no process limit');
  } catch (err) {
    exitOnStartupError('prepare-host', err);
  }
}

function describeRule(rule: FirewallRule): string {
  return `${rule.chain}: ${[...rule.match, '-j', rule.target].join(' ')}`;
}

import { scramVerifier } from '@pier/core';
import type { ServiceRow } from '@pier/db';
import { lastLine, lines } from '../../service-commands.ts';
import type { EngineContext } from '../engine.ts';
import { psqlCommand } from './postgres-commands.ts';
import { roleSetupSql } from './postgres-roles.ts';

/**
 * The link roles of a managed Postgres, made what `service_link_roles` says
 * inside its container (psql as the superuser over the unix socket, one
 * transaction): roles of links created, re-created on a new volume, their
 * passwords set; links made before link roles given one; unlinked roles
 * nothing uses dropped. Run by the `roles` operation, and after every
 * provision and restore (a restore leaves its objects to the superuser).
 */
export async function syncLinkRoles(context: EngineContext, service: ServiceRow): Promise<void> {
  const { services, roles, containers, logger } = context;
  if (!service.containerId || service.state !== 'ready') {
    throw new Error(`service ${service.name} is ${service.state}; its roles are set up once it is ready`);
  }
  const credentials = services.credentials(service);
  const plan = await roles.plan(service.id);
  const adopted = roles.newRoles(plan.legacy);
  const wanted = [...plan.keep, ...adopted];
  const script = roleSetupSql({
    superuser: credentials.user,
    database: credentials.database,
    roles: wanted.map((role) => ({ name: role.name, verifier: scramVerifier(role.password) })),
  });
  const result = await containers.exec(service.containerId, [...psqlCommand(credentials), '--single-transaction'], {
    user: 'postgres',
    stdin: lines([script]),
    timeoutMs: 5 * 60_000,
  });
  // Verifiers are not passwords, but they stay out of errors all the same.
  if (result.exitCode !== 0) throw new Error(`setting up database roles failed: ${redact(lastLine(result.stderr))}`);
  await roles.markReady(plan.keep.map((r) => r.id));
  const recorded = await roles.adopt(service.id, adopted);
  await roles.forget(plan.drop);
  if (adopted.length > 0 || plan.drop.length > 0 || plan.keep.length > 0) {
    logger.info(
      { service: service.name, roles: plan.keep.length, adopted: recorded, dropped: plan.drop.length },
      'database roles of linked environments set up',
    );
  }
}

function redact(text: string): string {
  return text.replace(/SCRAM-SHA-256\$[^'\s]*/g, 'SCRAM-SHA-256$…');
}

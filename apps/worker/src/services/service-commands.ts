import { type ContainerOperations, type ServiceCredentials, type ServiceType, serviceEngine } from '@pier/core';

/**
 * Commands run inside service containers, whatever their engine. Every one is
 * an argument array; passwords reach tools through their environment and are
 * never part of a command. Each engine's own commands are in `engines/<name>/`.
 */

/** Whether the service accepts authenticated connections over TCP (so apps on its network can connect): its engine's probe. */
export async function isReady(
  ops: ContainerOperations,
  containerId: string,
  type: ServiceType,
  credentials: ServiceCredentials,
): Promise<boolean> {
  const probe = serviceEngine(type).readinessProbe(credentials);
  try {
    const result = await ops.exec(containerId, probe.command, { env: probe.env, timeoutMs: 10_000 });
    return result.exitCode === 0 && result.stdout.trim() === probe.expect;
  } catch {
    return false;
  }
}

/** Polls `isReady` until it is true or `timeoutMs` passes. */
export async function waitReady(
  ops: ContainerOperations,
  containerId: string,
  type: ServiceType,
  credentials: ServiceCredentials,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isReady(ops, containerId, type, credentials)) return;
    const info = await ops.inspectContainer(containerId);
    if (!info || info.status === 'exited' || info.status === 'dead') {
      throw new Error(`the container ${info ? `exited with code ${info.exitCode}` : 'is gone'} before accepting connections`);
    }
    if (Date.now() > deadline) throw new Error(`did not accept connections within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function* lines(parts: string[]): AsyncIterable<string> {
  for (const part of parts) yield part;
}

export function lastLine(text: string): string {
  const rows = text.trim().split('\n');
  return rows.slice(-3).join(' / ') || '(no output)';
}

import { PassThrough, type Writable } from 'node:stream';
import type { ContainerOperations, ServiceCredentials } from '@pier/core';
import { fileChunks } from './backup-files.ts';
import { lastLine } from './service-commands.ts';

/** SAVE, then a copy of the RDB file into `out`; returns the key count Redis reported at SAVE time. */
export async function dumpRedis(
  ops: ContainerOperations,
  containerId: string,
  credentials: ServiceCredentials,
  out: Writable,
): Promise<{ keys: number }> {
  const env = { REDISCLI_AUTH: credentials.password };
  const size = await ops.exec(containerId, ['redis-cli', '--no-auth-warning', 'DBSIZE'], { env, timeoutMs: 30_000 });
  const save = await ops.exec(containerId, ['redis-cli', '--no-auth-warning', 'SAVE'], { env, timeoutMs: 10 * 60_000 });
  if (save.exitCode !== 0 || save.stdout.trim() !== 'OK')
    throw new Error(`redis SAVE failed: ${lastLine(save.stderr + save.stdout)}`);
  const copy = await ops.exec(containerId, ['cat', '/data/dump.rdb'], { stdout: out, timeoutMs: 30 * 60_000 });
  if (copy.exitCode !== 0) throw new Error(`copying dump.rdb failed: ${lastLine(copy.stderr)}`);
  return { keys: Number(size.stdout.trim()) || 0 };
}

/** Copies the file into a throwaway Redis container and checks it with redis-check-rdb; returns the keys it read. */
export async function checkRedisFile(ops: ContainerOperations, containerId: string, file: string): Promise<{ keys: number }> {
  const sink = new PassThrough();
  sink.resume();
  const copy = await ops.exec(containerId, ['tee', '/tmp/check.rdb'], { stdin: fileChunks(file), stdout: sink });
  if (copy.exitCode !== 0) throw new Error(`copying the file in failed: ${lastLine(copy.stderr)}`);
  const check = await ops.exec(containerId, ['redis-check-rdb', '/tmp/check.rdb'], { timeoutMs: 10 * 60_000 });
  const output = `${check.stdout}\n${check.stderr}`;
  if (check.exitCode !== 0 || !/RDB looks OK/i.test(output)) throw new Error(`redis-check-rdb: ${lastLine(output)}`);
  const keys = /(\d+) keys read/.exec(output);
  return { keys: keys ? Number(keys[1]) : 0 };
}

/** The multi-part AOF manifest that makes Redis (appendonly yes) load a restored RDB file as its base. */
const AOF_MANIFEST = 'file appendonly.aof.1.base.rdb seq 1 type b\n';

/**
 * Puts an RDB file in place of the data in a stopped service's volume, seen
 * here through `containerId` (a helper container with the volume at /data):
 * the file becomes the base of a fresh append-only file, so Redis loads it
 * on its next start.
 */
export async function placeRedisFile(ops: ContainerOperations, containerId: string, file: string): Promise<void> {
  const run = async (command: string[], stdin?: AsyncIterable<Uint8Array | string>) => {
    const sink = new PassThrough();
    sink.resume();
    const result = await ops.exec(containerId, command, { stdin, stdout: sink, timeoutMs: 30 * 60_000 });
    if (result.exitCode !== 0) throw new Error(`${command[0]} failed: ${lastLine(result.stderr)}`);
  };
  await run(['rm', '-rf', '--', '/data/appendonlydir', '/data/dump.rdb']);
  await run(['mkdir', '-p', '/data/appendonlydir']);
  await run(['tee', '/data/appendonlydir/appendonly.aof.1.base.rdb'], fileChunks(file));
  await run(
    ['tee', '/data/appendonlydir/appendonly.aof.manifest'],
    (async function* () {
      yield AOF_MANIFEST;
    })(),
  );
}

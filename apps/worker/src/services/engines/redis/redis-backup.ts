import { PassThrough, type Writable } from 'node:stream';
import type { ContainerOperations, ServiceCredentials } from '@pier/core';
import { fileChunks } from '../../backup-files.ts';
import { lastLine } from '../../service-commands.ts';

/**
 * BGSAVE (Redis keeps serving while it forks and writes), waits until that
 * snapshot is done, then copies the RDB file into `out`; returns the key
 * count Redis reported just before.
 */
export async function dumpRedis(
  ops: ContainerOperations,
  containerId: string,
  credentials: ServiceCredentials,
  out: Writable,
): Promise<{ keys: number }> {
  const cli = async (...args: string[]) => {
    const result = await ops.exec(containerId, ['redis-cli', '--no-auth-warning', ...args], {
      env: { REDISCLI_AUTH: credentials.password },
      timeoutMs: 30_000,
    });
    if (result.exitCode !== 0 || /^(ERR|NOAUTH|WRONGPASS)/m.test(result.stdout)) {
      throw new Error(`redis-cli ${args[0]} failed: ${lastLine(result.stderr + result.stdout)}`);
    }
    return result.stdout;
  };
  const keys = Number((await cli('DBSIZE')).trim());
  const before = persistence(await cli('INFO', 'persistence'));
  const started = await cli('BGSAVE');
  if (!/Background saving started|already in progress/i.test(started)) throw new Error(`BGSAVE: ${lastLine(started)}`);
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const now = persistence(await cli('INFO', 'persistence'));
    if (now.saves > before.saves && !now.inProgress) {
      if (!now.ok) throw new Error('the background save failed (rdb_last_bgsave_status is not ok)');
      break;
    }
    if (Date.now() > deadline) throw new Error('the background save did not finish within 30 minutes');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const copy = await ops.exec(containerId, ['cat', '/data/dump.rdb'], { stdout: out, timeoutMs: 30 * 60_000 });
  if (copy.exitCode !== 0) throw new Error(`copying dump.rdb failed: ${lastLine(copy.stderr)}`);
  return { keys: Number.isFinite(keys) ? keys : 0 };
}

/** The fields of `INFO persistence` a backup waits on. */
function persistence(info: string): { saves: number; inProgress: boolean; ok: boolean } {
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
  return {
    saves: Number(field('rdb_saves') ?? 0),
    inProgress: field('rdb_bgsave_in_progress') === '1',
    ok: field('rdb_last_bgsave_status') === 'ok',
  };
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
 * Swaps the prepared `/data/restore-incoming` in as the append-only
 * directory. A fixed script (no outside text): the old data is only renamed
 * aside (`*.before-restore`), so a crash at any point loses nothing.
 */
const SWAP_SCRIPT = `set -e
rm -rf /data/appendonlydir.before-restore /data/dump.rdb.before-restore
if [ -d /data/appendonlydir ]; then mv /data/appendonlydir /data/appendonlydir.before-restore; fi
if [ -f /data/dump.rdb ]; then mv /data/dump.rdb /data/dump.rdb.before-restore; fi
mv /data/restore-incoming /data/appendonlydir`;

/**
 * Puts an RDB file in place of the data in a stopped service's volume, seen
 * here through `containerId` (a helper container with the volume at /data):
 * the file becomes the base of a fresh append-only file, so Redis loads it on
 * its next start. The file is written completely before anything of the old
 * data is touched, and the old data is kept aside until `dropPreviousRedisData`.
 */
export async function placeRedisFile(ops: ContainerOperations, containerId: string, file: string): Promise<void> {
  const run = async (command: string[], stdin?: AsyncIterable<Uint8Array | string>) => {
    const sink = new PassThrough();
    sink.resume();
    const result = await ops.exec(containerId, command, { stdin, stdout: sink, timeoutMs: 30 * 60_000 });
    if (result.exitCode !== 0) throw new Error(`${command[0]} failed: ${lastLine(result.stderr)}`);
  };
  await run(['rm', '-rf', '--', '/data/restore-incoming']);
  await run(['mkdir', '-p', '/data/restore-incoming']);
  await run(['tee', '/data/restore-incoming/appendonly.aof.1.base.rdb'], fileChunks(file));
  await run(
    ['tee', '/data/restore-incoming/appendonly.aof.manifest'],
    (async function* () {
      yield AOF_MANIFEST;
    })(),
  );
  await run(['sh', '-c', SWAP_SCRIPT]);
}

/** Once the restored Redis runs: the data it replaced is removed. */
export async function dropPreviousRedisData(ops: ContainerOperations, containerId: string): Promise<void> {
  await ops.exec(containerId, ['rm', '-rf', '--', '/data/appendonlydir.before-restore', '/data/dump.rdb.before-restore']);
}

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores, type VolumeOperationRow, type VolumeWithOwner } from '@pier/db';
import { DockerRuntime } from '@pier/docker';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VolumeBackups } from '../../apps/worker/src/volumes/volume-backups.ts';
import { VolumeOperator } from '../../apps/worker/src/volumes/volume-operator.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';

/**
 * Volume backups, restores and deletion with the real volume operator, real
 * Docker and Postgres: a backup is a verified tar; a restore into a fresh
 * volume has the same files (checksums compared); a restore in place puts
 * the files back; a changed file is never restored; deleteData removes the
 * Docker volume, else it is kept.
 */

const instance = `pier-test-vol-${randomBytes(3).toString('hex')}`;
const URL = '/apps/vault/environments/production/volumes';
let api: TestApi;
let docker: DockerRuntime;
let operator: VolumeOperator;
let backupDirectory: string;
let writer: string;

beforeAll(async () => {
  api = await createTestApi();
  docker = new DockerRuntime();
  backupDirectory = mkdtempSync(join(tmpdir(), 'pier-volume-backups-'));
  operator = new VolumeOperator({
    ...operatorStores(),
    containers: docker,
    sql: api.database.sql,
    logger: SILENT,
    instance,
    image: LOCAL_IMAGES.procfile,
    backupDirectory,
    pollIntervalMs: 300,
    reconcileIntervalMs: 60_000,
    busyRetryMs: 500,
  });
  operator.start();
  expect((await api.request({ method: 'POST', url: '/apps', payload: { name: 'vault' } })).statusCode).toBe(201);
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  for (const c of await docker.listContainers({ 'pier.instance': instance })) await docker.removeContainer(c.id).catch(() => {});
  const volumes = (await docker.docker.listVolumes({ filters: { label: [`pier.instance=${instance}`] } })).Volumes ?? [];
  for (const volume of volumes) await docker.removeVolume(volume.Name).catch(() => {});
  await api?.close();
  rmSync(backupDirectory, { recursive: true, force: true });
}, 60_000);

const SILENT = createLogger({ name: 'worker', level: 'silent', format: 'json' });
function operatorStores() {
  const { volumes, volumeOperations } = createStores(api.database.db, api.box);
  return { volumes, operations: volumeOperations };
}

async function createVolume(name: string, mountPath = '/data'): Promise<string> {
  const res = await api.request({ method: 'POST', url: URL, payload: { name, mountPath } });
  expect(res.statusCode).toBe(201);
  const dockerName = res.json().dockerVolume as string;
  // The operator makes the Docker volume, labelled, as soon as the row exists (NOTIFY).
  await expect.poll(async () => (await volumeLabels(dockerName))?.['pier.volume'], { timeout: 20_000 }).toBe(name);
  return dockerName;
}

async function volumeLabels(name: string): Promise<Record<string, string> | undefined> {
  try {
    return (await docker.docker.getVolume(name).inspect()).Labels ?? {};
  } catch {
    return undefined;
  }
}

/** The labels of a replica of `processType` in the environment (what the worker looks for before a restore). */
function replicaLabels(environmentId: string, processType: string): Record<string, string> {
  return { 'pier.environment-id': environmentId, 'pier.process': processType, 'pier.role': 'process' };
}

/** A container of the test's own with `dockerName` at /data, to write and read files with exec. */
async function mountIn(dockerName: string, labels: Record<string, string> = {}): Promise<string> {
  const info = await docker.runContainer({
    name: `pier-voltest-${randomBytes(4).toString('hex')}`,
    image: LOCAL_IMAGES.procfile,
    env: {},
    labels: { 'pier.app': 'vault', 'pier.role': 'test', ...labels, 'pier.instance': instance },
    containerPort: null,
    networks: ['none'],
    limits: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 },
    volumes: { [dockerName]: '/data' },
    command: ['sleep', 'infinity'],
  });
  return info.id;
}

async function sh(container: string, script: string): Promise<string> {
  const result = await docker.exec(container, ['sh', '-c', script]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

/** Every file of /data with its SHA-256, sorted. */
const CHECKSUMS = 'cd /data && find . -type f -exec sha256sum {} + | sort';

async function operationDone(id: string): Promise<{ state: string; error: string | null }> {
  let row: { state: string; error: string | null } | undefined;
  await expect
    .poll(
      async () => {
        [row] = await api.database.sql<{ state: string; error: string | null }[]>`
          select state, error from volume_operations where id = ${id}`;
        return row?.state;
      },
      { timeout: 60_000, interval: 300 },
    )
    .toMatch(/done|failed/);
  return row as { state: string; error: string | null };
}

async function backupFinished(volume: string, id: string) {
  let backup:
    | { state: string; error: string | null; verification: Record<string, unknown>; file: string; sha256: string }
    | undefined;
  await expect
    .poll(
      async () => {
        const list = (await api.request({ method: 'GET', url: `${URL}/${volume}/backups` })).json().backups;
        backup = list.find((b: { id: string }) => b.id === id);
        return ['good', 'failed'].includes(backup?.state ?? '');
      },
      { timeout: 60_000, interval: 300 },
    )
    .toBe(true);
  return backup as NonNullable<typeof backup>;
}

describe('volume backups', () => {
  let original: string;
  let backupId: string;
  let dataVolume: string;

  it('backs a volume up as a tar, verified by reading it back against the files and bytes in the volume', async () => {
    dataVolume = await createVolume('data');
    writer = await mountIn(dataVolume);
    await sh(
      writer,
      'mkdir -p /data/sub/deeper && echo hello > /data/a.txt && head -c 100000 /dev/urandom > /data/sub/deeper/blob && : > /data/empty && ln /data/a.txt /data/sub/hard',
    );
    original = await sh(writer, CHECKSUMS);
    expect(original.trim().split('\n')).toHaveLength(4);

    const res = await api.request({ method: 'POST', url: `${URL}/data/backups` });
    expect(res.statusCode).toBe(202);
    backupId = res.json().id;
    const backup = await backupFinished('data', backupId);
    expect(backup).toMatchObject({ state: 'good', error: null, verification: { files: 4, bytes: 6 + 100_000 } }); // the hard link's bytes once
    const file = await readFile(join(backupDirectory, backup.file));
    expect(createHash('sha256').update(file).digest('hex')).toBe(backup.sha256);
    expect(backup.file).toMatch(/^volumes\/vault\/production\/data\/.+\.tar$/);

    const listed = (await api.request({ method: 'GET', url: URL })).json().volumes[0];
    expect(listed).toMatchObject({ name: 'data', sizeBytes: 100_006, lastBackup: { id: backupId, state: 'good' } });
  }, 90_000);

  it('restores into a fresh volume with the same files', async () => {
    const res = await api.request({ method: 'POST', url: `${URL}/data/restore`, payload: { backupId, into: 'copy' } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ volume: { name: 'copy', mountPath: '/data', processTypes: [] } });
    expect(await operationDone(res.json().operation.id)).toEqual({ state: 'done', error: null });
    const reader = await mountIn(res.json().volume.dockerVolume);
    expect(await sh(reader, CHECKSUMS)).toBe(original);
    await docker.removeContainer(reader);
  }, 90_000);

  it('restores in place: changed and added files are put back as they were', async () => {
    await sh(writer, 'echo changed > /data/a.txt && echo extra > /data/extra && rm /data/empty');
    expect(await sh(writer, CHECKSUMS)).not.toBe(original);
    const res = await api.request({ method: 'POST', url: `${URL}/data/restore`, payload: { backupId } });
    expect(res.statusCode).toBe(202);
    expect(await operationDone(res.json().operation.id)).toEqual({ state: 'done', error: null });
    expect(await sh(writer, CHECKSUMS)).toBe(original);
  }, 90_000);

  it('an in-place restore waits for a replica that still mounts the volume (its row gone, its container stopping)', async () => {
    const stores = createStores(api.database.db, api.box);
    const data = (await stores.volumes.listAll()).find((v) => v.name === 'data' && !v.deletingAt);
    const stopping = await mountIn(data?.dockerName as string, replicaLabels(data?.environmentId as string, 'web'));
    await sh(stopping, 'echo late > /data/late-write');
    const res = await api.request({ method: 'POST', url: `${URL}/data/restore`, payload: { backupId } });
    expect(res.statusCode).toBe(202); // no replica row: the API lets it through
    const id = res.json().operation.id as string;
    await expect
      .poll(async () => (await stores.volumeOperations.operation(id))?.error ?? '', { timeout: 20_000, interval: 100 })
      .toContain('still mounted by 1 stopping containers');
    expect((await stores.volumeOperations.operation(id))?.state).toMatch(/pending|running/);
    expect(await sh(stopping, 'cat /data/late-write')).toBe('late\n'); // nothing restored under it
    await docker.removeContainer(stopping);
    expect(await operationDone(id)).toEqual({ state: 'done', error: null });
    expect(await sh(writer, CHECKSUMS)).toBe(original);
  }, 90_000);

  it('never restores into a new volume that running containers mount', async () => {
    // A volume that a clock replica mounts (made so here: the API refuses to mount a volume a restore is filling).
    const res = await api.request({
      method: 'POST',
      url: URL,
      payload: { name: 'busy-target', mountPath: '/t', processTypes: ['clock'] },
    });
    expect(res.statusCode).toBe(201);
    const stores = createStores(api.database.db, api.box);
    const [target] = (await stores.volumes.listAll()).filter((v) => v.name === 'busy-target');
    const source = (await stores.volumes.listAll()).find((v) => v.name === 'data' && !v.deletingAt);
    const replica = await mountIn(res.json().dockerVolume, replicaLabels(target?.environmentId as string, 'clock'));
    await sh(replica, 'echo mine > /data/own');
    const backups = new VolumeBackups({
      ...operatorStores(),
      containers: docker,
      logger: SILENT,
      instance,
      image: LOCAL_IMAGES.procfile,
      backupDirectory,
    });
    const op = { id: randomUUID(), kind: 'restore', backupId, options: { intoVolumeId: target?.id } } as VolumeOperationRow;
    await expect(backups.restore(source as VolumeWithOwner, op, new AbortController().signal)).rejects.toThrow(
      'volume busy-target is mounted by 1 running containers: a restore fills a volume nothing mounts',
    );
    expect(await sh(replica, 'cat /data/own')).toBe('mine\n');
    await docker.removeContainer(replica);
  }, 90_000);

  it('never restores a backup file that changed on disk', async () => {
    const backup = await backupFinished('data', backupId);
    await appendFile(join(backupDirectory, backup.file), 'tampered');
    const res = await api.request({ method: 'POST', url: `${URL}/data/restore`, payload: { backupId, into: 'copy-two' } });
    const op = await operationDone(res.json().operation.id);
    expect(op.state).toBe('failed');
    expect(op.error).toContain('SHA-256 differs');
  }, 90_000);
});

describe('verification', () => {
  it('fails a backup of a volume whose files change while it is read', async () => {
    const busy = await createVolume('busy', '/busy');
    const writer = await mountIn(busy);
    // A new empty file every few milliseconds: what tar finds is never what was measured just before.
    await docker.exec(writer, ['sh', '-c', 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); : > /data/f$i; done >/dev/null 2>&1 &']);
    await expect.poll(async () => Number((await sh(writer, 'ls /data | wc -l')).trim()), { timeout: 10_000 }).toBeGreaterThan(50);
    const res = await api.request({ method: 'POST', url: `${URL}/busy/backups` });
    const backup = await backupFinished('busy', res.json().id);
    await docker.removeContainer(writer);
    expect(backup.state).toBe('failed');
    // tar mostly notices (it exits 1 each time: the torn-archive refusal); when it does not, the figures differ.
    expect(backup.error).toMatch(
      /the archive holds \d+ files \(0 bytes\) but the volume had \d+ \(0 bytes\)|files of the volume changed while they were read/,
    );
  }, 90_000);
});

describe('a volume written while it is read', () => {
  it('fails the backup (tar exited 1 in every attempt) instead of keeping a torn archive as good', async () => {
    const torn = await createVolume('torn', '/torn');
    const writer = await mountIn(torn);
    // One 8 MiB file rewritten in place without end: same name, same size, so the counts match, but never one moment's copy.
    await sh(writer, 'head -c 8388608 /dev/zero > /data/big');
    await docker.exec(writer, [
      'sh',
      '-c',
      'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); dd if=/dev/urandom of=/data/big bs=1M count=8 conv=notrunc 2>/dev/null; done >/dev/null 2>&1 &',
    ]);
    const res = await api.request({ method: 'POST', url: `${URL}/torn/backups` });
    const backup = await backupFinished('torn', res.json().id);
    await docker.removeContainer(writer);
    expect(backup.state).toBe('failed');
    expect(backup.error).toContain('files of the volume changed while they were read, in each of 3 attempts');
    expect(backup.error).toContain('scale the process types that write to it to 0');
    expect(backup.file).toBeNull();
  }, 90_000);
});

describe('scheduled backups and retention', () => {
  it('takes one backup per due slot, and keeps the newest good ones (backup_retention), removing the others’ files', async () => {
    const later = new Date(Date.now() + 2 * 86_400_000);
    await operator.reconcile(later);
    await operator.reconcile(later); // the same slot again: taken once
    const scheduled = (await api.request({ method: 'GET', url: `${URL}/data/backups` }))
      .json()
      .backups.filter((b: { trigger: string }) => b.trigger === 'scheduled');
    expect(scheduled).toHaveLength(1);
    expect(new Date(scheduled[0].scheduledFor).toISOString()).toMatch(/T04:00:00.000Z$/); // the default 0 4 * * *
    expect((await backupFinished('data', scheduled[0].id)).state).toBe('good');

    await api.database.sql`update volumes set backup_retention = 1 where name = 'data'`;
    const older = (await api.request({ method: 'GET', url: `${URL}/data/backups` })).json().backups;
    const newest = (await api.request({ method: 'POST', url: `${URL}/data/backups` })).json();
    expect((await backupFinished('data', newest.id)).state).toBe('good');
    const left = (await api.request({ method: 'GET', url: `${URL}/data/backups` })).json().backups;
    expect(left.map((b: { id: string }) => b.id)).toEqual([newest.id]);
    for (const old of older) await expect(readFile(join(backupDirectory, old.file))).rejects.toThrow('ENOENT');
    await expect(readFile(join(backupDirectory, left[0].file))).resolves.toBeInstanceOf(Buffer);
  }, 90_000);
});

describe('volume deletion', () => {
  it('without deleteData keeps the Docker volume; with it, removes the volume and its backup files', async () => {
    await docker.removeContainer(writer);
    const kept = await api.request({ method: 'DELETE', url: `${URL}/copy` });
    expect(kept.statusCode).toBe(202);
    await expect
      .poll(async () => (await api.database.sql`select 1 from volumes where name = 'copy'`).length, { timeout: 30_000 })
      .toBe(0);
    expect(await volumeLabels(kept.json().dockerVolume)).toBeDefined();

    const files = (await api.request({ method: 'GET', url: `${URL}/data/backups` }))
      .json()
      .backups.map((b: { file: string }) => b.file);
    const gone = await api.request({ method: 'DELETE', url: `${URL}/data?deleteData=true` });
    expect(gone.json()).toMatchObject({ deleteData: true });
    await expect.poll(async () => volumeLabels(gone.json().dockerVolume), { timeout: 30_000 }).toBeUndefined();
    await expect
      .poll(async () => (await api.database.sql`select 1 from volumes where name = 'data'`).length, { timeout: 30_000 })
      .toBe(0);
    for (const file of files) await expect(readFile(join(backupDirectory, file))).rejects.toThrow('ENOENT');
  }, 90_000);
});

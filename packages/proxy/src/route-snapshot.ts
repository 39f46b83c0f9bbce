import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { healthCheckPathProblem, type Route } from '@pier/core';
import { z } from 'zod';

const SNAPSHOT_VERSION = 1;

const upstreamSchema = z.object({
  id: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  releaseId: z.string().min(1).optional(),
});

const routeSchema = z.object({
  app: z.string().min(1),
  env: z.string().min(1),
  environmentId: z.string().min(1).optional(),
  hostnames: z.array(z.string().min(1)),
  upstreams: z.array(upstreamSchema),
  healthPath: z
    .string()
    .refine((value) => healthCheckPathProblem(value) === undefined)
    .optional(),
});

const snapshotSchema = z.object({
  version: z.literal(SNAPSHOT_VERSION),
  savedAt: z.string(),
  routes: z.array(routeSchema),
});

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/** Reads a snapshot written by `writeSnapshot`; throws SnapshotError when it is missing, unreadable or malformed. */
export async function readSnapshot(path: string): Promise<{ routes: Route[]; savedAt: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SnapshotError(`cannot read route snapshot ${path}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SnapshotError(`route snapshot ${path} is not valid JSON`, { cause: err });
  }
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) throw new SnapshotError(`route snapshot ${path} is malformed: ${z.prettifyError(parsed.error)}`);
  return { routes: parsed.data.routes as Route[], savedAt: parsed.data.savedAt };
}

/**
 * Replaces the snapshot atomically: write a temporary file beside it, fsync,
 * rename over the old one, fsync the directory. A crash leaves the old file or
 * the new one, never a torn one.
 */
export async function writeSnapshot(path: string, routes: readonly Route[], now = new Date()): Promise<void> {
  const body = `${JSON.stringify({ version: SNAPSHOT_VERSION, savedAt: now.toISOString(), routes }, null, 2)}\n`;
  await writeFileAtomically(path, body);
}

/**
 * Writes `body` to `path` (mode 0600) through a temporary file that is fsynced
 * and renamed into place, then fsyncs the directory: a reader finds the old
 * file or the new one, never a torn one, also after a crash.
 */
export async function writeFileAtomically(path: string, body: string): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true });
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(body, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  const dir = await open(directory, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

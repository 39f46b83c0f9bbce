import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** A backup's file: `<dir>/<service>/<time>-<id>.<ext>`; the service name and id are validated identifiers, `ext` its engine's. */
export function backupPath(directory: string, serviceName: string, backupId: string, ext: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return join(directory, serviceName, `${stamp}-${backupId}.${ext}`);
}

/**
 * Writes a file through `write` into a temporary name and renames it into
 * place once complete and fsynced: a crash never leaves a half file under the
 * final name. Returns its size and SHA-256.
 */
export async function writeAtomically(
  path: string,
  write: (out: Writable) => Promise<void>,
): Promise<{ sizeBytes: number; sha256: string }> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.partial`;
  const hash = createHash('sha256');
  let size = 0;
  const file = createWriteStream(temporary, { mode: 0o600 });
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  hashing.pipe(file);
  try {
    await write(hashing);
    if (!hashing.writableEnded) hashing.end();
    await finished(file);
    const handle = await open(temporary, 'r');
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
  } catch (err) {
    hashing.destroy();
    file.destroy();
    await rm(temporary, { force: true });
    throw err;
  }
  return { sizeBytes: size, sha256: hash.digest('hex') };
}

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function fileExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function* fileChunks(path: string): AsyncIterable<Uint8Array> {
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) yield chunk as Buffer;
}

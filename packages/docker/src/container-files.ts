import { type ContainerFile, ValidationError } from '@pier/core';

const BLOCK = 512;
/** Absolute, no `.`/`..` segments, no empty segment, printable ASCII without spaces or backslashes. */
const SAFE_PATH = /^(\/[A-Za-z0-9_.+-]+)+$/;

/** A user's ids, as `/etc/passwd` gives them. */
export interface FileOwner {
  uid: number;
  gid: number;
}

/**
 * A tar archive (ustar) of `files`, for `PUT /containers/{id}/archive` at
 * `/`: one regular file each, with its mode, owned by root or by its `owner`
 * (looked up in `owners`, which `passwdOwners` reads from the image), dated at
 * the epoch. Nothing outside the listed paths is written; the Engine makes
 * missing directories (root's, 0755).
 */
export function filesArchive(files: readonly ContainerFile[], owners: ReadonlyMap<string, FileOwner> = new Map()): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    checkFile(file);
    const owner = file.owner === undefined ? { uid: 0, gid: 0 } : owners.get(file.owner);
    if (!owner) throw new ValidationError(`file ${file.path}: the image has no user ${JSON.stringify(file.owner)}`, 'files');
    const content = Buffer.from(file.content, 'utf8');
    parts.push(header(file.path.slice(1), file.mode, content.length, owner), content, Buffer.alloc(padding(content.length)));
  }
  parts.push(Buffer.alloc(2 * BLOCK)); // end of archive
  return Buffer.concat(parts);
}

/** Refuses (ValidationError naming `files`) a path or mode `filesArchive` would not write. */
export function checkFile(file: ContainerFile): void {
  const segments = file.path.split('/').slice(1);
  if (!SAFE_PATH.test(file.path) || segments.some((s) => s === '.' || s === '..') || file.path.length > 100) {
    throw new ValidationError(
      `file path ${JSON.stringify(file.path)} must be absolute, at most 100 characters, without . or .. segments`,
      'files',
    );
  }
  if (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o777) {
    throw new ValidationError(`file mode of ${file.path} must be permission bits (0 to 0o777)`, 'files');
  }
}

/** One ustar header block: the name in the 100-byte name field, the owner's uid and gid, a regular file. */
function header(name: string, mode: number, size: number, owner: FileOwner): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'ascii');
  octal(block, 100, 8, mode);
  octal(block, 108, 8, owner.uid);
  octal(block, 116, 8, owner.gid);
  octal(block, 124, 12, size);
  octal(block, 136, 12, 0); // mtime
  block.write('0', 156, 'ascii'); // regular file
  block.write('ustar\u000000', 257, 'ascii');
  block.write('        ', 148, 'ascii'); // the checksum counts its own field as spaces
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii');
  return block;
}

/** A zero-padded octal number filling `length - 1` bytes, then NUL. */
function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Users of an `/etc/passwd` (`name:x:uid:gid:…`); malformed lines are left out. */
export function passwdOwners(passwd: string): Map<string, FileOwner> {
  const owners = new Map<string, FileOwner>();
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (!name || !/^\d{1,10}$/.test(uid ?? '') || !/^\d{1,10}$/.test(gid ?? '')) continue;
    owners.set(name, { uid: Number(uid), gid: Number(gid) });
  }
  return owners;
}

/** The content of the first regular file of a tar archive (what `GET /containers/{id}/archive` of one file returns). */
export function firstFileOf(archive: Buffer): string {
  for (let offset = 0; offset + BLOCK <= archive.length; ) {
    const size = Number.parseInt(
      archive
        .subarray(offset + 124, offset + 136)
        .toString('ascii')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    const type = archive.subarray(offset + 156, offset + 157).toString('ascii');
    if (archive.subarray(offset, offset + BLOCK).every((byte) => byte === 0)) break;
    if (type === '0' || type === '\0') return archive.subarray(offset + BLOCK, offset + BLOCK + size).toString('utf8');
    offset += BLOCK + size + padding(size);
  }
  throw new Error('the archive holds no regular file');
}

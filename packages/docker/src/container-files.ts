import { type ContainerFile, ValidationError } from '@pier/core';

const BLOCK = 512;
/** Absolute, no `.`/`..` segments, no empty segment, printable ASCII without spaces or backslashes. */
const SAFE_PATH = /^(\/[A-Za-z0-9_.+-]+)+$/;

/**
 * A tar archive (ustar) of `files`, for `PUT /containers/{id}/archive` at
 * `/`: one regular file each, owned by root with its mode, dated at the epoch.
 * Nothing outside the listed paths is written; the directories must exist.
 */
export function filesArchive(files: readonly ContainerFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    checkFile(file);
    const content = Buffer.from(file.content, 'utf8');
    parts.push(header(file.path.slice(1), file.mode, content.length), content, Buffer.alloc(padding(content.length)));
  }
  parts.push(Buffer.alloc(2 * BLOCK)); // end of archive
  return Buffer.concat(parts);
}

function checkFile(file: ContainerFile): void {
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

/** One ustar header block: the name in the 100-byte name field, uid and gid 0, a regular file. */
function header(name: string, mode: number, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'ascii');
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0); // uid
  octal(block, 116, 8, 0); // gid
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

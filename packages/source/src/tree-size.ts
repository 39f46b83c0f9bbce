/** Git modes of the entries a checkout writes as regular files (not symlinks 120000, not submodules 160000). */
const REGULAR_FILE_MODES = new Set(['100644', '100755', '100664']);
const SYMLINK_MODE = '120000';
/** A file system block: what the smallest file (or a symlink) takes on disk. */
const BLOCK_BYTES = 4096;

/**
 * Sums the sizes of regular files in the output of `git ls-tree -r -l -z`
 * (`<mode> SP <type> SP <object> SP <padded size> TAB <path> NUL`), fed in
 * chunks as git writes it. Only each record's header (before the tab) is
 * kept, so a long path costs nothing, and every character is looked at once.
 */
export class TreeSizeCounter {
  #bytes = 0;
  #diskBytes = 0;
  #files = 0;
  #header = '';
  /** Inside a record's path, skipping to its NUL. */
  #inPath = false;

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * What the checkout takes on disk at least: each file rounded up to whole
   * 4 KiB blocks, each symlink one block. Millions of empty files sum to no
   * bytes but still fill a disk's blocks and inodes; this counts them.
   */
  get diskBytes(): number {
    return this.#diskBytes;
  }

  /** Regular files counted so far. */
  get files(): number {
    return this.#files;
  }

  push(chunk: string): void {
    let start = 0;
    while (start < chunk.length) {
      if (this.#inPath) {
        const end = chunk.indexOf('\0', start);
        if (end === -1) return;
        this.#inPath = false;
        start = end + 1;
        continue;
      }
      const tab = chunk.indexOf('\t', start);
      if (tab === -1) {
        this.#header += chunk.slice(start);
        return;
      }
      this.#count(this.#header + chunk.slice(start, tab));
      this.#header = '';
      this.#inPath = true;
      start = tab + 1;
    }
  }

  #count(header: string): void {
    const [mode = '', type, , size = ''] = header.trim().split(/ +/);
    if (type === 'blob' && mode === SYMLINK_MODE) this.#diskBytes += BLOCK_BYTES;
    if (type !== 'blob' || !REGULAR_FILE_MODES.has(mode)) return;
    const bytes = Number(size);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`git ls-tree printed an unreadable size: ${header}`);
    this.#bytes += bytes;
    this.#diskBytes += Math.max(1, Math.ceil(bytes / BLOCK_BYTES)) * BLOCK_BYTES;
    this.#files++;
  }
}

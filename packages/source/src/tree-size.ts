/** Git modes of the entries a checkout writes as regular files (not symlinks 120000, not submodules 160000). */
const REGULAR_FILE_MODES = new Set(['100644', '100755', '100664']);

/**
 * Sums the sizes of regular files in the output of `git ls-tree -r -l -z`
 * (`<mode> SP <type> SP <object> SP <padded size> TAB <path> NUL`), fed in
 * chunks as git writes it. Only each record's header (before the tab) is
 * kept, so a long path costs nothing, and every character is looked at once.
 */
export class TreeSizeCounter {
  #bytes = 0;
  #files = 0;
  #header = '';
  /** Inside a record's path, skipping to its NUL. */
  #inPath = false;

  get bytes(): number {
    return this.#bytes;
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
    if (type !== 'blob' || !REGULAR_FILE_MODES.has(mode)) return;
    const bytes = Number(size);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`git ls-tree printed an unreadable size: ${header}`);
    this.#bytes += bytes;
    this.#files++;
  }
}

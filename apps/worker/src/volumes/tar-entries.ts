/** What a tar archive holds: its regular files and their bytes. */
export interface TarCount {
  files: number;
  bytes: number;
}

const BLOCK = 512;

/**
 * Reads a tar archive (ustar, GNU and pax headers, as GNU tar writes them)
 * from `chunks` and counts its regular files (a hard link is a file, its
 * bytes counted once) and their bytes, reading every block: a truncated or
 * malformed archive is an error. Directories, symbolic links and other
 * entries are not counted; GNU long names and pax records are read
 * (a pax `size` overrides the header's).
 */
export async function countTarEntries(chunks: AsyncIterable<Uint8Array>): Promise<TarCount> {
  const count: TarCount = { files: 0, bytes: 0 };
  let buffered = Buffer.alloc(0);
  /** Bytes of entry data (padded to blocks) still to skip, or to collect for a pax header. */
  let skip = 0;
  let pax: { remaining: number; data: Buffer[] } | null = null;
  let paxSize: number | undefined;
  let ended = false;
  for await (const chunk of chunks) {
    buffered = buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffered, chunk]);
    while (!ended) {
      if (skip > 0) {
        const take = Math.min(skip, buffered.length);
        if (pax) pax.data.push(buffered.subarray(0, take));
        buffered = buffered.subarray(take);
        skip -= take;
        if (skip > 0) break;
        if (pax) {
          paxSize = paxRecordSize(Buffer.concat(pax.data).subarray(0, pax.remaining));
          pax = null;
        }
        continue;
      }
      if (buffered.length < BLOCK) break;
      const header = buffered.subarray(0, BLOCK);
      buffered = buffered.subarray(BLOCK);
      if (header.every((b) => b === 0)) {
        ended = true;
        break;
      }
      checkChecksum(header);
      const type = String.fromCharCode(header[156] ?? 0);
      const size = type === 'x' || type === 'g' || paxSize === undefined ? headerSize(header) : paxSize;
      if (type === 'x') pax = { remaining: size, data: [] };
      else paxSize = undefined;
      if (type === '0' || type === '\0' || type === '7') {
        count.files += 1;
        count.bytes += size;
      } else if (type === '1') count.files += 1; // another name of a file stored before: its bytes are counted there
      // Hard and symbolic links, directories and devices have no data; the rest (files, long names, pax) has `size` bytes.
      const hasData = !['1', '2', '3', '4', '5', '6'].includes(type);
      skip = hasData ? Math.ceil(size / BLOCK) * BLOCK : 0;
    }
  }
  if (!ended || skip > 0) throw new Error('the archive is truncated (no end-of-archive blocks)');
  return count;
}

/** The size field: octal digits, or GNU's base-256 for sizes of 8 GiB and more. */
function headerSize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text = field
    .toString('ascii')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`the archive has a malformed size field (${JSON.stringify(text)})`);
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** A header's checksum: the sum of its bytes with the checksum field read as spaces. */
function checkChecksum(header: Buffer): void {
  const stored = Number.parseInt(
    header
      .subarray(148, 156)
      .toString('ascii')
      .replace(/[\0 ]+/g, ''),
    8,
  );
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
  if (stored !== sum) throw new Error('the archive has a header with a wrong checksum');
}

/** The `size` record of a pax extended header (`<length> size=<n>\n` records), if any. */
function paxRecordSize(data: Buffer): number | undefined {
  const match = /(?:^|\n)\d+ size=(\d+)\n/.exec(data.toString('utf8'));
  return match ? Number(match[1]) : undefined;
}

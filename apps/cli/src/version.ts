import { readFileSync } from 'node:fs';

declare const __PIER_VERSION__: string | undefined;

/**
 * The CLI's version: written into the bundle by scripts/build-cli.ts (the
 * repository's package.json version, the same the api reports), or read
 * from that file when run from a clone.
 */
export const CLI_VERSION: string =
  typeof __PIER_VERSION__ === 'string'
    ? __PIER_VERSION__
    : (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// `npm run build:server`: compiles every long-running process to
// JavaScript, which plain `node` runs with no TypeScript loader:
//
//   apps/api/dist/main.mjs, apps/worker/dist/main.mjs, apps/proxy/dist/main.mjs,
//   apps/proxy/dist/edge-process.mjs (the proxy's cluster workers), and
//   scripts/dist/start-all.mjs (the supervisor of `npm run up` / `npm start`),
//
// beside each the chunks it imports when first needed (chunk-*.mjs) and
// source maps (read under node --enable-source-maps).
//
//   node --import tsx scripts/build-server.ts [OUT_ROOT]
//
// OUT_ROOT (default: the repository) receives the same layout; a test builds
// into a temporary one. A rebuild takes effect when a process is restarted;
// meanwhile a running process still finds the chunks of the build it started
// from (kept a week, see pruneOldChunks). Pier's own
// packages (@pier/*, TypeScript sources) are bundled, every other package
// stays in node_modules (build-server/workspace-modules.ts says which is
// which and why), so a bundle must sit where node finds the repository's
// node_modules: beside it or above it.
import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { lazyDocker } from './build-server/lazy-docker.ts';
import { workspaceModules } from './build-server/workspace-modules.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const outRoot = resolve(process.argv[2] ?? root);

/** Chunks a running process may still load are kept this long after a newer build stopped writing them. */
const OLD_CHUNKS_KEPT_MS = 7 * 24 * 3600_000;

/**
 * Removes the chunks of earlier builds once they are a week old. Until then
 * they stay: a process started from an earlier build loads its chunks on
 * first use (content-hashed names, so a rebuild never changes one in place),
 * and keeps working until it is restarted on the new build.
 */
async function pruneOldChunks(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir)) {
    if (!name.startsWith('chunk-')) continue;
    const path = join(dir, name);
    if (now - (await stat(path)).mtimeMs > OLD_CHUNKS_KEPT_MS) await rm(path, { force: true });
  }
}

/** One process's entry point, src/name.ts, bundled into dir/name.mjs (each on its own: no code shared between them). */
interface Entry {
  src: string;
  dir: string;
  name: string;
}

const ENTRIES: Entry[] = [
  { src: 'apps/api/src', dir: 'apps/api/dist', name: 'main' },
  { src: 'apps/worker/src', dir: 'apps/worker/dist', name: 'main' },
  { src: 'apps/proxy/src', dir: 'apps/proxy/dist', name: 'main' },
  // The proxy's serving processes (node:cluster workers), which main.mjs forks.
  { src: 'apps/proxy/src', dir: 'apps/proxy/dist', name: 'edge-process' },
  { src: 'scripts', dir: 'scripts/dist', name: 'start-all' },
];

/**
 * Bundled CommonJS (lazy-docker.ts) calls `require`, which an ES module has
 * not: each output file makes one for it, relative to itself.
 */
const REQUIRE_BANNER =
  "import { createRequire as __pierCreateRequire } from 'node:module';\nconst require = __pierCreateRequire(import.meta.url);";

/** Bundles one entry point; returns the bytes of JavaScript it wrote. */
async function bundle({ src, dir, name }: Entry): Promise<number> {
  const outdir = join(outRoot, dir);
  const result = await build({
    entryPoints: { [name]: join(root, src, `${name}.ts`) },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // A module imported with import() (what an idle process never runs) goes into a chunk loaded then.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: REQUIRE_BANNER },
    // Linked maps without the sources (they are in the repository).
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [lazyDocker, workspaceModules({ outDir: outdir, entryDir: join(root, src) })],
  });
  if (result.warnings.length > 0) throw new Error(`${dir}: esbuild warned (above); the build does not go on with a warning`);
  return Object.entries(result.metafile.outputs)
    .filter(([file]) => file.endsWith('.mjs'))
    .reduce((sum, [, output]) => sum + output.bytes, 0);
}

const started = Date.now();
const dirs = [...new Set(ENTRIES.map((entry) => entry.dir))];
const sizes = await Promise.all(ENTRIES.map(bundle));
await Promise.all(dirs.map((dir) => pruneOldChunks(join(outRoot, dir))));
const summary = ENTRIES.map((entry, i) => `${entry.dir}/${entry.name}.mjs ${Math.round((sizes[i] ?? 0) / 1024)} KiB`).join(', ');
process.stdout.write(`[build:server] ${relative(process.cwd(), outRoot) || '.'}: ${summary} (${Date.now() - started} ms)\n`);

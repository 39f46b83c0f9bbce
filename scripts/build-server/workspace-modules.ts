import { readFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import type { Plugin } from 'esbuild';

const inNodeModules = (path: string) => path.includes(`${sep}node_modules${sep}`);

/**
 * What the bundles hold of what, for scripts/build-server.ts:
 *
 * - Bare imports other than @pier/* stay imports of node_modules, loaded as
 *   under tsx (pino starts worker threads and requires by name, ssh2 has
 *   optional native parts); node:* are external on platform node anyway.
 * - Pier's own modules are marked free of side effects at import, which they
 *   are (their top-level statements only build values: schemas, tables,
 *   constants; the entry points alone act, and they are always kept). So a
 *   module none of whose exports a process uses is left out, with the
 *   packages it imports: through the barrel files (`@pier/core`, `@pier/db`,
 *   `@pier/proxy`), the proxy's serving processes would otherwise load every
 *   store, zod and the certificate library they never call. A module imported
 *   for its side effects alone would be dropped: esbuild warns, and the build
 *   fails on any warning.
 * - esbuild gives every bundled module the bundle's `import.meta.url`. That
 *   holds for the modules beside the entry point (apps/proxy/src/*.ts in
 *   apps/proxy/dist/main.mjs): dist/ sits beside src/, so their `../` paths
 *   reach the same files, and they find the bundles beside them
 *   (edge-cluster.ts its edge-process.mjs, start-all.ts the processes'). Every
 *   other module (packages/*, subdirectories) is given its source file's URL,
 *   as a path relative to the bundle (the repository can move with its
 *   build), so what lies beside its source (migrations/,
 *   packages/source/known_hosts/) is found as when run from source.
 */
export function workspaceModules(options: { outDir: string; entryDir: string }): Plugin {
  return {
    name: 'workspace-modules',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) =>
        args.path.startsWith('@pier/') ? undefined : { path: args.path, external: true },
      );
      b.onResolve({ filter: /^(@pier\/|\.)/ }, async (args) => {
        if (args.pluginData === 'workspace-modules' || inNodeModules(args.importer)) return undefined;
        const { path, errors } = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: 'workspace-modules',
        });
        if (errors.length > 0 || inNodeModules(path)) return undefined;
        return { path, sideEffects: false };
      });
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (inNodeModules(args.path) || dirname(args.path) === options.entryDir) return undefined;
        const contents = await readFile(args.path, 'utf8');
        if (/\bimport\.meta\.(dirname|filename|resolve)\b/.test(contents)) {
          throw new Error(`${args.path}: only import.meta.url is made the source file's in a bundle; use it instead`);
        }
        if (!contents.includes('import.meta.url')) return undefined;
        const fromBundle = relative(options.outDir, args.path).split(sep).join('/');
        const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
        return { contents: contents.replace(/\bimport\.meta\.url\b/g, url), loader: 'ts' };
      });
    },
  };
}

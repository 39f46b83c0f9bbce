import { createRequire } from 'node:module';
import type { Plugin } from 'esbuild';

const require = createRequire(import.meta.url);
const DOCKERODE = require.resolve('dockerode');
const DOCKER_MODEM = require.resolve('docker-modem');

/**
 * For each of the two files bundled: its directory as a package path, and
 * which of its modules it loads at import though it calls them only for
 * something Pier never does or does rarely.
 */
const BUNDLED: Record<string, { packagePath: string; lazy: Record<string, string> }> = {
  // BuildKit sessions (gRPC and protobuf: ~4 MB of heap), used when a build asks for BuildKit.
  [DOCKERODE]: { packagePath: 'dockerode/lib/', lazy: { './session': 'dockerode/lib/session.js' } },
  // A Docker host reached over ssh:// (ssh2, which sets up a 16 MiB WebAssembly memory at import).
  [DOCKER_MODEM]: { packagePath: 'docker-modem/lib/', lazy: { './ssh': 'docker-modem/lib/ssh.js' } },
};

/**
 * dockerode's and docker-modem's main files, bundled with those two imports
 * made lazy: each becomes a function that requires the real module on its
 * first call (both export a single function), so the worker no longer holds
 * ssh2 and gRPC from its start. Their other files stay in node_modules,
 * required by package path, as when dockerode is not bundled at all.
 */
export const lazyDocker: Plugin = {
  name: 'lazy-docker',
  setup(b) {
    b.onResolve({ filter: /^dockerode$/ }, () => ({ path: DOCKERODE }));
    b.onResolve({ filter: /^docker-modem$/ }, (args) => (args.importer === DOCKERODE ? { path: DOCKER_MODEM } : undefined));
    b.onResolve({ filter: /^\.\// }, (args) => {
      const bundled = BUNDLED[args.importer];
      if (!bundled) return undefined;
      const lazy = bundled.lazy[args.path];
      if (lazy) return { path: lazy, namespace: 'lazy-require' };
      return { path: `${bundled.packagePath}${args.path.slice(2)}`, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-require' }, (args) => ({
      contents: `let loaded;\nmodule.exports = function () {\n  loaded ??= require(${JSON.stringify(args.path)});\n  return loaded.apply(this, arguments);\n};\n`,
      loader: 'js',
    }));
  },
};

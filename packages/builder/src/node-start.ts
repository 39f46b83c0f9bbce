import { BuildError } from '@pier/core';
import { shellCommand } from './dockerfile-text.ts';
import type { NodeManifest } from './package-manifest.ts';

/** Where a Node app's start command came from, and the argv of its `CMD`. */
export interface NodeStart {
  argv: string[];
  source: 'procfile' | 'start-script' | 'server.js' | 'main';
}

/**
 * The start command of a Node app: the Procfile's `web:` line, else the start
 * script, else `server.js` (npm's own default), else package.json `main`.
 * Throws a BuildError when there is none.
 */
export function nodeStartCommand(
  manifest: NodeManifest,
  web: string | undefined,
  serverJs: boolean,
  packageManagerStart: string[],
): NodeStart {
  if (web !== undefined) return { argv: shellCommand(web), source: 'procfile' };
  if (manifest.hasStartScript) return { argv: packageManagerStart, source: 'start-script' };
  if (serverJs) return { argv: ['node', 'server.js'], source: 'server.js' };
  if (manifest.main !== undefined) return { argv: ['node', '--', manifest.main], source: 'main' };
  throw new BuildError(
    'package.json has no start script, no "main" and there is no server.js: add a start script or a Procfile with a web: line',
  );
}

import { BuildError, repoPathProblem, ValidationError } from '@pier/core';
import type { BuildImages, BuildOptions, BuildPlan, BuildSnapshot, GeneratedRuntime } from './build-plan.ts';
import { assertImage } from './dockerfile-text.ts';
import { nodeDockerfile } from './node-dockerfile.ts';
import { nodeStartCommand } from './node-start.ts';
import { packageManagerSteps } from './package-manager.ts';
import { parseNodeManifest } from './package-manifest.ts';
import { parseProcfile } from './procfile.ts';
import { procfileDockerfile } from './procfile-dockerfile.ts';
import { pythonDockerfile, requirementsNeedSource } from './python-dockerfile.ts';

/** The message when a repository gives no hint how to build it. */
export const NOTHING_TO_BUILD = 'no Dockerfile, package.json, requirements.txt or Procfile found';

const START_SOURCES = {
  procfile: 'the Procfile web: line',
  'start-script': 'the package.json start script',
  'server.js': 'node server.js',
  main: 'node <package.json main>',
} as const;

const WEB_EXAMPLE = 'e.g. "web: gunicorn app:app --bind 0.0.0.0:$PORT"';

interface Generated {
  dockerfile: string;
  notes: string[];
}

/**
 * Decides how to build a repository from the files at its root, in this order:
 * its own Dockerfile; package.json (Node); requirements.txt or pyproject.toml
 * (Python, started by the Procfile's web line); a Procfile alone (the configured
 * Procfile image). Pure. Throws a BuildError when nothing says how to build or
 * start the app, and a ValidationError for malformed files or options.
 */
export function detectBuild(snapshot: BuildSnapshot, options: BuildOptions): BuildPlan {
  assertOptions(options);
  if (snapshot.dockerfile !== undefined) return { kind: 'dockerfile', dockerfilePath: options.dockerfilePath };
  const [runtime, generated] = generate(snapshot, options.images);
  return { kind: 'generated', runtime, dockerfile: generated.dockerfile, notes: [...notFoundNote(options), ...generated.notes] };
}

function generate(snapshot: BuildSnapshot, images: BuildImages): [GeneratedRuntime, Generated] {
  const processes = snapshot.procfile === undefined ? undefined : parseProcfile(snapshot.procfile);
  const notes = otherProcessesNote(processes);
  const web = processes?.get('web');
  if (snapshot.packageJson !== undefined)
    return ['node', withNotes(nodeBuild(snapshot, snapshot.packageJson, images.node, web), notes)];
  if (snapshot.requirementsTxt !== undefined || snapshot.pyprojectToml !== undefined)
    return ['python', withNotes(pythonBuild(snapshot, images.python, web), notes)];
  if (processes !== undefined) return ['procfile', withNotes(procfileBuild(images.procfile, web), notes)];
  throw new BuildError(NOTHING_TO_BUILD);
}

function nodeBuild(snapshot: BuildSnapshot, packageJson: string, image: string, web: string | undefined): Generated {
  const manifest = parseNodeManifest(packageJson);
  const steps = packageManagerSteps(snapshot.lockfile, manifest.packageManager);
  const start = nodeStartCommand(manifest, web, snapshot.serverJs === true, steps.start);
  const notes = [`started by ${START_SOURCES[start.source]}`];
  if (snapshot.nodeVersionFile !== undefined)
    notes.push(`a Node version file (.nvmrc or .node-version) is not applied: the build uses the configured image ${image}`);
  if (manifest.hasBuildScript && steps.prune === null) notes.push('devDependencies stay in the image (Yarn 2+ has no prune)');
  return { dockerfile: nodeDockerfile({ image, lockfile: snapshot.lockfile, manifest, steps, start: start.argv }), notes };
}

function pythonBuild(snapshot: BuildSnapshot, image: string, web: string | undefined): Generated {
  if (web === undefined)
    throw new BuildError(`a Python app needs a start command: add a Procfile with a web: line (${WEB_EXAMPLE})`);
  if (snapshot.requirementsTxt !== undefined) {
    const installNeedsSource = requirementsNeedSource(snapshot.requirementsTxt);
    return {
      dockerfile: pythonDockerfile({ image, dependencies: 'requirements.txt', installNeedsSource, command: web }),
      notes: [],
    };
  }
  if (!/^\[(project|build-system)\]/m.test(snapshot.pyprojectToml ?? ''))
    throw new BuildError(
      'pyproject.toml has no [project] or [build-system] table, so pip cannot install it: add a requirements.txt',
    );
  return {
    dockerfile: pythonDockerfile({ image, dependencies: 'pyproject.toml', installNeedsSource: true, command: web }),
    notes: [],
  };
}

function procfileBuild(image: string | null, web: string | undefined): Generated {
  if (web === undefined) throw new BuildError(`the Procfile has no web: line (${WEB_EXAMPLE})`);
  if (image === null)
    throw new BuildError('found only a Procfile, and no base image is configured for Procfile apps: add a Dockerfile');
  return { dockerfile: procfileDockerfile(image, web), notes: [] };
}

function withNotes(generated: Generated, notes: string[]): Generated {
  return { dockerfile: generated.dockerfile, notes: [...generated.notes, ...notes] };
}

function otherProcessesNote(processes: Map<string, string> | undefined): string[] {
  const others = [...(processes?.keys() ?? [])].filter((name) => name !== 'web');
  return others.length === 0 ? [] : [`Procfile process types other than web are ignored: ${others.join(', ')}`];
}

function notFoundNote(options: BuildOptions): string[] {
  return options.dockerfilePath === 'Dockerfile' ? [] : [`the configured Dockerfile ${options.dockerfilePath} was not found`];
}

function assertOptions(options: BuildOptions): void {
  const problem = repoPathProblem(options.dockerfilePath);
  if (problem) throw new ValidationError(`dockerfilePath: ${problem}`, 'dockerfilePath');
  assertImage('images.node', options.images.node);
  assertImage('images.python', options.images.python);
  if (options.images.procfile !== null) assertImage('images.procfile', options.images.procfile);
}

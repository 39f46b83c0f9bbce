import { BuildError, repoPathProblem, ValidationError } from '@pier/core';
import type { BuildImages, BuildOptions, BuildPlan, BuildSnapshot, GeneratedRuntime } from './build-plan.ts';
import { APP_BUILD_ARG, assertImage } from './dockerfile-text.ts';
import { nodeDockerfile } from './node-dockerfile.ts';
import { nodeStartCommand } from './node-start.ts';
import { packageManagerSteps } from './package-manager.ts';
import { parseNodeManifest } from './package-manifest.ts';
import { parseProcfile } from './procfile.ts';
import { procfileDockerfile } from './procfile-dockerfile.ts';
import { DJANGO_COLLECTSTATIC, pythonDockerfile, requirementsNeedSource } from './python-dockerfile.ts';
import { chooseNodeImage, choosePythonImage, type VersionRequest } from './runtime-version.ts';

/** The message when a repository gives no hint how to build it. */
export const NOTHING_TO_BUILD = 'no Dockerfile, package.json, requirements.txt or Procfile found';

const START_SOURCES = {
  procfile: 'the Procfile web: line',
  'start-script': 'the package.json start script',
  'server.js': 'node server.js',
  main: 'node <package.json main>',
} as const;

const WEB_EXAMPLE = 'e.g. "web: gunicorn app:app --bind 0.0.0.0:$PORT"';

/** Where to point Pier at a Dockerfile, named in errors and notes. */
const DOCKERFILE_SETTINGS = 'the app’s dockerfilePath, or build.dockerfile / build.context in pier.json';

interface Generated {
  dockerfile: string;
  notes: string[];
}

/**
 * Decides how to build a repository from the files at its root, in this order:
 * its own Dockerfile; package.json (Node); requirements.txt or pyproject.toml
 * (Python, started by the Procfile's web line); a Procfile alone (the configured
 * Procfile image). Pure. The notes of a generated plan say which file decided,
 * where the start command came from and which image version was chosen, and
 * why. Throws a BuildError when nothing says how to build or start the app, and
 * a ValidationError for malformed files or options.
 */
export function detectBuild(snapshot: BuildSnapshot, options: BuildOptions): BuildPlan {
  assertOptions(options);
  if (snapshot.dockerfile !== undefined) return { kind: 'dockerfile', dockerfilePath: options.dockerfilePath };
  const [runtime, generated] = generate(snapshot, options);
  return { kind: 'generated', runtime, dockerfile: generated.dockerfile, notes: [...notFoundNote(options), ...generated.notes] };
}

/**
 * Build args a plan's Dockerfile takes from the build itself: the app's name,
 * which labels the install stage of a two-stage generated build (Node, Python;
 * see `installStageStart`). None for a repository's own Dockerfile.
 */
export function planBuildArgs(plan: BuildPlan, appName: string): Record<string, string> {
  return plan.kind === 'generated' && plan.runtime !== 'procfile' ? { [APP_BUILD_ARG]: appName } : {};
}

function generate(snapshot: BuildSnapshot, options: BuildOptions): [GeneratedRuntime, Generated] {
  const processes = snapshot.procfile === undefined ? undefined : parseProcfile(snapshot.procfile);
  const notes = otherProcessesNote(processes);
  const web = processes?.get('web');
  if (snapshot.packageJson !== undefined)
    return ['node', withNotes(nodeBuild(snapshot, snapshot.packageJson, options, web), notes)];
  // A Procfile without web (only workers) is an app that serves no traffic: the image's command is its first type's.
  const command = web ?? firstOtherProcess(processes);
  if (snapshot.requirementsTxt !== undefined || snapshot.pyprojectToml !== undefined)
    return ['python', withNotes(pythonBuild(snapshot, options, command), notes)];
  if (processes !== undefined) return ['procfile', withNotes(procfileBuild(options.images, command), notes)];
  throw new BuildError(`${NOTHING_TO_BUILD} at the root of the build context: set ${DOCKERFILE_SETTINGS}`);
}

function nodeBuild(snapshot: BuildSnapshot, packageJson: string, options: BuildOptions, web: string | undefined): Generated {
  const manifest = parseNodeManifest(packageJson);
  const steps = packageManagerSteps(snapshot.lockfile, manifest.packageManager);
  const start = nodeStartCommand(manifest, web, snapshot.serverJs === true, steps.start);
  const { image, notes: versionNotes } = chooseNodeImage(
    options.images.node,
    nodeVersionRequest(snapshot, manifest.enginesNode),
    options.offeredTags?.node ?? [],
  );
  const notes = [
    `package.json decided: a Node.js app, installed with ${steps.label}`,
    `started by ${START_SOURCES[start.source]}`,
    ...versionNotes,
    ...buildCommandNote(options.buildCommand),
  ];
  if (manifest.hasBuildScript && steps.prune === null) notes.push('devDependencies stay in the image (Yarn 2+ has no prune)');
  const dockerfile = nodeDockerfile({
    image,
    lockfile: snapshot.lockfile,
    manifest,
    steps,
    start: start.argv,
    ...(options.buildCommand === undefined ? {} : { buildCommand: options.buildCommand }),
    caBundle: options.caBundle === true,
  });
  return { dockerfile, notes };
}

/** `engines.node` wins over `.nvmrc` / `.node-version`, as it is what npm itself checks. */
function nodeVersionRequest(snapshot: BuildSnapshot, enginesNode: string | undefined): VersionRequest | undefined {
  if (enginesNode !== undefined) return { asked: enginesNode.trim(), source: 'package.json engines.node' };
  if (snapshot.nodeVersionFile === undefined) return undefined;
  return { asked: firstLine(snapshot.nodeVersionFile), source: snapshot.nodeVersionFileName ?? '.nvmrc' };
}

function pythonBuild(snapshot: BuildSnapshot, options: BuildOptions, web: string | undefined): Generated {
  if (web === undefined)
    throw new BuildError(`a Python app needs a start command: add a Procfile with a web: line (${WEB_EXAMPLE})`);
  const dependencies = snapshot.requirementsTxt !== undefined ? 'requirements.txt' : 'pyproject.toml';
  if (dependencies === 'pyproject.toml' && !/^\[(project|build-system)\]/m.test(snapshot.pyprojectToml ?? ''))
    throw new BuildError(
      'pyproject.toml has no [project] or [build-system] table, so pip cannot install it: add a requirements.txt',
    );
  const { image, notes: versionNotes } = choosePythonImage(
    options.images.python,
    pythonVersionRequest(snapshot),
    options.offeredTags?.python ?? [],
  );
  const django = isDjango(snapshot);
  const buildCommand = options.buildCommand ?? (django ? DJANGO_COLLECTSTATIC : undefined);
  const notes = [
    `${dependencies} decided: a Python app`,
    `started by ${START_SOURCES.procfile}`,
    ...versionNotes,
    ...(options.buildCommand !== undefined ? buildCommandNote(options.buildCommand) : django ? [DJANGO_NOTE] : []),
  ];
  const dockerfile = pythonDockerfile({
    image,
    dependencies,
    installNeedsSource: dependencies === 'pyproject.toml' || requirementsNeedSource(snapshot.requirementsTxt ?? ''),
    command: web,
    ...(buildCommand === undefined ? {} : { buildCommand }),
    ...(django && options.buildCommand === undefined ? { args: ['DISABLE_COLLECTSTATIC'] } : {}),
    caBundle: options.caBundle === true,
  });
  return { dockerfile, notes };
}

const DJANGO_NOTE =
  'a Django app (manage.py, django among the dependencies): python manage.py collectstatic --noinput runs after the install; ' +
  'build.command in pier.json replaces it, the build arg DISABLE_COLLECTSTATIC=1 (build.args) skips it';

/** `.python-version` (pyenv) wins over `runtime.txt` (Heroku). */
function pythonVersionRequest(snapshot: BuildSnapshot): VersionRequest | undefined {
  if (snapshot.pythonVersionFile !== undefined)
    return { asked: firstLine(snapshot.pythonVersionFile), source: '.python-version' };
  if (snapshot.runtimeTxt !== undefined) return { asked: firstLine(snapshot.runtimeTxt), source: 'runtime.txt' };
  return undefined;
}

/** manage.py at the root and Django among the dependencies, as Heroku's buildpack decides. */
function isDjango(snapshot: BuildSnapshot): boolean {
  if (snapshot.managePy !== true) return false;
  const requirement = /^\s*django\s*(?:[[=<>~!;@\s]|$)/im;
  const pyprojectDependency = /["']django\s*(?:[[=<>~!;@\s"']|$)/i;
  return requirement.test(snapshot.requirementsTxt ?? '') || pyprojectDependency.test(snapshot.pyprojectToml ?? '');
}

function procfileBuild(images: BuildImages, web: string | undefined): Generated {
  if (web === undefined) throw new BuildError(`the Procfile has no web: line (${WEB_EXAMPLE})`);
  if (images.procfile === null)
    throw new BuildError(
      `found only a Procfile, and no base image is configured for Procfile apps: add a Dockerfile (${DOCKERFILE_SETTINGS})`,
    );
  return {
    dockerfile: procfileDockerfile(images.procfile, web),
    notes: [
      `only a Procfile decided: built FROM the configured Procfile image ${images.procfile}`,
      `started by ${START_SOURCES.procfile}`,
    ],
  };
}

function buildCommandNote(command: string | undefined): string[] {
  return command === undefined ? [] : [`build command (build.command in pier.json) runs after the install: ${command}`];
}

function firstLine(text: string): string {
  return (
    text
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/)[0]
      ?.trim() ?? ''
  );
}

function withNotes(generated: Generated, notes: string[]): Generated {
  return { dockerfile: generated.dockerfile, notes: [...generated.notes, ...notes] };
}

function otherProcessesNote(processes: Map<string, string> | undefined): string[] {
  const others = [...(processes?.keys() ?? [])].filter((name) => name !== 'web' && name !== 'release');
  if (others.length === 0) return [];
  const web = processes?.has('web') ? '' : '; there is no web: line, so the app serves no traffic';
  return [`Procfile process types other than web run in replicas of their own: ${others.join(', ')}${web}`];
}

/** The command of the Procfile's first type besides web and release, if any. */
function firstOtherProcess(processes: Map<string, string> | undefined): string | undefined {
  return [...(processes?.entries() ?? [])].find(([name]) => name !== 'web' && name !== 'release')?.[1];
}

function notFoundNote(options: BuildOptions): string[] {
  return options.dockerfilePath === 'Dockerfile'
    ? []
    : [`the configured Dockerfile ${options.dockerfilePath} was not found (${DOCKERFILE_SETTINGS}): generating one`];
}

function assertOptions(options: BuildOptions): void {
  const problem = repoPathProblem(options.dockerfilePath);
  if (problem) throw new ValidationError(`dockerfilePath: ${problem}`, 'dockerfilePath');
  assertImage('images.node', options.images.node);
  assertImage('images.python', options.images.python);
  if (options.images.procfile !== null) assertImage('images.procfile', options.images.procfile);
}

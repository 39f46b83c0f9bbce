/** Lockfiles the generated Node Dockerfile knows how to install from. */
export type Lockfile = 'package-lock.json' | 'npm-shrinkwrap.json' | 'yarn.lock' | 'pnpm-lock.yaml';

/**
 * The few files at the repository root that decide how an app is built.
 * Contents are raw text; a field is absent when the file is.
 */
export interface BuildSnapshot {
  /** Contents of the configured Dockerfile path, if that file exists. */
  dockerfile?: string;
  packageJson?: string;
  /** The lockfile found next to package.json (the first of `LOCKFILES` present). */
  lockfile?: Lockfile;
  procfile?: string;
  requirementsTxt?: string;
  pyprojectToml?: string;
  /** Contents of `.nvmrc` or `.node-version`. */
  nodeVersionFile?: string;
  /** `server.js` exists at the root: npm's default start command runs it. */
  serverJs?: boolean;
}

/** Base images of generated Dockerfiles; from configuration (e.g. `pier-local/node`). */
export interface BuildImages {
  node: string;
  python: string;
  /** Image for apps that have only a Procfile; `null` refuses such apps. */
  procfile: string | null;
}

export interface BuildOptions {
  /** The app's configured Dockerfile path, relative to the repository root. */
  dockerfilePath: string;
  images: BuildImages;
  /** Runs in generated builds once dependencies are installed (`pier.json` `build.command`). */
  buildCommand?: string;
}

/** Which kind of generated Dockerfile. */
export type GeneratedRuntime = 'node' | 'python' | 'procfile';

/**
 * How to build: the repository's own Dockerfile, or one Pier generated. The
 * caller writes a generated `dockerfile` into the build context and builds it.
 */
export type BuildPlan =
  | { kind: 'dockerfile'; dockerfilePath: string }
  | { kind: 'generated'; runtime: GeneratedRuntime; dockerfile: string; notes: string[] };

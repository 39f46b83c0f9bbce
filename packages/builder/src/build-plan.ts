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
  /** Which of the two `nodeVersionFile` is. */
  nodeVersionFileName?: '.nvmrc' | '.node-version';
  /** Contents of `.python-version` (pyenv's), e.g. `3.11.4`. */
  pythonVersionFile?: string;
  /** Contents of `runtime.txt` (Heroku's), e.g. `python-3.11.4`. */
  runtimeTxt?: string;
  /** `server.js` exists at the root: npm's default start command runs it. */
  serverJs?: boolean;
  /** `manage.py` exists at the root: with Django among the dependencies, a Django app. */
  managePy?: boolean;
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
  /**
   * Version tags of the configured images' repositories present locally
   * (`pier-local/node` → `['18', '20', 'latest']`), to choose from for the
   * version a repository asks for. Absent: none.
   */
  offeredTags?: { node?: readonly string[]; python?: readonly string[] };
  /** A CA bundle is written into the context as BUILD_CA_FILE for the install stage (PIER_BUILD_CA_BUNDLE). */
  caBundle?: boolean;
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

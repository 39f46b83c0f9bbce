import { ValidationError } from '@pier/core';
import { assertNoControlCharacters } from './dockerfile-text.ts';

const FIELD = 'package.json';
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'];
const LOCAL_SPEC = /^(file|link|workspace|portal):/;

/** What the generated Node Dockerfile needs to know from package.json. */
export interface NodeManifest {
  hasStartScript: boolean;
  hasBuildScript: boolean;
  /** The `main` entry, if any. */
  main?: string;
  /** The `packageManager` field, e.g. `yarn@4.1.0`. */
  packageManager?: string;
  /** `engines.node`, e.g. `>=18`: the Node versions the app runs on. */
  enginesNode?: string;
  /**
   * Installing needs more than package.json and the lockfile: workspaces,
   * `file:` dependencies or install-time scripts that may read the source.
   */
  installNeedsSource: boolean;
}

/** Reads package.json text; throws a ValidationError naming `package.json` when it is not a JSON object. */
export function parseNodeManifest(text: string): NodeManifest {
  const json = parseObject(text);
  const scripts = record(json.scripts);
  return {
    hasStartScript: typeof scripts.start === 'string',
    hasBuildScript: typeof scripts.build === 'string',
    main: typeof json.main === 'string' ? assertNoControlCharacters(FIELD, 'package.json "main"', json.main) : undefined,
    packageManager: typeof json.packageManager === 'string' ? json.packageManager : undefined,
    enginesNode: typeof record(json.engines).node === 'string' ? (record(json.engines).node as string) : undefined,
    installNeedsSource:
      json.workspaces !== undefined || INSTALL_SCRIPTS.some((name) => name in scripts) || hasLocalDependency(json),
  };
}

function parseObject(text: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new ValidationError('package.json is not valid JSON', FIELD);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ValidationError('package.json must hold a JSON object', FIELD);
  return json as Record<string, unknown>;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function hasLocalDependency(json: Record<string, unknown>): boolean {
  return DEPENDENCY_FIELDS.some((field) =>
    Object.values(record(json[field])).some((spec) => typeof spec === 'string' && LOCAL_SPEC.test(spec)),
  );
}

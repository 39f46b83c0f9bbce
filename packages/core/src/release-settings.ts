import type { HealthCheckPath } from './health-check.ts';
import type { EnvironmentRepoConfig } from './repo-config.ts';

/** Where a release's setting came from: the repository's `pier.json`, the environment (API), the image, or Pier's default. */
export type SettingSource = 'pier.json' | 'Procfile' | 'api' | 'image' | 'default';

/** The port an app listens on unless something says otherwise, given to it as PORT. */
export const DEFAULT_APP_PORT = 8080;

/** How a release's replicas are health-checked (kept on the release, read by the gate). */
export interface ReleaseHealth {
  /** A path, `tcp`, or null: automatic (health-check.ts). */
  path: HealthCheckPath;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  /** How long a new replica has to pass. */
  deadlineMs: number;
}

export interface RunSettingsInput {
  /** The environment's own settings (null: not set, automatic). */
  api: {
    port: number | null;
    healthPath: HealthCheckPath;
    healthIntervalMs: number;
    healthTimeoutMs: number;
    healthyThreshold: number;
    healthDeadlineMs: number;
  };
  /** The repository's `pier.json` as this environment sees it; null when the commit has none. */
  file: Pick<EnvironmentRepoConfig, 'port' | 'healthCheck'> | null;
  /** The TCP ports the image EXPOSEs. */
  exposedPorts: readonly number[];
}

export interface RunSettings {
  port: number;
  health: ReleaseHealth;
  sources: { port: SettingSource; health: SettingSource };
  /** What a user may want to know about how they were chosen (several EXPOSEd ports), for the deployment's log. */
  notes: string[];
}

/**
 * The port and health check a release runs with. The file at the commit wins
 * over the environment's settings, which win over the image (its one
 * EXPOSEd port), which wins over the defaults (8080; the automatic check).
 */
export function resolveRunSettings(input: RunSettingsInput): RunSettings {
  const { api, file } = input;
  const notes: string[] = [];
  const exposed = [...new Set(input.exposedPorts)].sort((a, b) => a - b);
  let port: { value: number; source: SettingSource };
  if (file?.port !== undefined) port = { value: file.port, source: 'pier.json' };
  else if (api.port !== null) port = { value: api.port, source: 'api' };
  else if (exposed.length === 1) port = { value: exposed[0] as number, source: 'image' };
  else {
    port = { value: DEFAULT_APP_PORT, source: 'default' };
    if (exposed.length > 1)
      notes.push(
        `the image exposes ports ${exposed.join(', ')}: the app is expected on ${DEFAULT_APP_PORT} (PORT); set "port" in pier.json or on the environment to choose one`,
      );
  }
  const check = file?.healthCheck ?? {};
  const seconds = (value: number | undefined, fallback: number) => (value === undefined ? fallback : value * 1000);
  const health: ReleaseHealth = {
    path: check.path ?? api.healthPath,
    intervalMs: seconds(check.intervalSeconds, api.healthIntervalMs),
    timeoutMs: seconds(check.timeoutSeconds, api.healthTimeoutMs),
    healthyThreshold: api.healthyThreshold,
    deadlineMs: seconds(check.deadlineSeconds, api.healthDeadlineMs),
  };
  const healthSource: SettingSource = file?.healthCheck !== undefined ? 'pier.json' : api.healthPath !== null ? 'api' : 'default';
  return { port: port.value, health, sources: { port: port.source, health: healthSource }, notes };
}

/** `{ port: { value, source }, health: { value, source } }`: the shape of `releases.settings`, keyed by setting. */
export function runSettingsRecord(settings: RunSettings): Record<string, { value: unknown; source: SettingSource }> {
  return {
    port: { value: settings.port, source: settings.sources.port },
    health: { value: settings.health, source: settings.sources.health },
  };
}

/** A release's port in words: `3000 (the image's EXPOSE)`. */
export function describePort(port: number, source: SettingSource | undefined): string {
  const from: Record<SettingSource, string> = {
    'pier.json': 'from pier.json',
    Procfile: 'from the Procfile',
    api: 'set on the environment',
    image: 'the image’s EXPOSE',
    default: 'the default, given to the app as PORT',
  };
  return source ? `${port} (${from[source]})` : String(port);
}

/**
 * Why a replica is not healthy when nothing ever listened on its port, naming
 * the port expected, where it came from, and the settings that change it.
 */
export function nothingListensReason(input: {
  port: number;
  source: SettingSource | undefined;
  app: string;
  env: string;
  seconds: number;
}): string {
  return (
    `nothing listens on port ${describePort(input.port, input.source)} after ${input.seconds} s: ` +
    `make the app listen on $PORT, or set "port" in pier.json or on the environment ` +
    `(PATCH /apps/${input.app}/environments/${input.env} {"port": …})`
  );
}

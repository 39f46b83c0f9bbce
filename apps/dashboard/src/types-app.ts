/** The API's answers the App and Deployment pages read (apps/api/src/routes/deployments.ts, releases.ts, links.ts). */

/** A state change of a deployment (`GET /deployments/:id` lists them: the build and rollout steps). */
export interface DeploymentEvent {
  from: string | null;
  to: string;
  message: string | null;
  at: string;
}

export interface Deployment {
  id: string;
  app: string;
  environment: string;
  state: string;
  trigger: string;
  ref: string | null;
  commit: string | null;
  image: { id: string; tag: string | null } | null;
  prebuiltImage: string | null;
  reason: string | null;
  cancelRequested: boolean;
  queuedAt: string;
  buildStartedAt: string | null;
  buildFinishedAt: string | null;
  finishedAt: string | null;
  events?: DeploymentEvent[];
}

/** Mirrors TERMINAL_STATES of packages/core/src/deployment-state.ts: nothing happens to the deployment after these. */
export const TERMINAL_STATES: readonly string[] = ['live', 'failed', 'cancelled', 'superseded', 'skipped'];

export interface Release {
  id: string;
  version: number;
  image: { id: string; ref: string | null };
  replicas: number;
  createdAt: string;
  rolledBack: { at: string; reason: string } | null;
}

/** A linked service as `GET …/links` shows it: the names it injects, never their values. */
export interface Link {
  service: string;
  type: string;
  version: string;
  state: string;
  variable: string;
  variables: string[];
}

export interface Replica {
  id: string;
  name: string;
  process: string;
  release: number | null;
  state: string;
  healthy: boolean;
  unhealthySince: string | null;
}

export interface ProcessView {
  type: string;
  replicas: number;
  running: number;
  health: string;
  restartStreak: number;
  lastExit: unknown;
}

/** `GET /apps/:app/environments/:env/status`, as far as the App page reads it. */
export interface EnvironmentStatus {
  app: string;
  environment: string;
  url: string;
  pullRequest: number | null;
  health: string;
  restartStreak: number;
  nextRestartAt: string | null;
  desiredReplicas: number;
  liveRelease: (Release & { image: { id: string; ref: string | null } }) | null;
  desiredRelease: number | null;
  rollout: {
    id: string;
    deployment: string | null;
    from: number | null;
    to: number | null;
    state: 'active' | 'succeeded' | 'failed' | 'superseded';
    reason: string | null;
    startedAt: string;
    finishedAt: string | null;
  } | null;
  services: Link[];
  processes: ProcessView[];
  replicas: Replica[];
}

/** `GET /apps/:app/environments/:from/variables/compare?with=:to`: names only, the server compared the values. */
export interface VariableComparison {
  environment: string;
  with: string;
  onlyHere: string[];
  onlyThere: string[];
  differing: string[];
}

/** A build line of `/deployments/:id/logs` (the `line` event's data, or an item of the stored lines). */
export interface BuildLine {
  id?: number;
  stream: string;
  line: string;
  at: string;
}

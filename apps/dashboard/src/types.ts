/** The API's answers the dashboard reads, as far as it reads them (the OpenAPI document at /openapi.json has all). */

export type EnvironmentState = 'crash-looping' | 'deploying' | 'failed' | 'live' | 'new';

export interface OverviewEnvironment {
  name: string;
  pullRequest: number | null;
  state: EnvironmentState;
  url: string;
  liveRelease: { version: number; imageRef: string | null; at: string } | null;
  lastDeployment: {
    id: string;
    state: string;
    trigger: string;
    gitRef: string | null;
    at: string;
    finishedAt: string | null;
  } | null;
}

export interface OverviewApp {
  name: string;
  repository: string | null;
  environments: OverviewEnvironment[];
}

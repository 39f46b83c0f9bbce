/** The REST API's answers as its clients read them (the OpenAPI document at `/openapi.json` has them all). */

/** A one-off or cron run (`GET /apps/:app/environments/:env/runs/:run`). */
export interface Run {
  id: string;
  kind: string;
  cron: string | null;
  slot: string | null;
  /** A string runs with `/bin/sh -c`; an array runs as it is. */
  command: string | string[];
  release: number | null;
  state: string;
  exitCode: number | null;
  reason: string | null;
  startedBy: string;
  timeoutSeconds: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
}

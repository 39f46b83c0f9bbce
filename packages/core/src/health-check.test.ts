import { describe, expect, it } from 'vitest';
import {
  answerFromError,
  describeAnswers,
  describeHealthCheck,
  type HealthCheckPath,
  healthCheckPathProblem,
  nextHealthStep,
  nothingListened,
  type ProbeAnswer,
} from './health-check.ts';

const status = (code: number, text?: string): ProbeAnswer => ({ kind: 'status', status: code, ...(text ? { text } : {}) });
const refused: ProbeAnswer = { kind: 'refused', detail: 'ECONNREFUSED' };
const timedOut: ProbeAnswer = { kind: 'failed', detail: 'timed out after 2000 ms' };
const open: ProbeAnswer = { kind: 'open' };

/** Runs a round to its verdict, answering each step from `answers` in turn; returns the steps taken and the verdict. */
function round(check: HealthCheckPath, answers: ProbeAnswer[]): { steps: string[]; ok: boolean } {
  const seen: ProbeAnswer[] = [];
  const steps: string[] = [];
  for (;;) {
    const step = nextHealthStep(check, seen);
    if (step.kind === 'verdict') return { steps, ok: step.ok };
    steps.push(step.kind === 'get' ? `GET ${step.path}` : 'connect');
    const answer = answers[seen.length];
    if (!answer) throw new Error(`no answer for step ${steps.length}`);
    seen.push(answer);
  }
}

describe('nextHealthStep', () => {
  it.each<[string, HealthCheckPath, ProbeAnswer[], string[], boolean]>([
    ['a path: 200 passes', '/up', [status(200)], ['GET /up'], true],
    ['a path: a redirect counts as alive', '/up', [status(302)], ['GET /up'], true],
    ['a path: 404 fails', '/up', [status(404)], ['GET /up'], false],
    ['a path: 503 fails', '/up', [status(503)], ['GET /up'], false],
    ['a path: refused fails', '/up', [refused], ['GET /up'], false],
    ['tcp: an open connection passes', 'tcp', [open], ['connect'], true],
    ['tcp: refused fails', 'tcp', [refused], ['connect'], false],
    ['automatic: /health 2xx decides', null, [status(204)], ['GET /health'], true],
    ['automatic: /health 5xx decides', null, [status(500)], ['GET /health'], false],
    ['automatic: no /health, / answers 200', null, [status(404), status(200)], ['GET /health', 'GET /'], true],
    ['automatic: no /health, / answers 404 (alive)', null, [status(404), status(404)], ['GET /health', 'GET /'], true],
    ['automatic: no /health, / redirects (alive)', null, [status(404), status(301)], ['GET /health', 'GET /'], true],
    ['automatic: /health redirects, / 200', null, [status(301), status(200)], ['GET /health', 'GET /'], true],
    [
      'automatic: a Host check answering 400 everywhere is alive',
      null,
      [status(400), status(400)],
      ['GET /health', 'GET /'],
      true,
    ],
    ['automatic: no /health, / fails with 500', null, [status(404), status(500)], ['GET /health', 'GET /'], false],
    ['automatic: refused at /health ends the round', null, [refused], ['GET /health'], false],
    ['automatic: a timeout at /health ends the round', null, [timedOut], ['GET /health'], false],
    ['automatic: / times out', null, [status(404), timedOut], ['GET /health', 'GET /'], false],
  ])('%s', (_what, check, answers, steps, ok) => {
    expect(round(check, answers)).toEqual({ steps, ok });
  });
});

describe('describing a check and its answers', () => {
  it.each<[HealthCheckPath, string]>([
    ['/up', 'GET /up'],
    ['tcp', 'a TCP connection'],
    [null, 'automatic: GET /health when it answers 2xx, else GET / below 500'],
  ])('%s', (check, words) => {
    expect(describeHealthCheck(check)).toBe(words);
  });

  it.each<[HealthCheckPath, ProbeAnswer[], string]>([
    ['/up', [status(503, 'Service Unavailable')], '503 Service Unavailable'],
    [null, [status(404, 'Not Found'), status(500)], '/health 404 Not Found, / 500'],
    [null, [refused], 'ECONNREFUSED'],
    ['tcp', [open], 'open'],
  ])('%s answered %j', (check, answers, words) => {
    expect(describeAnswers(check, answers)).toBe(words);
  });
});

describe('refusals', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'refused'],
    [{ code: 'ECONNRESET', message: 'socket hang up' }, 'refused'],
    [{ code: 'EPIPE' }, 'refused'],
    [{ code: 'HPE_INVALID_CONSTANT', message: 'Parse Error' }, 'failed'],
    [{ message: 'timed out after 2000 ms' }, 'failed'],
  ])('%j is %s', (error, kind) => {
    expect(answerFromError(error).kind).toBe(kind);
  });

  it('a round saw nothing listening only when every answer was a refusal', () => {
    expect(nothingListened([refused])).toBe(true);
    expect(nothingListened([status(404), refused])).toBe(false);
    expect(nothingListened([timedOut])).toBe(false);
    expect(nothingListened([])).toBe(false);
  });
});

describe('healthCheckPathProblem', () => {
  it.each(['/health', '/', '/up?full=1', 'tcp'])('accepts %s', (value) => {
    expect(healthCheckPathProblem(value)).toBeUndefined();
  });
  it.each(['health', '/a b', 'TCP', '', `/${'a'.repeat(512)}`])('refuses %j', (value) => {
    expect(healthCheckPathProblem(value)).toMatch(/must be a path/);
  });
});

import { routeCheck } from './check-event.ts';
import { routePullRequest } from './pull-request-event.ts';
import { routePush } from './push-event.ts';
import { routeRelease } from './release-event.ts';
import type { EnvironmentTrigger, RouteDecision } from './route-decision.ts';
import { ignored } from './route-decision.ts';

/** The header naming the event of a delivery (`push`, `ping`, …). */
export const EVENT_HEADER = 'x-github-event';

/** The header with the delivery's unique id, for deduplicating redeliveries. */
export const DELIVERY_HEADER = 'x-github-delivery';

/**
 * What a verified webhook delivery asks for, given the app's environments. Pure and total: any event or payload,
 * however odd, yields a decision (`ignored` with a reason rather than an exception).
 */
export function routeEvent(event: string, payload: unknown, environments: readonly EnvironmentTrigger[]): RouteDecision {
  switch (event) {
    case 'ping':
      return { kind: 'ping' };
    case 'push':
      return routePush(payload, environments);
    case 'release':
      return routeRelease(payload, environments);
    case 'pull_request':
      return routePullRequest(payload, environments);
    case 'check_suite':
    case 'check_run':
    case 'status':
    case 'workflow_run':
      return routeCheck(event, payload);
    default:
      return ignored('event is not a deploy trigger');
  }
}

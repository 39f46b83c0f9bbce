export { isPreviewName, MAX_PULL_REQUEST, PREVIEW_NAME_PATTERN, previewEnvironmentName } from './preview-name.ts';
export { repositoryFullName } from './repository-full-name.ts';
export type {
  CheckDecision,
  DeliveryOrder,
  DeployDecision,
  DeployEvent,
  DeploySummary,
  DeployTarget,
  EnvironmentTrigger,
  GitRef,
  IgnoredDecision,
  PreviewCloseDecision,
  PreviewDecision,
  RouteDecision,
} from './route-decision.ts';
export { DELIVERY_HEADER, EVENT_HEADER, routeEvent } from './route-event.ts';
export { generateWebhookSecret, SIGNATURE_HEADER, StreamingSignature, signPayload, verifySignature } from './signature.ts';
export { matchesTagPattern } from './tag-glob.ts';

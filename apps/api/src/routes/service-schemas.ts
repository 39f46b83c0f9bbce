import { name } from '../schemas.ts';

/** `pier-svc-<name>` is the host apps connect to: it must stay one DNS label (63 characters). */
export const serviceName = name.refine(
  (value) => value.length <= 54,
  'must be at most 54 characters (pier-svc-<name> is a DNS label)',
);

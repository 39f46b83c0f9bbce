import { z } from 'zod';

/** `owner/name`, with the same rule the API applies when an app's repository is configured. */
const FULL_NAME = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

const withRepository = z.looseObject({ repository: z.looseObject({ full_name: z.string().regex(FULL_NAME) }) });

/**
 * The `owner/name` a delivery is about, read before the signature is checked so that the app (and its secret)
 * can be found. Untrusted until verified. Null when there is none (an organisation-wide `ping`) or it is malformed.
 * GitHub names are case-insensitive: compare them that way.
 */
export function repositoryFullName(_event: string, payload: unknown): string | null {
  const parsed = withRepository.safeParse(payload);
  return parsed.success ? parsed.data.repository.full_name : null;
}

/** What a failed pull was asked to do, for saying why it failed. */
export interface PullAttempt {
  /** The reference as the user gave it. */
  reference: string;
  /** `host[:port]` of its registry. */
  registry: string;
  /** Whether credentials were sent with the pull. */
  authSent: boolean;
}

const AUTH_REFUSED = /unauthorized|authentication required|no basic auth credentials|incorrect username or password|\b401\b/i;
const ACCESS_DENIED = /pull access denied|denied: requested access|\b403\b|forbidden/i;
const NOT_FOUND =
  /manifest unknown|manifest for .* not found|not found: manifest|name unknown|repository does not exist|\b404\b/i;
/** The Engine tried HTTPS, was asked for credentials it did not have, and fell back to plain HTTP (a registry on 127.0.0.0/8). */
const HTTPS_ONLY = /Client sent an HTTP request to an HTTPS server/i;
const UNREACHABLE = /connection refused|no such host|i\/o timeout|network is unreachable|TLS handshake|x509:|dial tcp|EOF$/i;

/**
 * The reason a pull failed, from the Engine's message, in the user's terms:
 * credentials rejected (or missing), image not found, registry unreachable,
 * or the Engine's own words. Never quotes a credential: the Engine's messages
 * hold none (and the worker masks the stored password anyway).
 */
export function pullFailureReason(engineText: string, attempt: PullAttempt): string {
  const { reference, registry, authSent } = attempt;
  const text = engineText.trim();
  if (AUTH_REFUSED.test(text) || (!authSent && HTTPS_ONLY.test(text))) {
    return authSent
      ? `registry credentials rejected for ${registry}`
      : `${registry} asks for credentials and the app has none for it (PUT /apps/:app/registry-credentials)`;
  }
  if (ACCESS_DENIED.test(text)) {
    return authSent
      ? `${registry} refused access to ${reference}: the image does not exist or the registry credentials may not pull it`
      : `${registry} refused access to ${reference}: the image does not exist or needs registry credentials`;
  }
  if (NOT_FOUND.test(text)) return `image ${reference} not found on ${registry}`;
  if (UNREACHABLE.test(text)) return `registry ${registry} unreachable: ${short(text)}`;
  return `pulling ${reference} failed: ${short(text)}`;
}

function short(text: string): string {
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

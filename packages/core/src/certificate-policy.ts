/**
 * When certificates are ordered again: renewal at two thirds of a
 * certificate's lifetime (spread a little so that many certificates issued
 * together are not renewed together), and a backoff after failed
 * authorizations that never lets more than five of them happen for one
 * hostname within an hour (Let's Encrypt's own limit).
 */

export const HOUR_MS = 60 * 60_000;

/** Failed authorizations allowed per hostname in any sliding hour. */
export const MAX_FAILED_AUTHORIZATIONS_PER_HOUR = 5;

/** Renewal happens between these fractions of the lifetime (two thirds, ± 1/30). */
const RENEW_FROM = 2 / 3 - 1 / 30;
const RENEW_SPREAD = 2 / 30;

/** When to renew a certificate valid from `notBefore` to `notAfter`; `random` in [0, 1). */
export function renewalTime(notBefore: Date, notAfter: Date, random: () => number = Math.random): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  if (lifetime <= 0) return notBefore;
  const fraction = RENEW_FROM + RENEW_SPREAD * Math.min(Math.max(random(), 0), 1);
  return new Date(notBefore.getTime() + Math.round(lifetime * fraction));
}

export interface FailureBackoff {
  /** The failed authorizations of the last hour, oldest first, including this one. */
  failureTimes: Date[];
  /** No new order for the hostname before this. */
  nextAttemptAt: Date;
}

/**
 * After a failed authorization at `now`: the failures of the last hour and
 * when to try next. The delay doubles from `baseMs` with each failure of the
 * hour (at most an hour), and once five failures fall within an hour the next
 * attempt waits until the oldest of them is an hour old.
 */
export function afterFailedAuthorization(previous: readonly Date[], now: Date, baseMs: number): FailureBackoff {
  const recent = previous.filter((t) => now.getTime() - t.getTime() < HOUR_MS && t.getTime() <= now.getTime());
  const failureTimes = [...recent, now].sort((a, b) => a.getTime() - b.getTime());
  const delay = Math.min(baseMs * 2 ** (failureTimes.length - 1), HOUR_MS);
  let next = now.getTime() + delay;
  if (failureTimes.length >= MAX_FAILED_AUTHORIZATIONS_PER_HOUR) {
    const oldestCounted = failureTimes[failureTimes.length - MAX_FAILED_AUTHORIZATIONS_PER_HOUR] as Date;
    next = Math.max(next, oldestCounted.getTime() + HOUR_MS);
  }
  return { failureTimes: failureTimes.slice(-MAX_FAILED_AUTHORIZATIONS_PER_HOUR), nextAttemptAt: new Date(next) };
}

/**
 * The delay after an attempt that failed for another reason (the CA
 * unreachable or slow): `baseMs`, doubling while attempts keep failing
 * (`previousDelayMs` is the wait before this attempt when the one before it
 * failed too, else 0), at most an hour. Nothing is counted against the
 * per-hostname limit: the CA never judged the hostname.
 */
export function delayAfterOtherFailure(previousDelayMs: number, baseMs: number): number {
  return Math.min(Math.max(baseMs, previousDelayMs * 2), HOUR_MS);
}

/**
 * An ACME HTTP-01 token as the proxy accepts it: base64url (RFC 8555 §8.3
 * requires it), 16 to 128 characters. Anything else (dots, slashes, percent
 * escapes) is refused before any lookup.
 */
export function isAcmeToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{16,128}$/.test(token);
}

/** Path prefix of HTTP-01 challenges (RFC 8555 §8.3). */
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

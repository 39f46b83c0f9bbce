/** What a masked secret reads as. */
export const MASK = '••••••';

const SECRET_KEY = /password|secret|token/i;

/**
 * A copy of an API body with every password-like field replaced by MASK
 * and the password of every URL's user info too (`postgres://u:MASK@host`),
 * for `services show` without --reveal.
 */
export function maskSecrets<T>(value: T): T {
  return maskValue(value, undefined) as T;
}

function maskValue(value: unknown, key: string | undefined): unknown {
  if (Array.isArray(value)) return value.map((item) => maskValue(item, undefined));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v, k)]));
  }
  if (typeof value !== 'string') return value;
  if (key !== undefined && SECRET_KEY.test(key)) return MASK;
  return maskUrlPassword(value);
}

/** `scheme://user:secret@host…` → `scheme://user:MASK@host…`; other text as it is. */
export function maskUrlPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/i, `$1${MASK}@`);
}

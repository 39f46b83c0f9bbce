/** Values shorter than this are not masked: masking `1` or `on` would garble every line. */
export const MIN_MASKED_LENGTH = 4;
export const MASK = '********';

/**
 * Replaces every occurrence of each secret in text, longest first so that a
 * secret containing another is masked whole.
 */
export function createSecretMask(secrets: Iterable<string>): (text: string) => string {
  const values = [...new Set(secrets)].filter((s) => s.length >= MIN_MASKED_LENGTH).sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const value of values) if (out.includes(value)) out = out.split(value).join(MASK);
    return out;
  };
}

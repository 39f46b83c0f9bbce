/** Values shorter than this are not masked: masking `1` or `on` would garble every line. */
export const MIN_MASKED_LENGTH = 4;
/**
 * Lines of a multi-line value shorter than this (after trimming) are not
 * masked on their own: a PEM key's last line may be `Zg==`, but a JSON
 * value's `}` or `true` would garble every line that has one. A few
 * characters of a key's last line are a small leak; the key's other lines
 * are long.
 */
export const MIN_MASKED_LINE_LENGTH = 6;
export const MASK = '********';

/**
 * Replaces every occurrence of each secret in text, longest first so that a
 * secret containing another is masked whole. Output is stored and shown line
 * by line, so a secret with line breaks (a PEM key) is masked whole and each
 * of its lines on its own too, wherever it appears and however indented.
 */
export function createSecretMask(secrets: Iterable<string>): (text: string) => string {
  const values = [...new Set([...secrets].flatMap(maskedParts))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const value of values) if (out.includes(value)) out = out.split(value).join(MASK);
    return out;
  };
}

/** The strings masked for one secret: itself, and the lines of a multi-line one. */
function maskedParts(secret: string): string[] {
  const whole = secret.length >= MIN_MASKED_LENGTH ? [secret] : [];
  if (!/[\r\n]/.test(secret)) return whole;
  const lines = secret
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line.length >= MIN_MASKED_LINE_LENGTH);
  return [...whole, ...lines];
}

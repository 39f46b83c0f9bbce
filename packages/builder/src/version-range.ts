/**
 * Which major versions a version range admits, the way npm reads
 * `engines.node` (node-semver's range grammar: `>=18`, `^20.11`, `18.x`,
 * `>=18 <21`, `20 - 22`, `20 || 22`), at the level of major versions: a major
 * is admitted when some version of it satisfies the range. Images are chosen
 * by major (`pier-local/node:20`), so finer parts only bound which majors count.
 */

/** A version encoded as one number: major·10⁶ + minor·10³ + patch (parts above 999 are clamped). */
type Encoded = number;

/** Versions `lo` ≤ v < `hi`. */
interface Interval {
  lo: Encoded;
  hi: Encoded;
}

const MAJOR = 1_000_000;
const MINOR = 1_000;
const ANY: Interval = { lo: 0, hi: Number.POSITIVE_INFINITY };
const COMPARATOR = /^(<=|>=|<|>|=|\^|~>?)?v?(\d+|[xX*])?(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.+-]*)?$/;

/** The majors among `majors` that `range` admits, highest first; null when `range` is not a version range. */
export function majorsInRange(range: string, majors: readonly number[]): number[] | null {
  const sets = parseRange(range);
  if (sets === null) return null;
  return [...new Set(majors)].filter((major) => sets.some((set) => admits(set, major))).sort((a, b) => b - a);
}

function admits(set: Interval, major: number): boolean {
  return Math.max(set.lo, major * MAJOR) < Math.min(set.hi, (major + 1) * MAJOR);
}

/** One interval per `||` alternative; null when any part does not parse. */
function parseRange(range: string): Interval[] | null {
  const alternatives = range.trim().split('||');
  const sets: Interval[] = [];
  for (const alternative of alternatives) {
    const set = parseSet(alternative.trim());
    if (set === null) return null;
    sets.push(set);
  }
  return sets;
}

function parseSet(text: string): Interval | null {
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
  // `a - b` is `>=a <=b`.
  const tokens = hyphen ? [`>=${hyphen[1]}`, `<=${hyphen[2]}`] : text.replace(/(<=|>=|<|>|=|\^|~>?)\s+/g, '$1').split(/\s+/);
  let set = ANY;
  for (const token of tokens.filter((t) => t !== '')) {
    const interval = parseComparator(token);
    if (interval === null) return null;
    set = { lo: Math.max(set.lo, interval.lo), hi: Math.min(set.hi, interval.hi) };
  }
  return set;
}

function parseComparator(token: string): Interval | null {
  const match = COMPARATOR.exec(token);
  if (!match) return null;
  const [, operator = '', ...raw] = match;
  const parts = raw.map((part) => (part === undefined || /^[xX*]$/.test(part) ? undefined : Math.min(Number(part), 999)));
  const given = parts.indexOf(undefined);
  const known = (given === -1 ? parts : parts.slice(0, given)) as number[];
  if (known.length === 0) return operator === '<' || operator === '>' ? { lo: 0, hi: 0 } : ANY;
  const [major = 0, minor = 0, patch = 0] = known;
  const start = major * MAJOR + minor * MINOR + patch;
  // The first version past everything the given parts match: `1.2` → 1.3.0, `1.2.3` → 1.2.4.
  const pastMatch = known.length === 1 ? (major + 1) * MAJOR : known.length === 2 ? start + MINOR : start + 1;
  switch (operator) {
    case '>=':
      return { lo: start, hi: ANY.hi };
    case '>':
      return { lo: pastMatch, hi: ANY.hi };
    case '<':
      return { lo: 0, hi: start };
    case '<=':
      return { lo: 0, hi: pastMatch };
    case '^':
      return { lo: start, hi: caretEnd(known) };
    case '~':
    case '~>':
      return { lo: start, hi: known.length === 1 ? (major + 1) * MAJOR : major * MAJOR + (minor + 1) * MINOR };
    default:
      return { lo: start, hi: pastMatch };
  }
}

/** `^1.2.3` → <2.0.0, `^0.2.3` → <0.3.0, `^0.0.3` → <0.0.4: the first non-zero part may not change. */
function caretEnd(known: number[]): Encoded {
  const [major = 0, minor = 0, patch = 0] = known;
  if (major > 0 || known.length === 1) return (major + 1) * MAJOR;
  if (minor > 0 || known.length === 2) return (minor + 1) * MINOR;
  return patch + 1;
}

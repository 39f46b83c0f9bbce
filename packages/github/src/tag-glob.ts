/**
 * Whether `name` matches a tag pattern as a whole: `*` is any run of characters (including none, including `/`),
 * `?` exactly one character, everything else matches itself literally. No regular expression is built, so a
 * pattern can neither inject one nor backtrack catastrophically: the worst case is O(pattern × name).
 */
export function matchesTagPattern(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  // Where the last `*` was, and where in `name` it currently ends; we retry from there on a mismatch.
  let starAt = -1;
  let starEnd = 0;
  while (n < name.length) {
    const char = pattern[p];
    if (char === '*') {
      starAt = p++;
      starEnd = n;
    } else if (char !== undefined && (char === '?' || char === name[n])) {
      p++;
      n++;
    } else if (starAt >= 0) {
      p = starAt + 1;
      n = ++starEnd;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

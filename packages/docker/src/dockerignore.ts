/**
 * `.dockerignore` as the Docker CLI reads it (moby/patternmatcher): one
 * pattern a line, `#` comments, `!` re-includes, `*` `?` `[…]` within one path
 * segment, `**` across segments; a pattern also excludes everything under a
 * directory it matches; the last matching pattern wins.
 */
export interface IgnoreRule {
  pattern: string;
  exclusion: boolean;
  regex: RegExp;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    const pattern = cleanPattern(line);
    if (pattern === '') continue;
    rules.push({ pattern, exclusion, regex: patternRegex(pattern) });
  }
  return rules;
}

/** Whether `path` (relative to the context, `/`-separated) is left out of the context. */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const candidates = selfAndParents(path);
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.regex.test(candidate))) ignored = !rule.exclusion;
  }
  return ignored;
}

/** Whether a `!` rule might re-include something below the directory `path`, so it must still be walked. */
export function mayReincludeBelow(rules: readonly IgnoreRule[], path: string): boolean {
  const directory = `${path}/`;
  return rules.some((rule) => {
    if (!rule.exclusion) return false;
    const prefix = literalPrefix(rule.pattern);
    return prefix.startsWith(directory) || directory.startsWith(prefix);
  });
}

function cleanPattern(pattern: string): string {
  const segments: string[] = [];
  for (const segment of pattern.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return segments.join('/');
}

function selfAndParents(path: string): string[] {
  const segments = path.split('/');
  return segments.map((_, index) => segments.slice(0, index + 1).join('/'));
}

function literalPrefix(pattern: string): string {
  const wildcard = pattern.search(/[*?[\\]/);
  return wildcard === -1 ? pattern : pattern.slice(0, wildcard);
}

function patternRegex(pattern: string): RegExp {
  let source = '';
  let index = 0;
  while (index < pattern.length) {
    const [piece, length] = translate(pattern, index);
    source += piece;
    index += length;
  }
  return new RegExp(`^${source}$`);
}

/** The regular expression for the pattern token at `index`, and how many characters it spans. */
function translate(pattern: string, index: number): [string, number] {
  const char = pattern.charAt(index);
  const next = pattern.charAt(index + 1);
  if (char === '*' && next === '*') {
    const length = pattern.charAt(index + 2) === '/' ? 3 : 2;
    return [index + length >= pattern.length ? '.*' : '(.*/)?', length];
  }
  if (char === '*') return ['[^/]*', 1];
  if (char === '?') return ['[^/]', 1];
  if (char === '\\' && next !== '') return [escapeChar(next), 2];
  if (char === '[') return next === '!' ? ['[^', 2] : ['[', 1];
  if (char === ']') return [']', 1];
  return [escapeChar(char), 1];
}

function escapeChar(char: string): string {
  return /[.+()|{}$^*?[\]\\]/.test(char) ? `\\${char}` : char;
}

/**
 * `.env` files as `pier env import` reads them and `pier env export` writes
 * them: `KEY=value` lines, `#` comments, blank lines, an optional `export `
 * prefix, values bare, in single quotes (taken literally) or in double quotes
 * (`\n`, `\r`, `\t`, `\"`, `\\` escapes). Quoted values may span lines. `$`
 * is never expanded: a value means what it says.
 */

/** A variable name as the API takes it. */
export const VARIABLE_KEY = /^[A-Z_][A-Z0-9_]*$/;

export const VARIABLE_KEY_RULE = 'A-Z, 0-9 and _, not starting with a digit';

/** A line the parser cannot read: the 1-based line number and what is wrong. */
export class DotenvSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`);
    this.name = 'DotenvSyntaxError';
  }
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

/** The variables of a `.env` text, in file order (a key given twice keeps its last value). */
export function parseDotenv(text: string): Map<string, string> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const variables = new Map<string, string>();
  let index = 0;
  while (index < lines.length) {
    const lineNumber = index + 1;
    // Not trimmed at the end: an unclosed quote keeps this line's trailing spaces.
    const line = (lines[index] as string).trimStart();
    index++;
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new DotenvSyntaxError(lineNumber, 'expected KEY=value');
    const key = match[1] as string;
    if (!VARIABLE_KEY.test(key)) {
      throw new DotenvSyntaxError(lineNumber, `${JSON.stringify(key)} is not a variable name (${VARIABLE_KEY_RULE})`);
    }
    let rest = match[2] as string;
    const quote = rest[0];
    if (quote !== '"' && quote !== "'") {
      variables.set(key, rest.replace(/\s+#.*$/, '').trim());
      continue;
    }
    // A quoted value runs to its closing quote, on this line or a later one.
    let value = '';
    let position = 1;
    for (;;) {
      const closed = quote === "'" ? readSingle(rest, position) : readDouble(rest, position);
      value += closed.text;
      if (closed.end >= 0) {
        rest = rest.slice(closed.end + 1);
        break;
      }
      if (index >= lines.length) throw new DotenvSyntaxError(lineNumber, `the ${quote} quote of ${key} is never closed`);
      value += '\n';
      rest = lines[index] as string;
      index++;
      position = 0;
    }
    if (!/^\s*(#.*)?$/.test(rest)) {
      throw new DotenvSyntaxError(index, `unexpected text after the closing quote of ${key}`);
    }
    variables.set(key, value);
  }
  return variables;
}

/** The text up to a closing `'` (taken literally), and where it is (-1: not on this line). */
function readSingle(line: string, from: number): { text: string; end: number } {
  const end = line.indexOf("'", from);
  return end < 0 ? { text: line.slice(from), end } : { text: line.slice(from, end), end };
}

/** The text up to a closing `"`, escapes decoded, and where it is (-1: not on this line). */
function readDouble(line: string, from: number): { text: string; end: number } {
  let text = '';
  for (let i = from; i < line.length; i++) {
    const char = line[i] as string;
    if (char === '"') return { text, end: i };
    if (char === '\\' && i + 1 < line.length) {
      const next = line[i + 1] as string;
      // An unknown escape keeps its backslash (`\d` in a regex stays `\d`).
      text += ESCAPES[next] ?? `\\${next}`;
      i++;
    } else text += char;
  }
  return { text, end: -1 };
}

/** A `.env` text that `parseDotenv` reads back to exactly these variables. */
export function formatDotenv(variables: Iterable<[string, string]>): string {
  let text = '';
  for (const [key, value] of variables) text += `${key}=${quoteValue(value)}\n`;
  return text;
}

function quoteValue(value: string): string {
  if (/^[A-Za-z0-9_./:@%+,=-]*$/.test(value)) return value;
  if (!/['\r\n]/.test(value)) return `'${value}'`;
  return `"${value.replace(/[\\"\n\r]/g, (char) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r' })[char] as string)}"`;
}

/**
 * systemd's reading of an `EnvironmentFile=` (systemd.exec(5); the state
 * machine of parse_env_file_internal in systemd's src/basic/env-file.c), for
 * tests of files the installer writes for systemd to read:
 *
 * - lines starting with `#` or `;` (after whitespace) are comments; a line
 *   without `=` is ignored; whitespace around the key and the `=` is dropped;
 * - unquoted, a value loses its leading and trailing whitespace, and a
 *   backslash keeps the character after it (a backslash-newline continues the line);
 * - in single quotes everything is verbatim up to the next `'`;
 * - in double quotes a backslash keeps the one of `"`, `\`, `$` and `` ` ``
 *   after it, a backslash-newline is dropped, and before any other character
 *   both stay; there is no `$` expansion;
 * - quoted and unquoted pieces follow each other into one value;
 * - `\r` ends a line as `\n` does, and a backslash in a comment keeps the
 *   character after it in the comment, a newline too (systemd 252, Debian 12's).
 *
 * The last assignment of a name wins.
 */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  type State =
    | 'preKey'
    | 'key'
    | 'preValue'
    | 'value'
    | 'valueEscape'
    | 'single'
    | 'double'
    | 'doubleEscape'
    | 'comment'
    | 'commentEscape';
  let state: State = 'preKey';
  let key = '';
  let value = '';
  // Length of `value` up to its last character that is not trailing whitespace (unquoted values are trimmed).
  let kept = 0;
  const push = () => {
    out[key.trimEnd()] = value.slice(0, kept);
    key = '';
    value = '';
    kept = 0;
  };
  const newline = (c: string) => c === '\n' || c === '\r';
  const blank = (c: string) => c === ' ' || c === '\t' || newline(c);
  for (const c of `${text}\n`) {
    switch (state) {
      case 'preKey':
        if (c === '#' || c === ';') state = 'comment';
        else if (!blank(c)) {
          state = 'key';
          key = c;
        }
        break;
      case 'key':
        if (newline(c)) {
          state = 'preKey';
          key = '';
        } else if (c === '=') state = 'preValue';
        else key += c;
        break;
      case 'preValue':
        if (newline(c)) {
          state = 'preKey';
          push();
        } else if (c === "'") state = 'single';
        else if (c === '"') state = 'double';
        else if (c === '\\') state = 'valueEscape';
        else if (!blank(c)) {
          state = 'value';
          value += c;
          kept = value.length;
        }
        break;
      case 'value':
        if (newline(c)) {
          state = 'preKey';
          push();
        } else if (c === '\\') state = 'valueEscape';
        else {
          value += c;
          if (!blank(c)) kept = value.length;
        }
        break;
      case 'valueEscape':
        state = 'value';
        if (!newline(c)) {
          value += c;
          kept = value.length;
        }
        break;
      case 'single':
        if (c === "'") state = 'preValue';
        else value += c;
        kept = value.length;
        break;
      case 'double':
        if (c === '"') state = 'preValue';
        else if (c === '\\') state = 'doubleEscape';
        else value += c;
        kept = value.length;
        break;
      case 'doubleEscape':
        state = 'double';
        if ('"\\`$'.includes(c)) value += c;
        else if (c !== '\n') value += `\\${c}`;
        kept = value.length;
        break;
      case 'comment':
        if (c === '\\') state = 'commentEscape';
        else if (newline(c)) state = 'preKey';
        break;
      case 'commentEscape':
        state = 'comment';
        break;
    }
  }
  return out;
}

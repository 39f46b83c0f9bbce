import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import type { VariableChange } from '../types-config.ts';
import { ErrorNote, Field } from './ui.tsx';
import { type ChangeTarget, fieldError, useVariableChange } from './variables-change.tsx';

const VARIABLE_KEY = /^[A-Z_][A-Z0-9_]*$/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };

/**
 * A `.env` text's variables, read as `pier env import` reads it: `KEY=value` lines, `#` comments, blank
 * lines, an optional `export ` prefix, values bare, in single quotes (literal) or double quotes (`\n`, `\r`,
 * `\t`, `\"`, `\\` escapes), quoted values across lines; `$` is never expanded. A line it cannot read
 * throws an Error that names it (`line 3: …`).
 */
export function parseDotenv(text: string): Map<string, string> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const variables = new Map<string, string>();
  let index = 0;
  while (index < lines.length) {
    const lineNumber = index + 1;
    const line = (lines[index] as string).trimStart();
    index++;
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`line ${lineNumber}: expected KEY=value`);
    const key = match[1] as string;
    if (!VARIABLE_KEY.test(key)) {
      throw new Error(
        `line ${lineNumber}: ${JSON.stringify(key)} is not a variable name (A-Z, 0-9 and _, not starting with a digit)`,
      );
    }
    let rest = match[2] as string;
    const quote = rest[0];
    if (quote !== '"' && quote !== "'") {
      variables.set(key, rest.replace(/\s+#.*$/, '').trim());
      continue;
    }
    let value = '';
    let position = 1;
    for (;;) {
      const closed = readQuoted(rest, position, quote);
      value += closed.text;
      if (closed.end >= 0) {
        rest = rest.slice(closed.end + 1);
        break;
      }
      if (index >= lines.length) throw new Error(`line ${lineNumber}: the ${quote} quote of ${key} is never closed`);
      value += '\n';
      rest = lines[index] as string;
      index++;
      position = 0;
    }
    if (!/^\s*(#.*)?$/.test(rest)) throw new Error(`line ${index}: unexpected text after the closing quote of ${key}`);
    variables.set(key, value);
  }
  return variables;
}

/** The text up to the closing quote (escapes decoded inside double quotes), and where it is (-1: not on this line). */
function readQuoted(line: string, from: number, quote: string): { text: string; end: number } {
  if (quote === "'") {
    const end = line.indexOf("'", from);
    return { text: end < 0 ? line.slice(from) : line.slice(from, end), end };
  }
  let text = '';
  for (let i = from; i < line.length; i++) {
    const char = line[i] as string;
    if (char === '"') return { text, end: i };
    if (char === '\\' && i + 1 < line.length) {
      const next = line[i + 1] as string;
      text += ESCAPES[next] ?? `\\${next}`;
      i++;
    } else text += char;
  }
  return { text, end: -1 };
}

/** A pasted `.env`, parsed here and sent as one PATCH; nothing is sent when a line cannot be read. */
export function ImportVariables(props: { target: ChangeTarget; onDone: (change: VariableChange) => void }) {
  const [text, setText] = useState('');
  const [parseError, setParseError] = useState<ApiError | undefined>();
  const send = useVariableChange(props.target, props.onDone);
  const apiError = fieldError(send.error, { key: 'dotenv', value: 'dotenv' });
  const error = parseError ?? apiError;
  return (
    <details class="panel">
      <summary>Import a .env</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          let values: Map<string, string>;
          try {
            values = parseDotenv(text);
          } catch (err) {
            setParseError(new ApiError(0, 'client', `dotenv: ${(err as Error).message}; nothing was sent`));
            return;
          }
          if (values.size === 0) {
            setParseError(new ApiError(0, 'client', 'dotenv: no variables in it'));
            return;
          }
          setParseError(undefined);
          void send.run({ set: Object.fromEntries(values) }).then((change) => {
            // The pasted values are secrets: not kept once they are stored.
            if (change) setText('');
          });
        }}
      >
        <Field
          label=".env contents"
          name="dotenv"
          error={error}
          hint="KEY=value lines; # comments, quotes and an export prefix as in a .env file. Variables not in it are kept."
        >
          {(attrs) => (
            <textarea
              {...attrs}
              rows={6}
              autocomplete="off"
              spellcheck={false}
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
            />
          )}
        </Field>
        <div class="actions">
          <button type="submit" class="primary" disabled={send.pending || text.trim() === ''}>
            {send.pending ? 'Importing…' : 'Import'}
          </button>
        </div>
      </form>
      <ErrorNote error={error} fields={['dotenv']} />
    </details>
  );
}

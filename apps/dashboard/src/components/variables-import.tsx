import { parseDotenv } from '@pier/client';
import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import type { VariableChange } from '../types-config.ts';
import { ErrorNote, Field } from './ui.tsx';
import { type ChangeTarget, fieldError, useVariableChange } from './variables-change.tsx';

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

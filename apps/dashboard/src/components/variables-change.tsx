import { useState } from 'preact/hooks';
import { ApiError, api, path } from '../api.ts';
import { useAction } from '../hooks.ts';
import { href } from '../router.ts';
import type { VariableChange } from '../types-config.ts';
import { ErrorNote, Field, Notice } from './ui.tsx';

/** What a change of variables is sent with: where, and whether the running release is redeployed with it. */
export interface ChangeTarget {
  app: string;
  env: string;
  redeploy: boolean;
}

export interface ChangeBody {
  set?: Record<string, string>;
  unset?: string[];
}

/** One PATCH of the environment's variables (set and unset at once), with the redeploy when asked. */
export function useVariableChange(target: ChangeTarget, onDone: (change: VariableChange) => void) {
  return useAction(async (body: ChangeBody) => {
    const change = await api<VariableChange>('PATCH', path`/apps/${target.app}/environments/${target.env}/variables`, {
      ...body,
      redeploy: target.redeploy,
    });
    onDone(change);
    return change;
  });
}

/**
 * The API names a bad entry of `set` by its key (`body.set.bad-key: invalid key: …`); this says which of the
 * form's fields it is about: the key (`keyField`) or the value (`valueField`), keeping the API's words.
 */
export function fieldError(error: ApiError | undefined, fields: { key: string; value: string }): ApiError | undefined {
  if (!error) return undefined;
  const match = /^body\.set\.(.+?): (.*)$/s.exec(error.message);
  if (!match) return error;
  const [, key, problem] = match as unknown as [string, string, string];
  const field = /^invalid key/.test(problem) ? fields.key : fields.value;
  return new ApiError(error.status, error.code, `${field}: ${key}: ${problem}`);
}

/** What a change did and which redeploy brings it to the replicas (a link to that deployment). */
export function ChangeNotice(props: { app: string; env: string; change: VariableChange }) {
  const { change } = props;
  const parts = [
    change.set.length ? `set ${change.set.join(', ')}` : '',
    change.unset.length ? `removed ${change.unset.join(', ')}` : '',
  ].filter(Boolean);
  if (parts.length === 0) return <Notice>Nothing changed.</Notice>;
  const what = parts.join('; ');
  return (
    <Notice>
      Saved in {props.env}: {what} (config version {change.configVersion}).{' '}
      {change.deployment ? (
        <>
          A redeploy of the running release with them follows:{' '}
          <a href={href('apps', props.app, 'deployments', change.deployment.id)}>deployment {change.deployment.id.slice(0, 8)}</a>
          .
        </>
      ) : (
        `They apply from the next deployment of ${props.env}.`
      )}
    </Notice>
  );
}

/** Adds one variable (or replaces it, if the key exists). */
export function AddVariable(props: { target: ChangeTarget; onDone: (change: VariableChange) => void }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const add = useVariableChange(props.target, props.onDone);
  const error = fieldError(add.error, { key: 'key', value: 'value' });
  return (
    <section class="panel" aria-labelledby="add-variable">
      <h2 id="add-variable">Add a variable</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run({ set: { [key.trim()]: value } }).then((change) => {
            if (!change) return;
            setKey('');
            setValue('');
          });
        }}
      >
        <Field label="Name" name="key" error={error} hint="A-Z, 0-9 and _, not starting with a digit">
          {(attrs) => (
            <input
              {...attrs}
              required
              autocomplete="off"
              spellcheck={false}
              class="mono"
              value={key}
              onInput={(e) => setKey(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Value" name="value" error={error}>
          {(attrs) => (
            <input
              {...attrs}
              autocomplete="off"
              spellcheck={false}
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
            />
          )}
        </Field>
        <button type="submit" class="primary" disabled={add.pending}>
          {add.pending ? 'Saving…' : 'Add'}
        </button>
      </form>
      <ErrorNote error={error} fields={['key', 'value']} />
    </section>
  );
}

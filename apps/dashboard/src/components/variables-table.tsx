import { useEffect, useState } from 'preact/hooks';
import { get, path } from '../api.ts';
import { useAction } from '../hooks.ts';
import { href } from '../router.ts';
import type { ServiceLink, Variable, VariableChange } from '../types-config.ts';
import { ConfirmDialog, ErrorNote, Field, TimeAgo } from './ui.tsx';
import { type ChangeTarget, fieldError, useVariableChange } from './variables-change.tsx';

/**
 * The environment's own variables. Values stay on the server until one row's Reveal asks for it; Hide
 * forgets it again. Edit replaces a value, Remove unsets the key (after a confirmation).
 */
export function VariablesTable(props: { target: ChangeTarget; variables: Variable[]; onDone: (change: VariableChange) => void }) {
  const { target } = props;
  // Only the values revealed one by one, by key: each Reveal fetches that one value and nothing else. Each keeps
  // the `updatedAt` it was read at: a value changed elsewhere since is hidden again (not shown stale).
  const [shownValues, setRevealed] = useState<Record<string, { value: string; updatedAt: string }>>({});
  const listed = new Map(props.variables.map((v) => [v.key, v.updatedAt]));
  // Newer in the list than when read (a list older than the read, loaded before it, is no reason).
  const stale = Object.entries(shownValues)
    .filter(([key, shown]) => {
      const at = listed.get(key);
      return at === undefined || Date.parse(at) > Date.parse(shown.updatedAt);
    })
    .map(([key]) => key);
  const revealed: Record<string, string> = {};
  for (const [key, shown] of Object.entries(shownValues)) if (!stale.includes(key)) revealed[key] = shown.value;
  const [editing, setEditing] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const reveal = useAction(async (key: string) => {
    const one = await get<Variable>(path`/apps/${target.app}/environments/${target.env}/variables/${key}`);
    if (one.value !== null) setRevealed((r) => ({ ...r, [key]: { value: one.value as string, updatedAt: one.updatedAt } }));
    return key;
  });
  const hide = (key: string) =>
    setRevealed((r) => {
      const { [key]: _gone, ...rest } = r;
      return rest;
    });
  // Forgotten, not only not shown.
  useEffect(() => {
    for (const key of stale) hide(key);
  }, [stale.join('\n')]);
  const remove = useVariableChange(target, (change) => {
    for (const key of change.unset) hide(key);
    setRemoving(null);
    props.onDone(change);
  });

  if (props.variables.length === 0) return <p>No variables in {target.env} yet.</p>;
  return (
    <>
      <div class="table-wrap">
        <table>
          <caption class="muted">
            {props.variables.length} variable{props.variables.length === 1 ? '' : 's'} set in {target.env}
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col" class="hide-narrow">
                Updated
              </th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {props.variables.map((v) =>
              editing === v.key ? (
                <EditRow
                  key={v.key}
                  target={target}
                  variable={v}
                  onClose={() => setEditing(null)}
                  onDone={(change) => {
                    hide(v.key);
                    setEditing(null);
                    props.onDone(change);
                  }}
                />
              ) : (
                <tr key={v.key}>
                  <th scope="row" class="mono">
                    {v.key}
                  </th>
                  <td>
                    <Value value={revealed[v.key]} />
                  </td>
                  <td class="hide-narrow">
                    <TimeAgo at={v.updatedAt} />
                  </td>
                  <td>
                    <div class="actions">
                      {revealed[v.key] === undefined ? (
                        <button
                          type="button"
                          aria-label={`Reveal ${v.key}`}
                          disabled={reveal.pending}
                          onClick={() => void reveal.run(v.key)}
                        >
                          Reveal
                        </button>
                      ) : (
                        <button type="button" aria-label={`Hide ${v.key}`} onClick={() => hide(v.key)}>
                          Hide
                        </button>
                      )}
                      <button type="button" aria-label={`Edit ${v.key}`} onClick={() => setEditing(v.key)}>
                        Edit
                      </button>
                      <button type="button" aria-label={`Remove ${v.key}`} onClick={() => setRemoving(v.key)}>
                        Remove
                      </button>
                    </div>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
      <ErrorNote error={reveal.error} />
      {removing !== null && (
        <ConfirmDialog
          open={removing !== null}
          title={`Remove ${removing ?? ''} from ${target.env}?`}
          confirmLabel="Remove"
          danger
          pending={remove.pending}
          error={remove.error}
          onCancel={() => {
            setRemoving(null);
            remove.reset();
          }}
          onConfirm={() => void remove.run({ unset: [removing as string] })}
        >
          <p>
            The variable is deleted from {target.env}
            {target.redeploy ? ' and the running release is redeployed without it.' : '; it is gone from the next deployment.'}
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function Value(props: { value: string | undefined }) {
  if (props.value === undefined) return <span class="muted">•••••• (hidden)</span>;
  if (props.value === '') return <span class="muted">(empty)</span>;
  return <code class="variable-value">{props.value}</code>;
}

/** A row whose value is being replaced: the new value is typed, never prefilled from the server. */
function EditRow(props: {
  target: ChangeTarget;
  variable: Variable;
  onClose: () => void;
  onDone: (change: VariableChange) => void;
}) {
  const { variable } = props;
  const [value, setValue] = useState('');
  const save = useVariableChange(props.target, props.onDone);
  const error = fieldError(save.error, { key: 'edit-value', value: 'edit-value' });
  return (
    <tr>
      <th scope="row" class="mono">
        {variable.key}
      </th>
      <td colSpan={3}>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void save.run({ set: { [variable.key]: value } });
          }}
        >
          <Field label={`New value of ${variable.key}`} name="edit-value" error={error}>
            {(attrs) => (
              <input
                {...attrs}
                autocomplete="off"
                spellcheck={false}
                value={value}
                // biome-ignore lint/a11y/noAutofocus: the field the Edit button opened
                autoFocus
                onInput={(e) => setValue(e.currentTarget.value)}
              />
            )}
          </Field>
          <button type="submit" class="primary" disabled={save.pending}>
            {save.pending ? 'Saving…' : 'Save'}
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </form>
        <ErrorNote error={error} fields={['edit-value']} />
      </td>
    </tr>
  );
}

/** Variables a linked service injects: names only, read-only, with the service they come from. */
export function InjectedTable(props: { links: ServiceLink[] }) {
  const rows = props.links.flatMap((link) => link.variables.map((key) => ({ key, link })));
  if (rows.length === 0) return <p class="muted">No linked services: nothing is injected.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="muted">Read-only: set by Pier from each linked service</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Value</th>
            <th scope="col">Injected by</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ key, link }) => (
            <tr key={`${link.service}/${key}`}>
              <th scope="row" class="mono">
                {key}
              </th>
              <td class="muted">injected (read-only)</td>
              <td>
                <a href={href('services', link.service)}>{link.service}</a> <span class="muted">({link.type})</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

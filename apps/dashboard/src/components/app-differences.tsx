import { type Differences, hasDifferences, type LinkedService } from '@pier/client';

/**
 * What differs between two environments before a promotion (`compareEnvironments` of @pier/client, as
 * `pier promote` shows it): variables by NAME only, as the server compared them, and the services linked to each.
 */

function Names(props: { names: string[] }) {
  return (
    <>
      {props.names.map((name, i) => (
        <span key={name}>
          {i > 0 && ', '}
          <code>{name}</code>
        </span>
      ))}
    </>
  );
}

const serviceText = (s: LinkedService | null) => (s ? `${s.type} ${s.version} (${s.service})` : 'nothing');

/** The differences as a list (variable names only, never values), or a sentence saying there are none. */
export function DifferencesList(props: { differences: Differences }) {
  const d = props.differences;
  if (!hasDifferences(d)) {
    return (
      <p>
        {d.from} and {d.to} have the same variables and linked services.
      </p>
    );
  }
  return (
    <ul class="differences">
      {d.variables.onlyInFrom.length > 0 && (
        <li>
          Variables only in {d.from}: <Names names={d.variables.onlyInFrom} />
        </li>
      )}
      {d.variables.onlyInTo.length > 0 && (
        <li>
          Variables only in {d.to}: <Names names={d.variables.onlyInTo} />
        </li>
      )}
      {d.variables.differing.length > 0 && (
        <li>
          Variables whose values differ: <Names names={d.variables.differing} />
        </li>
      )}
      {d.services.map((s) => (
        <li key={s.variable}>
          <code>{s.variable}</code>: {d.from} links {serviceText(s.from)}, {d.to} links {serviceText(s.to)}
        </li>
      ))}
    </ul>
  );
}

import type { Link, VariableComparison } from '../types-app.ts';

/**
 * What differs between two environments before a promotion, as `pier promote`
 * shows it (apps/cli/src/promote-differences.ts, mirrored): variables by NAME
 * only, as the server compared them, and the services linked to each.
 */

interface LinkedService {
  service: string;
  type: string;
  version: string;
}

export interface Differences {
  from: string;
  to: string;
  variables: {
    /** Set in `from` only (names a link of `to` injects are left out: the app gets them there). */
    onlyInFrom: string[];
    onlyInTo: string[];
    differing: string[];
  };
  /** Per injected variable (DATABASE_URL…): a service of another type or version, or linked on one side only. */
  services: { variable: string; from: LinkedService | null; to: LinkedService | null }[];
}

export function compareEnvironments(
  from: { name: string; links: Link[] },
  to: { name: string; links: Link[] },
  variables: VariableComparison,
): Differences {
  const injectedIn = (links: Link[]) => new Set(links.flatMap((l) => [l.variable, ...l.variables]));
  const injectedInFrom = injectedIn(from.links);
  const injectedInTo = injectedIn(to.links);
  const sorted = (names: string[]) => [...names].sort();
  return {
    from: from.name,
    to: to.name,
    variables: {
      onlyInFrom: sorted(variables.onlyHere.filter((k) => !injectedInTo.has(k))),
      onlyInTo: sorted(variables.onlyThere.filter((k) => !injectedInFrom.has(k))),
      differing: sorted(variables.differing),
    },
    services: serviceDifferences(from.links, to.links),
  };
}

function serviceDifferences(from: Link[], to: Link[]): Differences['services'] {
  const byVariable = (links: Link[]) => new Map(links.map((l) => [l.variable, l]));
  const fromLinks = byVariable(from);
  const toLinks = byVariable(to);
  const describe = (l: Link | undefined) => (l ? { service: l.service, type: l.type, version: l.version } : null);
  return [...new Set([...fromLinks.keys(), ...toLinks.keys()])]
    .sort()
    .filter((variable) => {
      const a = fromLinks.get(variable);
      const b = toLinks.get(variable);
      // Each environment links a service of its own: only its kind and version should match.
      return !a || !b || a.type !== b.type || a.version !== b.version;
    })
    .map((variable) => ({ variable, from: describe(fromLinks.get(variable)), to: describe(toLinks.get(variable)) }));
}

export function hasDifferences(d: Differences): boolean {
  const v = d.variables;
  return v.onlyInFrom.length + v.onlyInTo.length + v.differing.length + d.services.length > 0;
}

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

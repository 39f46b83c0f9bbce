/**
 * What differs between two environments before a promotion: variables by
 * NAME only, as the server compared them (`GET …/variables/compare`: no
 * value leaves it), and the services linked to each.
 */

/** `GET /apps/:app/environments/:from/variables/compare?with=:to`. */
export interface VariableComparison {
  onlyHere: string[];
  onlyThere: string[];
  differing: string[];
}

/** A link as `GET …/links` shows it. */
export interface Link {
  service: string;
  type: string;
  version: string;
  variable: string;
  variables: string[];
}

export interface LinkedService {
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
    /** Set in both, to different values. */
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

/** Whether anything differs at all. */
export function hasDifferences(d: Differences): boolean {
  const v = d.variables;
  return v.onlyInFrom.length + v.onlyInTo.length + v.differing.length + d.services.length > 0;
}

/** The differences as lines of text (the CLI prints them); empty when there are none. */
export function differenceLines(d: Differences): string[] {
  const lines: string[] = [];
  const names = (list: string[]) => list.join(', ');
  if (d.variables.onlyInFrom.length) lines.push(`variables only in ${d.from}: ${names(d.variables.onlyInFrom)}`);
  if (d.variables.onlyInTo.length) lines.push(`variables only in ${d.to}: ${names(d.variables.onlyInTo)}`);
  if (d.variables.differing.length) lines.push(`variables whose values differ: ${names(d.variables.differing)}`);
  const service = (s: LinkedService | null) => (s ? `${s.type} ${s.version} (${s.service})` : 'nothing');
  for (const s of d.services) lines.push(`${s.variable}: ${d.from} links ${service(s.from)}, ${d.to} links ${service(s.to)}`);
  return lines;
}

/**
 * Finds `ADD` instructions whose source is fetched from the network: the
 * Docker daemon downloads those itself, from the host's network, outside the
 * build's own network and the host firewall. Local `ADD` and `COPY` are fine.
 *
 * It reads the Dockerfile as suspiciously as it can rather than exactly as one
 * builder would: both escape characters (`\` and the `` ` `` of an
 * `# escape=` directive) are tried, heredoc bodies are read as instructions
 * too (the classic builder, which Pier uses, does not know heredocs), keywords
 * in any case, `ONBUILD ADD`, the JSON form, flags such as `--checksum=`, and a
 * source starting with a variable (it may expand to a URL) all count.
 */

/** One remote `ADD`: the line it starts on (1-based) and the source, for the error message. */
export interface RemoteAdd {
  line: number;
  source: string;
}

interface Instruction {
  line: number;
  text: string;
}

/** The remote sources of `ADD` instructions in `dockerfile`, in line order, each once. */
export function findRemoteAdds(dockerfile: string): RemoteAdd[] {
  const lines = dockerfile.split(/\r\n|\r|\n/);
  const found = new Map<string, RemoteAdd>();
  for (const escapeChar of ['\\', '`']) {
    for (const instruction of logicalLines(lines, escapeChar)) {
      for (const source of remoteSources(instruction.text)) {
        found.set(`${instruction.line}\0${source}`, { line: instruction.line, source });
      }
    }
  }
  return [...found.values()].sort((a, b) => a.line - b.line);
}

/** Why the build is refused, naming the first remote `ADD`; undefined when there is none. */
export function remoteAddProblem(dockerfile: string, path: string): string | undefined {
  const [first] = findRemoteAdds(dockerfile);
  if (!first) return undefined;
  return (
    `${path} line ${first.line}: ADD ${first.source} would be fetched by the Docker daemon from the host's network; ` +
    'download it in a RUN step (curl, wget) or COPY it from the repository'
  );
}

/** Instructions with their continuation lines joined; comment and blank lines inside a continuation are skipped, as Docker does. */
function logicalLines(lines: readonly string[], escapeChar: string): Instruction[] {
  const continued = new RegExp(`${escapeChar === '\\' ? '\\\\' : escapeChar}[ \\t]*$`);
  const instructions: Instruction[] = [];
  let current: Instruction | undefined;
  lines.forEach((raw, index) => {
    const blankOrComment = /^\s*(#|$)/.test(raw);
    if (blankOrComment) return;
    const text = raw.replace(continued, '');
    if (current)
      current.text += text; // joined as is, as Docker does: `AD\` then `D` is ADD
    else current = { line: index + 1, text };
    if (text === raw) {
      instructions.push(current);
      current = undefined;
    }
  });
  if (current) instructions.push(current);
  return instructions;
}

/** The sources of an `ADD` (or `ONBUILD ADD`) that may come from the network. */
function remoteSources(instruction: string): string[] {
  let rest = instruction.trim();
  while (/^onbuild\s/i.test(rest)) rest = rest.slice('onbuild'.length).trim();
  const match = /^add(\s+|$)(.*)$/is.exec(rest);
  if (!match) return [];
  const args = addArguments(match[2] ?? '').filter((arg) => !arg.startsWith('--'));
  // The last argument is the destination; with one argument (an invalid ADD), check that one anyway.
  const sources = args.length > 1 ? args.slice(0, -1) : args;
  return sources.filter(isRemote);
}

function addArguments(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // Not JSON: Docker reads it as the plain form too.
    }
  }
  return trimmed.split(/\s+/).map((arg) => arg.replace(/^(["'])(.*)\1$/, '$2'));
}

/**
 * A URL (`https://`, `git://`, …), a git SSH address (`git@host:repo`), or a source a variable at its start may
 * turn into one. Read as the builder reads it: quotes and escape characters inside a word are dropped first
 * (`h"ttp"://…` and `h\ttp://…` are `http://…` to it), and `://` anywhere makes a source remote.
 */
function isRemote(written: string): boolean {
  const source = written.replace(/["'\\`]/g, '');
  if (source.includes('://') || /^[^/\s:]+@[^/\s:]+:/.test(source)) return true;
  const dollar = source.indexOf('$');
  return dollar >= 0 && /^([a-z][a-z0-9+.-]*(:\/{0,2})?)?$/i.test(source.slice(0, dollar));
}

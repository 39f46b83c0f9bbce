import { ValidationError } from '@pier/core';
import { assertNoControlCharacters } from './dockerfile-text.ts';

const FIELD = 'Procfile';
const LINE_PATTERN = /^([A-Za-z0-9_-]+):[ \t]*([\s\S]*)$/;

/**
 * Parses a Procfile into process type → command line. Blank lines and `#`
 * comments are skipped; anything else must be `name: command`. Throws a
 * ValidationError naming `Procfile` for a malformed line, an empty command, a
 * repeated process type or a control character in a command.
 */
export function parseProcfile(text: string): Map<string, string> {
  const processes = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `Procfile line ${index + 1}`;
    const match = LINE_PATTERN.exec(line);
    if (!match) throw new ValidationError(`${where}: expected "name: command"`, FIELD);
    const [, name = '', command = ''] = match;
    if (command.trim() === '') throw new ValidationError(`${where}: process "${name}" has no command`, FIELD);
    if (processes.has(name)) throw new ValidationError(`${where}: process "${name}" is defined twice`, FIELD);
    processes.set(name, assertNoControlCharacters(FIELD, where, command.trim()));
  });
  return processes;
}

/** The `web:` command of a Procfile, or undefined when there is no Procfile or no web process. */
export function webCommand(procfile: string | undefined): string | undefined {
  return procfile === undefined ? undefined : parseProcfile(procfile).get('web');
}

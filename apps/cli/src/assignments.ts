import { VARIABLE_KEY, VARIABLE_KEY_RULE } from '@pier/client';
import { usageError } from './cli-error.ts';

/**
 * `NAME=value` words of a command line (`pier env set KEY=VALUE`,
 * `pier scale web=3`). Each is checked before anything is sent, and a bad one
 * is a usage error naming it.
 */
export interface Assignment {
  name: string;
  value: string;
}

/** Splits at the first `=`: the value may hold more (`URL=a?b=c`), or be empty (`KEY=`). */
export function splitAssignment(word: string, what: string): Assignment {
  const at = word.indexOf('=');
  if (at <= 0) throw usageError(`${JSON.stringify(word)}: expected ${what}`);
  return { name: word.slice(0, at), value: word.slice(at + 1) };
}

/** A variable name the API takes, or a usage error naming it. */
export function checkVariableKey(key: string): string {
  if (!VARIABLE_KEY.test(key)) throw usageError(`${JSON.stringify(key)}: not a variable name (${VARIABLE_KEY_RULE})`);
  return key;
}

/** `KEY=VALUE` words as variables to set; a later word for the same key wins. */
export function parseVariableAssignments(words: string[]): Record<string, string> {
  const set: Record<string, string> = {};
  for (const word of words) {
    const { name, value } = splitAssignment(word, 'KEY=VALUE');
    set[checkVariableKey(name)] = value;
  }
  return set;
}

const PROCESS_TYPE = /^[A-Za-z0-9_-]{1,63}$/;

/** `type=value` with a process type name the API takes; `option` names the flag it came with, if any. */
export function parseProcessAssignment(word: string, option?: string): Assignment {
  const where = option ? `--${option} ${word}` : word;
  const at = word.indexOf('=');
  if (at <= 0) throw usageError(`${where}: expected ${option ? 'type=value' : 'type=count'}`);
  const pair = { name: word.slice(0, at), value: word.slice(at + 1) };
  if (!PROCESS_TYPE.test(pair.name)) {
    throw usageError(`${where}: ${JSON.stringify(pair.name)} is not a process type (letters, digits, - and _)`);
  }
  return pair;
}

/** What `pier scale` sends for one process type (`null`: back to the release's own limit). */
export interface ProcessChange {
  replicas?: number;
  memoryMb?: number | null;
  cpus?: number | null;
}

/**
 * `web=3 worker=1 --memory web=512 --cpus worker=0.5` as one change per
 * process type, every word checked first.
 */
export function parseScaleRequest(counts: string[], memory: string[], cpus: string[]): Map<string, ProcessChange> {
  const changes = new Map<string, ProcessChange>();
  const change = (type: string) => {
    const found = changes.get(type) ?? {};
    changes.set(type, found);
    return found;
  };
  for (const word of counts) {
    const { name, value } = parseProcessAssignment(word);
    if (!/^\d{1,3}$/.test(value) || Number(value) > 100) {
      throw usageError(`${word}: the replica count must be a whole number from 0 to 100`);
    }
    change(name).replicas = Number(value);
  }
  for (const word of memory) {
    const { name, value } = parseProcessAssignment(word, 'memory');
    change(name).memoryMb = limitValue(value, /^\d{1,7}$/, `--memory ${word}: give MiB as a whole number, or default`);
  }
  for (const word of cpus) {
    const { name, value } = parseProcessAssignment(word, 'cpus');
    change(name).cpus = limitValue(
      value,
      /^(\d{1,3}(\.\d+)?|\.\d+)$/,
      `--cpus ${word}: give a number of CPUs (0.5, 2), or default`,
    );
  }
  return changes;
}

function limitValue(value: string, pattern: RegExp, problem: string): number | null {
  if (value === 'default') return null;
  if (!pattern.test(value)) throw usageError(problem);
  return Number(value);
}

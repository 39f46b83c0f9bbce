import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnvironmentFile } from './systemd-environment-file.ts';

/**
 * The reading of EnvironmentFile= that the installer's proxy.env is checked
 * with, against the rules of systemd.exec(5) and against systemd's own parser:
 * its environment.d generator reads files with the same code
 * (parse_env_file_internal) and prints what it read, quoted again. It expands
 * `$` afterwards, which EnvironmentFile= does not, and leaves out empty
 * assignments, which EnvironmentFile= sets: those are checked against the
 * rules only (the installer writes no empty value).
 */

const run = promisify(execFile);
const GENERATOR = '/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator';
const dir = mkdtempSync(join(tmpdir(), 'pier-envfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CASES: { line: string; name: string; value: string }[] = [
  { line: 'A=plain', name: 'A', value: 'plain' },
  { line: 'B=  trimmed value  ', name: 'B', value: 'trimmed value' },
  { line: 'C="  kept  "', name: 'C', value: '  kept  ' },
  { line: `D='a "b" \\c #d'`, name: 'D', value: 'a "b" \\c #d' },
  { line: 'E="a \\"b\\" \\\\c \\`d\\` \\f #g \'h\'"', name: 'E', value: 'a "b" \\c `d` \\f #g \'h\'' },
  { line: 'F=x\\ y\\\\z', name: 'F', value: 'x y\\z' },
  { line: `G="a"'b'c`, name: 'G', value: 'abc' },
  { line: 'H=a#b;c', name: 'H', value: 'a#b;c' },
  { line: '  I =  spaced key', name: 'I', value: 'spaced key' },
  { line: 'J=one\\\ntwo', name: 'J', value: 'onetwo' },
  { line: 'K=first\nK=last', name: 'K', value: 'last' },
  { line: 'L=', name: 'L', value: '' },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${N}, which EnvironmentFile= does not expand.
  { line: 'M="\\$HOME ${N} $"', name: 'M', value: '$HOME ${N} $' },
  { line: `N='$HOME'`, name: 'N', value: '$HOME' },
];
const IGNORED = ['# O=comment', '; P=comment', 'Q', ''];

describe('EnvironmentFile= as systemd reads it', () => {
  it.each(CASES)('$line', ({ line, name, value }) => {
    expect(parseEnvironmentFile(`${line}\n`)[name]).toBe(value);
  });

  it('ignores comments and lines without =', () => {
    expect(parseEnvironmentFile(`${IGNORED.join('\n')}\nR=r\n`)).toEqual({ R: 'r' });
  });

  it("reads each value as systemd's own parser does", async () => {
    expect(existsSync(GENERATOR), `systemd's environment.d generator (${GENERATOR})`).toBe(true);
    const cases = CASES.filter(({ line, value }) => !line.includes('$') && value !== '');
    mkdirSync(join(dir, 'environment.d'));
    writeFileSync(join(dir, 'environment.d', 'cases.conf'), `${[...IGNORED, ...cases.map((c) => c.line)].join('\n')}\n`);
    const { stdout } = await run(GENERATOR, [], { env: { XDG_CONFIG_HOME: dir } });
    const read = parseEnvironmentFile(stdout);
    for (const { name, value } of cases) expect(read[name], name).toBe(value);
    for (const name of ['O', 'P', 'Q']) expect(read[name]).toBeUndefined();
  });
});

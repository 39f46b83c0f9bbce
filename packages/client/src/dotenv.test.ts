import { describe, expect, it } from 'vitest';
import { DotenvSyntaxError, formatDotenv, parseDotenv } from './dotenv.ts';

function parsed(text: string): Record<string, string> {
  return Object.fromEntries(parseDotenv(text));
}

function syntaxError(text: string): DotenvSyntaxError {
  try {
    parseDotenv(text);
  } catch (err) {
    if (err instanceof DotenvSyntaxError) return err;
    throw err;
  }
  throw new Error('parsed without an error');
}

describe('parseDotenv', () => {
  it.each([
    ['bare value', 'A=1', { A: '1' }],
    ['comments and blank lines', '# top\n\nA=1\n   \n  # indented\nB=2\n', { A: '1', B: '2' }],
    ['export prefix', 'export A=1\nexport  B="two"', { A: '1', B: 'two' }],
    ['empty value', 'A=\nB=""\nC=\'\'', { A: '', B: '', C: '' }],
    ['spaces around = and the value', '  A = hello world  ', { A: 'hello world' }],
    ['an = inside the value', 'URL=postgres://u:p@h/db?a=b', { URL: 'postgres://u:p@h/db?a=b' }],
    ['inline comment after a bare value', 'A=1 # one\nB=x#y', { A: '1', B: 'x#y' }],
    ['single quotes are literal', 'A=\'a \\n $B "c"\'', { A: 'a \\n $B "c"' }],
    ['double quote escapes', 'A="l1\\nl2\\ttab \\"q\\" back\\\\slash \\d"', { A: 'l1\nl2\ttab "q" back\\slash \\d' }],
    ['comment after a quoted value', 'A="x # not a comment" # a comment', { A: 'x # not a comment' }],
    [
      'a quoted value over several lines',
      'KEY="-----BEGIN-----\nabc\n-----END-----"\nB=2',
      { KEY: '-----BEGIN-----\nabc\n-----END-----', B: '2' },
    ],
    ['CRLF line ends', 'A=1\r\nB="2"\r\n', { A: '1', B: '2' }],
    ['a later value wins', 'A=1\nA=2', { A: '2' }],
    ['$ is not expanded', 'A=$HOME', { A: '$HOME' }],
  ])('%s', (_name, text, expected) => {
    expect(parsed(text)).toEqual(expected);
  });

  it.each([
    ['no =', 'A=1\nJUST_A_WORD\n', 2, 'expected KEY=value'],
    ['a lower-case key', '\n\nexport lower=1', 3, '"lower" is not a variable name'],
    ['a key starting with a digit', '1A=x', 1, 'not a variable name'],
    ['an unclosed quote', 'A=1\nB="never closed\nC=3', 2, 'never closed'],
    ['text after the closing quote', "A='x' y", 1, 'unexpected text after the closing quote'],
  ])('refuses %s, naming the line', (_name, text, line, problem) => {
    const err = syntaxError(text);
    expect(err.line).toBe(line);
    expect(err.problem).toContain(problem);
  });
});

describe('formatDotenv', () => {
  const awkward: [string, string][] = [
    ['PLAIN', 'abc-1.2/x:y@z'],
    ['EMPTY', ''],
    ['SPACES', '  padded  '],
    ['HASH', 'a #b'],
    ['DOLLAR', '$HOME and $X'],
    ['DOUBLE', 'say "hi"'],
    ['SINGLE', "it's"],
    ['BOTH', `it's "quoted"`],
    ['NEWLINES', 'line1\nline2\r\n'],
    ['BACKSLASH', 'C:\\path\\n not a newline'],
    ['QUOTE_AND_NEWLINE', '\'a\'\n"b"\\'],
    ['UNICODE', 'héllo ✓'],
    ['TAB', 'a\tb'],
  ];

  it('writes what parseDotenv reads back identically', () => {
    expect([...parseDotenv(formatDotenv(awkward))]).toEqual(awkward);
  });

  it('round-trips through an `export ` prefix as a shell-sourced file would have it', () => {
    const exported = formatDotenv(awkward)
      .split('\n')
      .map((line) => (line ? `export ${line}` : line))
      .join('\n');
    expect([...parseDotenv(exported)]).toEqual(awkward);
  });

  it('leaves simple values bare and quotes the rest', () => {
    expect(
      formatDotenv([
        ['A', 'x'],
        ['B', 'a b'],
        ['C', "it's\n"],
      ]),
    ).toBe(`A=x\nB='a b'\nC="it's\\n"\n`);
  });
});

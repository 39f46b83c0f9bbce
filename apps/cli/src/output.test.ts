import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ago, Output, printable } from './output.ts';

function capture(options: { color: boolean; json?: boolean }) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => {
    out += chunk;
  });
  stderr.on('data', (chunk) => {
    err += chunk;
  });
  // Colour goes to a terminal only: a coloured capture stands for one.
  const tty = options.color ? { isTTY: true } : {};
  const output = new Output(
    { stdout: Object.assign(stdout, tty), stderr: Object.assign(stderr, tty) },
    { json: options.json ?? false, color: options.color },
  );
  return { output, stdout: () => out, stderr: () => err };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: removes colour codes to compare layouts.
const stripColour = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

describe('Output.table', () => {
  const rows = [
    ['web', 'live', 2],
    ['worker-long-name', null, 10],
  ];
  const expected = ['NAME              STATE  REPLICAS', 'web               live   2', 'worker-long-name  -      10', ''].join(
    '\n',
  );

  it('pads each column to its widest cell, with - for an empty one', () => {
    const { output, stdout } = capture({ color: false });
    output.table(['name', 'state', 'replicas'], rows);
    expect(stdout()).toBe(expected);
  });

  it('lines up the same way when cells are coloured', () => {
    const { output, stdout } = capture({ color: true });
    output.table(
      ['name', 'state', 'replicas'],
      rows.map(([name, state, replicas]) => [name, state ? output.state(state as string) : state, replicas]),
    );
    expect(stdout()).toContain('\u001b[32mlive\u001b[0m');
    expect(stripColour(stdout())).toBe(expected);
  });

  it('keeps a row on one line when a cell holds a newline or a tab', () => {
    const { output, stdout } = capture({ color: false });
    output.table(['reason'], [['health\ncheck\tfailed']]);
    expect(stdout()).toBe('REASON\nhealth check failed\n');
  });
});

describe('Output streams', () => {
  it('sends results to stdout and what the CLI says to stderr', () => {
    const { output, stdout, stderr } = capture({ color: false });
    output.line('result');
    output.info('app web, environment staging');
    output.warn('old server');
    output.success('done');
    expect(stdout()).toBe('result\n');
    expect(stderr()).toBe('app web, environment staging\nwarning: old server\n✓ done\n');
  });

  it('prints the value as JSON with --json and renders it otherwise', () => {
    const json = capture({ color: false, json: true });
    json.output.result({ a: 1 }, () => json.output.line('rendered'));
    expect(JSON.parse(json.stdout())).toEqual({ a: 1 });
    const text = capture({ color: false });
    text.output.result({ a: 1 }, () => text.output.line('rendered'));
    expect(text.stdout()).toBe('rendered\n');
  });

  it('aligns fields by their keys', () => {
    const { output, stdout } = capture({ color: false });
    output.fields([
      ['app', 'web'],
      ['live release', null],
    ]);
    expect(stdout()).toBe('app:          web\nlive release: -\n');
  });
});

describe('printable', () => {
  it('strips colour, cursor movement, OSC titles and hyperlinks, and control characters', () => {
    expect(printable('\u001b[31mred\u001b[0m')).toBe('red');
    expect(printable('a\u001b[2J\u001b[1;1Hb')).toBe('ab');
    expect(printable('\u001b[?25lhidden cursor')).toBe('hidden cursor');
    expect(printable('\u001b]0;pwned title\u0007text')).toBe('text');
    expect(printable('\u001b]8;;https://evil.example\u001b\\link\u001b]8;;\u001b\\')).toBe('link');
    expect(printable('bell\u0007 back\u0008space\u0000 del\u007f cr\r')).toBe('bell backspace del cr');
  });

  it('keeps newlines, tabs and any printable text', () => {
    expect(printable('line 1\n\tline 2 — ünïcode ✓\n')).toBe('line 1\n\tline 2 — ünïcode ✓\n');
  });
});

describe('ago', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  it.each([
    ['2026-01-10T11:59:58Z', '2s ago'],
    ['2026-01-10T11:57:00Z', '3m ago'],
    ['2026-01-10T10:00:00Z', '2h ago'],
    ['2026-01-05T12:00:00Z', '5d ago'],
    // A clock a little ahead of this one is "now", not negative.
    ['2026-01-10T12:00:05Z', '0s ago'],
  ])('%s is %s', (iso, text) => {
    expect(ago(iso, now)).toBe(text);
  });

  it('is - for no time', () => {
    expect(ago(null, now)).toBe('-');
    expect(ago(undefined, now)).toBe('-');
  });
});

describe('colour per stream', () => {
  it('paints stderr only when stderr is a terminal, whatever stdout is', () => {
    const stdout = Object.assign(new PassThrough(), { isTTY: false });
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    let err = '';
    stderr.on('data', (chunk) => {
      err += chunk;
    });
    const output = new Output({ stdout, stderr }, { json: false, color: true });
    output.warn('careful');
    expect(output.paint.red('x')).toBe('x');
    expect(err).toBe('\u001b[33mwarning: careful\u001b[0m\n');
  });

  it('keeps colour in table cells but drops cursor moves, titles and C1 controls', () => {
    const { output, stdout } = capture({ color: false });
    output.table(['v'], [['\u001b[31mred\u001b[0m\u001b[2J\u001b]0;pwned\u0007\u009b2Jok']]);
    expect(stdout()).toBe('V\n\u001b[31mred\u001b[0m2Jok\n');
    expect(printable('a\u009b2J\u009d0;t\u0007b')).toBe('a2J0;tb');
  });
});

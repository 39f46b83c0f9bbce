import { ValidationError } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { parseProcfile, webCommand } from './procfile.ts';

describe('parseProcfile', () => {
  it.each([
    ['web: node server.js', { web: 'node server.js' }],
    ['web:node server.js', { web: 'node server.js' }],
    ['\uFEFFweb: a\r\nworker: b\r\n', { web: 'a', worker: 'b' }],
    ['# comment\n\n  web:   gunicorn app:app --bind 0.0.0.0:$PORT  \n', { web: 'gunicorn app:app --bind 0.0.0.0:$PORT' }],
    ['release: ./migrate\nweb: bin/web\tx', { release: './migrate', web: 'bin/web\tx' }],
    ['web: echo "a: b" && exit 0', { web: 'echo "a: b" && exit 0' }],
  ])('%j', (text, expected) => {
    expect(Object.fromEntries(parseProcfile(text))).toEqual(expected);
  });

  it.each([
    ['no colon', 'web node server.js', /line 1: expected "name: command"/],
    ['bad name', 'we b: x', /line 1: expected/],
    ['empty command', '\nweb:   ', /line 2: process "web" has no command/],
    ['duplicate', 'web: a\nweb: b', /line 2: process "web" is defined twice/],
    ['carriage return inside', 'web: a\rrm -rf /', /control character/],
    ['escape', 'web: a\u001b[2J', /control character/],
    ['line separator', 'web: a\u2028b', /control character/],
    ['NUL', 'web: a\u0000b', /control character/],
  ])('%s is a ValidationError naming Procfile', (_, text, message) => {
    const error = catchError(() => parseProcfile(text));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'Procfile' });
    expect((error as Error).message).toMatch(message);
  });

  it('webCommand ignores other process types and a missing Procfile', () => {
    expect(webCommand('worker: x')).toBeUndefined();
    expect(webCommand(undefined)).toBeUndefined();
    expect(webCommand('worker: x\nweb: y')).toBe('y');
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

import { describe, expect, it } from 'vitest';
import { isIgnored, mayReincludeBelow, parseDockerignore } from './dockerignore.ts';

describe('parseDockerignore', () => {
  it('skips comments and blank lines, cleans patterns, reads exceptions', () => {
    const rules = parseDockerignore('# comment\n\n  /node_modules/  \n!./keep.md\n./a/../b\n');
    expect(rules.map(({ pattern, exclusion }) => ({ pattern, exclusion }))).toEqual([
      { pattern: 'node_modules', exclusion: false },
      { pattern: 'keep.md', exclusion: true },
      { pattern: 'b', exclusion: false },
    ]);
  });
});

describe('isIgnored', () => {
  const cases: { dockerignore: string; path: string; ignored: boolean }[] = [
    { dockerignore: '', path: 'src/index.ts', ignored: false },
    { dockerignore: 'node_modules', path: 'node_modules', ignored: true },
    { dockerignore: 'node_modules', path: 'node_modules/x/index.js', ignored: true },
    { dockerignore: 'node_modules', path: 'app/node_modules', ignored: false },
    { dockerignore: '**/node_modules', path: 'app/node_modules/x.js', ignored: true },
    { dockerignore: '**/node_modules', path: 'node_modules', ignored: true },
    { dockerignore: '*.md', path: 'README.md', ignored: true },
    { dockerignore: '*.md', path: 'docs/guide.md', ignored: false },
    { dockerignore: '**/*.md', path: 'docs/guide.md', ignored: true },
    { dockerignore: '*.md\n!README.md', path: 'README.md', ignored: false },
    { dockerignore: '*.md\n!README.md', path: 'CHANGES.md', ignored: true },
    { dockerignore: '!README.md\n*.md', path: 'README.md', ignored: true },
    { dockerignore: 'file?.txt', path: 'file1.txt', ignored: true },
    { dockerignore: 'file?.txt', path: 'file10.txt', ignored: false },
    { dockerignore: 'file[0-4].txt', path: 'file3.txt', ignored: true },
    { dockerignore: 'file[!0-4].txt', path: 'file3.txt', ignored: false },
    { dockerignore: 'file[!0-4].txt', path: 'file7.txt', ignored: true },
    { dockerignore: 'a.b', path: 'axb', ignored: false },
    { dockerignore: 'docs/**', path: 'docs/a/b.md', ignored: true },
    { dockerignore: 'docs/**', path: 'documents/a.md', ignored: false },
    { dockerignore: '.git', path: '.git/HEAD', ignored: true },
    { dockerignore: '*', path: 'anything/deep', ignored: true },
  ];
  it.each(cases)('$dockerignore: $path → $ignored', ({ dockerignore, path, ignored }) => {
    expect(isIgnored(parseDockerignore(dockerignore), path)).toBe(ignored);
  });
});

describe('mayReincludeBelow', () => {
  const cases: { dockerignore: string; directory: string; expected: boolean }[] = [
    { dockerignore: 'docs', directory: 'docs', expected: false },
    { dockerignore: 'docs\n!docs/keep.md', directory: 'docs', expected: true },
    { dockerignore: 'docs\n!docs/keep.md', directory: 'other', expected: false },
    { dockerignore: '*\n!src/**', directory: 'src', expected: true },
    { dockerignore: '*\n!src/**', directory: 'src/deep', expected: true },
    { dockerignore: '*\n!**/keep', directory: 'anything', expected: true },
  ];
  it.each(cases)('$dockerignore: $directory → $expected', ({ dockerignore, directory, expected }) => {
    expect(mayReincludeBelow(parseDockerignore(dockerignore), directory)).toBe(expected);
  });
});

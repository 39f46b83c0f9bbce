import { describe, expect, it } from 'vitest';
import { TreeSizeCounter } from './tree-size.ts';

const SHA = 'e69de29bb2d1d6434b8b29ae4ba53c8ac4bf4b8a';
const entry = (mode: string, type: string, size: string, path: string) => `${mode} ${type} ${SHA} ${size.padStart(7)}\t${path}\0`;

describe('TreeSizeCounter', () => {
  const cases: { name: string; output: string; bytes: number; files: number }[] = [
    { name: 'nothing', output: '', bytes: 0, files: 0 },
    {
      name: 'regular and executable files',
      output: entry('100644', 'blob', '12', 'a') + entry('100755', 'blob', '30', 'bin/x'),
      bytes: 42,
      files: 2,
    },
    {
      name: 'a symlink is not counted',
      output: entry('120000', 'blob', '9', 'link') + entry('100644', 'blob', '1', 'f'),
      bytes: 1,
      files: 1,
    },
    {
      name: 'a submodule is not counted',
      output: entry('160000', 'commit', '-', 'sub') + entry('100644', 'blob', '5', 'f'),
      bytes: 5,
      files: 1,
    },
    {
      name: 'paths with tabs, spaces and newlines',
      output: entry('100644', 'blob', '3', 'a\tb c\nd') + entry('100644', 'blob', '4', 'e'),
      bytes: 7,
      files: 2,
    },
    {
      name: 'a long path',
      output: entry('100644', 'blob', '2', 'x'.repeat(100_000)) + entry('100644', 'blob', '2', 'y'),
      bytes: 4,
      files: 2,
    },
  ];

  it('counts what files and symlinks take on disk, in whole 4 KiB blocks', () => {
    const counter = new TreeSizeCounter();
    counter.push(
      entry('100644', 'blob', '0', 'empty') +
        entry('100644', 'blob', '4096', 'one-block') +
        entry('100644', 'blob', '4097', 'two-blocks') +
        entry('120000', 'blob', '9', 'link') +
        entry('160000', 'commit', '-', 'sub'),
    );
    expect({ bytes: counter.bytes, diskBytes: counter.diskBytes, files: counter.files }).toEqual({
      bytes: 8193,
      diskBytes: 5 * 4096,
      files: 3,
    });
  });

  it.each(cases)('$name, in one chunk or one character at a time', ({ output, bytes, files }) => {
    for (const chunks of [[output], [...output]]) {
      const counter = new TreeSizeCounter();
      for (const chunk of chunks) counter.push(chunk);
      expect({ bytes: counter.bytes, files: counter.files }).toEqual({ bytes, files });
    }
  });

  it('refuses a size it cannot read', () => {
    expect(() => new TreeSizeCounter().push(entry('100644', 'blob', 'x1', 'f'))).toThrow(/unreadable size/);
  });
});

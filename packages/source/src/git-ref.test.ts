import { describe, expect, it } from 'vitest';
import { pickCommit, remoteRefs } from './git-ref.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('pickCommit', () => {
  it('takes only the exact ref name (ls-remote matches by suffix)', () => {
    const output = `${A}\trefs/heads/feature/main\n${B}\trefs/heads/main\n`;
    expect(pickCommit(output, remoteRefs({ kind: 'branch', name: 'main' }))).toBe(B);
    expect(pickCommit(`${A}\trefs/heads/feature/main\n`, ['refs/heads/main'])).toBeUndefined();
  });

  it('prefers the peeled commit of an annotated tag', () => {
    const refs = remoteRefs({ kind: 'tag', name: 'v1' });
    expect(pickCommit(`${A}\trefs/tags/v1\n${C}\trefs/tags/v1^{}\n`, refs)).toBe(C);
    expect(pickCommit(`${A}\trefs/tags/v1\n`, refs)).toBe(A);
  });

  it('ignores malformed lines', () => {
    expect(pickCommit('garbage\nxyz\trefs/heads/main\n', ['refs/heads/main'])).toBeUndefined();
  });
});

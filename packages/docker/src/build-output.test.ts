import { describe, expect, it } from 'vitest';
import {
  type BuildMessage,
  buildContainerOf,
  isRunStep,
  LastLines,
  LineAssembler,
  MAX_LINE_LENGTH,
  plainText,
  readBuildMessage,
} from './build-output.ts';

describe('readBuildMessage', () => {
  const cases: { name: string; message: BuildMessage; expected: ReturnType<typeof readBuildMessage> }[] = [
    { name: 'stream text', message: { stream: 'Step 1/2 : FROM x\n' }, expected: { text: 'Step 1/2 : FROM x\n' } },
    {
      name: 'success line',
      message: { stream: 'Successfully built 0123abcd\n' },
      expected: { text: 'Successfully built 0123abcd\n', imageId: '0123abcd' },
    },
    { name: 'aux image id', message: { aux: { ID: 'sha256:ab' } }, expected: { text: '', imageId: 'sha256:ab' } },
    {
      name: 'error detail wins over error',
      message: { error: 'short', errorDetail: { message: "The command '/bin/sh -c false' returned a non-zero code: 1" } },
      expected: {
        text: "The command '/bin/sh -c false' returned a non-zero code: 1\n",
        error: "The command '/bin/sh -c false' returned a non-zero code: 1",
      },
    },
    { name: 'bare error', message: { error: 'boom' }, expected: { text: 'boom\n', error: 'boom' } },
    { name: 'status with id', message: { status: 'Downloading', id: 'abc' }, expected: { text: 'abc: Downloading\n' } },
    { name: 'unknown shape', message: {}, expected: { text: '' } },
  ];
  it.each(cases)('$name', ({ message, expected }) => {
    expect(readBuildMessage(message)).toEqual(expected);
  });
});

describe('buildContainerOf / isRunStep', () => {
  it.each([
    [' ---> Running in 45073d802c1c', '45073d802c1c'],
    [' ---> 45073d802c1c', undefined],
    ['Running in 45073d802c1c', undefined],
    [' ---> Running in 45073d802c1c; rm -rf /', undefined],
  ])('%j → %s', (line, expected) => {
    expect(buildContainerOf(line)).toBe(expected);
  });

  it.each([
    ['Step 2/3 : RUN make', true],
    ['Step 12/30 : run make', true],
    ['Step 2/3 : COPY . .', false],
    ['RUN make', false],
  ])('%j is a RUN step: %s', (line, expected) => {
    expect(isRunStep(line)).toBe(expected);
  });
});

describe('LineAssembler', () => {
  const cases: { name: string; chunks: string[]; max?: number; lines: string[] }[] = [
    { name: 'whole lines', chunks: ['a\nb\n'], lines: ['a', 'b'] },
    { name: 'a line split across chunks', chunks: ['par', 't1', 'part2\n'], lines: ['part1part2'] },
    { name: 'CRLF and empty lines', chunks: ['a\r\n\r\n\nb\r\n'], lines: ['a', 'b'] },
    { name: 'unterminated rest is flushed', chunks: ['a\nrest'], lines: ['a', 'rest'] },
    { name: 'a long line is cut', chunks: ['abcdefghij\n'], max: 4, lines: ['abcd', 'efgh', 'ij'] },
    { name: 'exactly the maximum', chunks: ['abcd\nefgh'], max: 4, lines: ['abcd', 'efgh'] },
    { name: 'no newline at all, in small chunks', chunks: ['ab', 'cd', 'ef', 'gh', 'i'], max: 3, lines: ['abc', 'def', 'ghi'] },
    { name: 'a cut, then the line goes on in the next chunk', chunks: ['abcde', 'f\ng'], max: 4, lines: ['abcd', 'ef', 'g'] },
    { name: 'the default maximum', chunks: ['x'.repeat(MAX_LINE_LENGTH + 1)], lines: ['x'.repeat(MAX_LINE_LENGTH), 'x'] },
  ];
  it.each(cases)('$name', ({ chunks, max, lines }) => {
    const seen: string[] = [];
    const assembler = new LineAssembler((line) => seen.push(line), max);
    for (const chunk of chunks) assembler.push(chunk);
    assembler.flush();
    expect(seen).toEqual(lines);
  });

  /** Milliseconds to assemble `megabytes` of text without a newline, pushed in 4 KiB chunks. */
  function assemblyMs(megabytes: number): number {
    const chunk = 'a'.repeat(4 * 1024);
    const chunks = (megabytes * 1024 * 1024) / chunk.length;
    let characters = 0;
    const assembler = new LineAssembler((line) => {
      characters += line.length;
    });
    const started = performance.now();
    for (let i = 0; i < chunks; i++) assembler.push(chunk);
    assembler.flush();
    const elapsed = performance.now() - started;
    expect(characters).toBe(megabytes * 1024 * 1024);
    return elapsed;
  }

  it('takes linear time on output without newlines: 50 MB costs about ten times 5 MB, not a hundred', () => {
    const fastest = (megabytes: number, runs: number) => Math.min(...Array.from({ length: runs }, () => assemblyMs(megabytes)));
    const small = fastest(5, 5);
    const large = fastest(50, 3);
    // Linear is 10; an assembler that concatenates and searches the whole line per chunk is about 100.
    expect(large / small).toBeLessThan(30);
  });
});

describe('plainText', () => {
  const esc = String.fromCharCode(0x1b);
  it.each([
    [`${esc}[91mKilled`, 'Killed'],
    [`${esc}[0mRemoving intermediate container 1`, 'Removing intermediate container 1'],
    [`${esc}[1;32mok${esc}[0m done`, 'ok done'],
    ['plain', 'plain'],
  ])('%j → %j', (line, expected) => {
    expect(plainText(line)).toBe(expected);
  });
});

describe('LastLines', () => {
  it('keeps only the newest lines', () => {
    const lastLines = new LastLines(3);
    for (const line of ['1', '2', '3', '4', '5']) lastLines.add(line);
    expect(lastLines.snapshot()).toEqual(['3', '4', '5']);
  });
});

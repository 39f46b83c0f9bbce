import type { LogEntry } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { LogDemuxer } from './log-demux.ts';

const T1 = '2025-03-01T10:00:00.123456789Z';
const T2 = '2025-03-01T10:00:01.5Z';
const at1 = new Date('2025-03-01T10:00:00.123Z');
const at2 = new Date('2025-03-01T10:00:01.500Z');

/** One frame of the multiplexed stream: 1 stdout, 2 stderr. */
function frame(type: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function demux(chunks: Buffer[]): LogEntry[] {
  const demuxer = new LogDemuxer();
  return [...chunks.flatMap((chunk) => demuxer.push(chunk)), ...demuxer.end()];
}

/** The same bytes cut into chunks of `size`. */
function rechunk(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return chunks;
}

describe('LogDemuxer', () => {
  const cases: { name: string; frames: Buffer[]; expected: LogEntry[] }[] = [
    {
      name: 'a stdout line with its timestamp',
      frames: [frame(1, `${T1} hello\n`)],
      expected: [{ stream: 'stdout', line: 'hello', at: at1 }],
    },
    {
      name: 'stdout and stderr tagged',
      frames: [frame(1, `${T1} out\n`), frame(2, `${T2} err\n`)],
      expected: [
        { stream: 'stdout', line: 'out', at: at1 },
        { stream: 'stderr', line: 'err', at: at2 },
      ],
    },
    {
      name: 'a long line cut into messages, each with a timestamp: one line, the first time',
      frames: [frame(1, `${T1} abc`), frame(1, `${T2} def`), frame(1, `${T2} ghi\n`)],
      expected: [{ stream: 'stdout', line: 'abcdefghi', at: at1 }],
    },
    {
      name: 'parts of lines on both streams do not mix',
      frames: [frame(1, `${T1} out-`), frame(2, `${T2} err\n`), frame(1, `${T2} 1\n`)],
      expected: [
        { stream: 'stderr', line: 'err', at: at2 },
        { stream: 'stdout', line: 'out-1', at: at1 },
      ],
    },
    {
      name: 'several messages in one frame',
      frames: [frame(1, `${T1} one\n${T2} two\n`)],
      expected: [
        { stream: 'stdout', line: 'one', at: at1 },
        { stream: 'stdout', line: 'two', at: at2 },
      ],
    },
    {
      name: 'empty lines are kept, CR of CRLF dropped',
      frames: [frame(1, `${T1} \n`), frame(1, `${T2} dos\r\n`)],
      expected: [
        { stream: 'stdout', line: '', at: at1 },
        { stream: 'stdout', line: 'dos', at: at2 },
      ],
    },
    {
      name: 'a last line without newline comes out at the end',
      frames: [frame(2, `${T1} no newline`)],
      expected: [{ stream: 'stderr', line: 'no newline', at: at1 }],
    },
    {
      name: 'without timestamps, at is null and the text is untouched',
      frames: [frame(1, 'plain 2025 text\n')],
      expected: [{ stream: 'stdout', line: 'plain 2025 text', at: null }],
    },
    {
      name: 'a timestamp with an offset',
      frames: [frame(1, '2025-03-01T12:00:00.123+02:00 x\n')],
      expected: [{ stream: 'stdout', line: 'x', at: at1 }],
    },
    {
      name: 'a character cut between two messages',
      frames: [
        frame(1, Buffer.concat([Buffer.from(`${T1} caf`), Buffer.from('é').subarray(0, 1)])),
        frame(1, Buffer.concat([Buffer.from(`${T2} `), Buffer.from('é').subarray(1), Buffer.from('\n')])),
      ],
      expected: [{ stream: 'stdout', line: 'café', at: at1 }],
    },
    {
      name: 'a TTY stream (no headers) read as stdout',
      frames: [Buffer.from(`${T1} tty line\n${T2} next\n`)],
      expected: [
        { stream: 'stdout', line: 'tty line', at: at1 },
        { stream: 'stdout', line: 'next', at: at2 },
      ],
    },
    { name: 'nothing', frames: [], expected: [] },
  ];

  it.each(cases)('$name', ({ frames, expected }) => {
    expect(demux(frames)).toEqual(expected);
  });

  it.each([1, 3, 7, 8, 9, 64])('gives the same lines whatever the chunk size (%i bytes)', (size) => {
    const bytes = Buffer.concat([
      frame(1, `${T1} first line\n`),
      frame(2, `${T2} second\n`),
      frame(1, `${T2} ${'x'.repeat(100)}\n`),
    ]);
    expect(demux(rechunk(bytes, size))).toEqual(demux([bytes]));
    expect(demux(rechunk(bytes, size)).map((entry) => entry.line)).toEqual(['first line', 'second', 'x'.repeat(100)]);
  });

  it('keeps the engine timestamp of a line as written, when asked', () => {
    const demuxer = new LogDemuxer({ times: true });
    expect(demuxer.push(frame(1, `${T1} a\n${T2} b\n`))).toEqual([
      { stream: 'stdout', line: 'a', at: at1, time: T1 },
      { stream: 'stdout', line: 'b', at: at2, time: T2 },
    ]);
  });

  it('cuts a line past maxLineBytes, holding none of the rest, and says how much was cut', () => {
    const demuxer = new LogDemuxer({ maxLineBytes: 10 });
    const lines = [
      ...demuxer.push(frame(1, `${T1} ${'a'.repeat(8)}`)),
      ...demuxer.push(frame(1, `${T2} ${'b'.repeat(16 * 1024)}`)),
      ...demuxer.push(frame(1, `${T2} c\n${T2} short\n`)),
    ];
    expect(lines.map((l) => l.line)).toEqual([`aaaaaaaabb… [${16 * 1024 + 8 + 1 - 10} bytes cut]`, 'short']);
    expect(lines[0]?.at).toEqual(at1);
  });

  it('returns lines as soon as their frame is complete', () => {
    const demuxer = new LogDemuxer();
    const bytes = frame(1, `${T1} hello\n`);
    expect(demuxer.push(bytes.subarray(0, 10))).toEqual([]);
    expect(demuxer.push(bytes.subarray(10))).toEqual([{ stream: 'stdout', line: 'hello', at: at1 }]);
    expect(demuxer.end()).toEqual([]);
  });
});

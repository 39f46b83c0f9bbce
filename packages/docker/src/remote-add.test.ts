import { describe, expect, it } from 'vitest';
import { findRemoteAdds, remoteAddProblem } from './remote-add.ts';

const FROM = 'FROM pier-local/debian:bookworm\n';

describe('findRemoteAdds', () => {
  it.each([
    {
      name: 'an https URL',
      dockerfile: `${FROM}ADD https://example.com/a.tgz /a.tgz\n`,
      expected: [[2, 'https://example.com/a.tgz']],
    },
    {
      name: 'an http URL, lower-case keyword',
      dockerfile: `${FROM}add http://169.254.169.254/ /m\n`,
      expected: [[2, 'http://169.254.169.254/']],
    },
    { name: 'mixed-case keyword', dockerfile: `${FROM}aDd HTTP://x/y /y\n`, expected: [[2, 'HTTP://x/y']] },
    {
      name: 'with --checksum and --chown',
      dockerfile: `${FROM}ADD --checksum=sha256:abc --chown=1:1 https://x/y.tgz /y\n`,
      expected: [[2, 'https://x/y.tgz']],
    },
    {
      name: 'a git SSH address',
      dockerfile: `${FROM}ADD git@github.com:moby/moby.git /src\n`,
      expected: [[2, 'git@github.com:moby/moby.git']],
    },
    {
      name: 'a git URL',
      dockerfile: `${FROM}ADD --keep-git-dir=true git://host/repo /src\n`,
      expected: [[2, 'git://host/repo']],
    },
    { name: 'the JSON form', dockerfile: `${FROM}ADD ["https://x/a b", "/a"]\n`, expected: [[2, 'https://x/a b']] },
    { name: 'a quoted source', dockerfile: `${FROM}ADD "https://x/q" /q\n`, expected: [[2, 'https://x/q']] },
    {
      name: 'one of several sources',
      dockerfile: `${FROM}ADD local.txt https://x/r /dst/\n`,
      expected: [[2, 'https://x/r']],
    },
    {
      name: 'split over continuation lines, with a comment and a blank line between',
      dockerfile: `${FROM}ADD \\\n# a comment\n\n   https://x/c \\\n   /c\n`,
      expected: [[2, 'https://x/c']],
    },
    {
      name: 'the keyword continued onto the next line',
      dockerfile: `${FROM}AD\\\nD https://x/k /k\n`,
      expected: [[2, 'https://x/k']],
    },
    {
      name: 'a backtick escape directive',
      dockerfile: '# escape=`\nFROM pier-local/debian:bookworm\nADD `\n  https://x/b `\n  /b\n',
      expected: [[3, 'https://x/b']],
    },
    { name: 'inside ONBUILD', dockerfile: `${FROM}ONBUILD ADD https://x/o /o\n`, expected: [[2, 'https://x/o']] },
    {
      name: 'a heredoc body line (the classic builder reads it as an instruction)',
      dockerfile: `${FROM}RUN <<EOF\nADD https://x/h /h\nEOF\n`,
      expected: [[3, 'https://x/h']],
    },
    {
      name: 'a variable at the start of the source',
      dockerfile: `${FROM}ARG U=https://x\nADD \${U}/v /v\n`,
      expected: [[3, '$' + '{U}/v']],
    },
    { name: 'a variable after the scheme', dockerfile: `${FROM}ADD https:$SLASHES/x /v\n`, expected: [[2, 'https:$SLASHES/x']] },
    { name: 'a variable completing the scheme', dockerfile: `${FROM}ADD ht$T://x /v\n`, expected: [[2, 'ht$T://x']] },
    { name: 'CRLF line ends', dockerfile: `${FROM}\r\nADD https://x/w /w\r\n`, expected: [[3, 'https://x/w']] },
    { name: 'a local ADD', dockerfile: `${FROM}ADD app.tar.gz /app/\n`, expected: [] },
    { name: 'a local ADD with a variable after a directory', dockerfile: `${FROM}ADD dist/\${NAME} /app/\n`, expected: [] },
    { name: 'COPY of anything', dockerfile: `${FROM}COPY https-notes.txt /n\nCOPY . /app\n`, expected: [] },
    { name: 'a URL in a RUN step', dockerfile: `${FROM}RUN curl -fsSL https://x/y -o /y\n`, expected: [] },
    { name: 'a URL in a comment', dockerfile: `${FROM}# ADD https://x/y /y\n`, expected: [] },
    {
      name: 'a URL on a RUN continuation line',
      dockerfile: `${FROM}RUN echo \\\n  ADD https://x/y /y\n`,
      // Read with the backtick escape, the second line is an instruction of its own: refused, to be safe.
      expected: [[3, 'https://x/y']],
    },
  ])('$name', ({ dockerfile, expected }) => {
    expect(findRemoteAdds(dockerfile).map((add) => [add.line, add.source])).toEqual(expected);
  });
});

describe('remoteAddProblem', () => {
  it('names the file, the line and the source, and what to do instead', () => {
    expect(remoteAddProblem(`${FROM}COPY . .\nADD https://x/y /y\n`, 'docker/Dockerfile')).toBe(
      "docker/Dockerfile line 3: ADD https://x/y would be fetched by the Docker daemon from the host's network; " +
        'download it in a RUN step (curl, wget) or COPY it from the repository',
    );
  });

  it('has nothing to say about a Dockerfile without remote ADD', () => {
    expect(remoteAddProblem(`${FROM}ADD . /app\n`, 'Dockerfile')).toBeUndefined();
  });
});

describe('sources the builder unquotes', () => {
  it.each([
    ['ADD h"ttp"://169.254.169.254/latest/meta-data/ /m'],
    ["ADD h'ttp'://169.254.169.254/ /m"],
    ['ADD h\\ttp://127.0.0.1:4000/ /m'],
    ['ADD ["h\\"ttp\\"://169.254.169.254/", "/m"]'],
    ['ADD g"it"@github.com:acme/secret.git /src'],
    ['ADD ./local"://"weird /m'],
  ])('%s is remote', (line) => {
    expect(findRemoteAdds(`FROM scratch\n${line}\n`)).toHaveLength(1);
  });

  it.each([['ADD "./with space.txt" /m'], ["ADD 'app.tar.gz' /srv"], ['ADD ["a.txt", "/b"]']])('%s stays local', (line) => {
    expect(findRemoteAdds(`FROM scratch\n${line}\n`)).toEqual([]);
  });
});

import { createInterface } from 'node:readline';
import { CliError, EXIT, usageError } from './cli-error.ts';

export interface Terminal {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** One line typed on the terminal (echoed), asked on stderr. */
export async function askLine(terminal: Terminal, question: string, signal?: AbortSignal): Promise<string> {
  if (!terminal.stdin.isTTY) throw usageError(`${question.replace(/[:?]\s*$/, '')}: no terminal to ask on`);
  const rl = createInterface({ input: terminal.stdin, output: terminal.stderr, terminal: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(new CliError('interrupted', EXIT.interrupted, 'interrupted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      rl.on('SIGINT', onAbort);
      rl.question(question, (answer) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(answer.trim());
      });
    });
  } finally {
    rl.close();
  }
}

/**
 * A secret typed on the terminal without echo. Without a terminal it is
 * read from stdin (`echo $TOKEN | pier login …`), never from the command line.
 */
export async function askHidden(terminal: Terminal, question: string): Promise<string> {
  if (!terminal.stdin.isTTY) return (await readAll(terminal.stdin)).trim();
  terminal.stderr.write(question);
  const stdin = terminal.stdin;
  stdin.setRawMode?.(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer | string) => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n' || char === '\u0004') {
            stdin.off('data', onData);
            terminal.stderr.write('\n');
            return resolve(typed.trim());
          }
          if (char === '\u0003') {
            stdin.off('data', onData);
            terminal.stderr.write('\n');
            return reject(new CliError('interrupted', EXIT.interrupted, 'interrupted'));
          }
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
          else typed += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
  }
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}

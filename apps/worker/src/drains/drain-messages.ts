import type { PendingLine } from '@pier/db';

/**
 * What a drain sends, as pure functions of the stored lines.
 *
 * Syslog: one RFC 5424 message per line,
 *   `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [pier@32473 …] MSG`
 * with facility 1 (user) and severity 6 (informational) for stdout, 3
 * (error) for stderr, 5 (notice) for Pier's own `system` lines; HOSTNAME is
 * the environment, APP-NAME the app, PROCID the replica (container name),
 * MSGID the process type; the structured data
 * carries the release and the stream (SD-ID `pier@32473`: 32473 is the
 * private enterprise number RFC 5612 reserves for examples, Pier has none of
 * its own). Each message is framed with octet counting (RFC 6587 3.4.1,
 * RFC 5425 4.3): `LENGTH SP MESSAGE`.
 *
 * HTTPS: one POST per batch whose body is a JSON array of
 * `{ id, time, app, env, processType, replica, release, stream, line }`
 * in the order the lines were stored (`id` grows; a receiver that saw an id
 * may drop it when a retried batch comes again).
 */

const FACILITY_USER = 1;
const SEVERITY = { stdout: 6, stderr: 3, system: 5 } as const;
export const SD_ID = 'pier@32473';

/** A header field: printable US-ASCII without spaces, at most `max` characters, `-` (nil) when empty. */
function headerField(value: string, max: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return printable === '' ? '-' : printable;
}

/** A structured data parameter's value: `"`, `\` and `]` escaped (RFC 5424 6.3.3). */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** One line as an RFC 5424 message (without framing). */
export function syslogMessage(line: PendingLine): string {
  const pri = FACILITY_USER * 8 + SEVERITY[line.stream];
  const params = [
    ...(line.releaseVersion === null ? [] : [`release="v${line.releaseVersion}"`]),
    `stream="${paramValue(line.stream)}"`,
  ];
  return [
    `<${pri}>1`,
    line.at.toISOString(),
    headerField(line.envName, 255),
    headerField(line.appName, 48),
    headerField(line.replica, 128),
    headerField(line.processType, 32),
    `[${SD_ID} ${params.join(' ')}]`,
    line.line,
  ].join(' ');
}

/** Lines as octet-counted syslog frames, concatenated. */
export function syslogFrames(lines: readonly PendingLine[]): Buffer {
  return Buffer.concat(
    lines.map((line) => {
      const message = Buffer.from(syslogMessage(line), 'utf8');
      return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
    }),
  );
}

/** Lines as the JSON body of an https drain's POST. */
export function httpsBody(lines: readonly PendingLine[]): string {
  return JSON.stringify(
    lines.map((l) => ({
      id: l.id,
      time: l.at.toISOString(),
      app: l.appName,
      env: l.envName,
      processType: l.processType,
      replica: l.replica,
      release: l.releaseVersion,
      stream: l.stream,
      line: l.line,
    })),
  );
}

/**
 * The first lines of `lines` that fit in `maxBytes` (of their lines' text;
 * at least one line, so a line longer than the limit still goes).
 */
export function batchOf(lines: readonly PendingLine[], maxBytes: number): PendingLine[] {
  let bytes = 0;
  let count = 0;
  for (const line of lines) {
    bytes += Buffer.byteLength(line.line, 'utf8') + 200;
    if (count > 0 && bytes > maxBytes) break;
    count += 1;
  }
  return lines.slice(0, count);
}

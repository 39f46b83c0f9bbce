import { exitOnStartupError, type SecretsConfig } from '@pier/config';
import { keyIdOf, SecretBox } from '@pier/core';
import { connectDatabase, type SealedCount, SealedValueStore } from '@pier/db';

/** `npm run secrets -- status`: how many stored values each key sealed, and whether the previous keys can go. */
export async function secretsCommand(config: SecretsConfig, args: string[]): Promise<void> {
  if (args[0] !== 'status') {
    process.stderr.write('usage: npm run secrets -- status\n');
    process.exit(64);
  }
  const database = connectDatabase(config.DATABASE_URL, { max: 1, applicationName: 'pier-secrets' });
  try {
    const box = new SecretBox(config.PIER_SECRET_KEY, config.PIER_SECRET_KEYS_PREVIOUS);
    const counts = await new SealedValueStore(database.db, box).counts();
    process.stdout.write(secretsStatus(counts, box.currentKeyId, config.PIER_SECRET_KEYS_PREVIOUS.map(keyIdOf)));
  } catch (err) {
    exitOnStartupError('secrets', err);
  } finally {
    await database.close();
  }
}

/**
 * The status as text: one line per sealed column with its count under each
 * key id (the current key first, then each previous one, then any other key
 * found), and a last line saying whether PIER_SECRET_KEYS_PREVIOUS can be emptied.
 */
export function secretsStatus(counts: SealedCount[], current: string, previous: string[]): string {
  const found = counts.flatMap((c) => Object.keys(c.byKey));
  const others = [...new Set(found)].filter((id) => id !== current && !previous.includes(id)).sort();
  const keys = [
    { id: current, title: `${current} (current)` },
    ...previous.map((id) => ({ id, title: `${id} (previous)` })),
    ...others.map((id) => ({ id, title: `${id} (not configured)` })),
  ];
  const width = Math.max(...counts.map((c) => c.label.length), 'value'.length) + 2;
  const rows = [
    ['value'.padEnd(width), ...keys.map((k) => k.title.padEnd(30))].join('').trimEnd(),
    ...counts.map((c) => [c.label.padEnd(width), ...keys.map((k) => String(c.byKey[k.id] ?? 0).padEnd(30))].join('').trimEnd()),
  ];
  const total = (ids: string[]) => counts.reduce((sum, c) => sum + ids.reduce((n, id) => n + (c.byKey[id] ?? 0), 0), 0);
  const onPrevious = total(previous);
  const unknown = total(others);
  const verdict =
    onPrevious > 0
      ? `${onPrevious} value(s) still sealed with a previous key: keep PIER_SECRET_KEYS_PREVIOUS; a running worker re-seals them in the background.`
      : previous.length > 0
        ? '0 values sealed with a previous key: PIER_SECRET_KEYS_PREVIOUS can be emptied (restart the api, worker and proxy after).'
        : '0 values sealed with a previous key (none is configured).';
  const warning =
    unknown > 0
      ? [`${unknown} value(s) sealed with a key that is not configured: they cannot be read until it is added back.`]
      : [];
  return `${[...rows, '', verdict, ...warning].join('\n')}\n`;
}

// `npm run build:cli`: bundles apps/cli into one JavaScript file with no
// dependencies (apps/cli/dist/pier.cjs), which the api serves at GET /cli and
// `npm run up` installs as `pier`. Node.js 20+ runs it as it is.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
const outfile = process.argv[2] ?? `${root}apps/cli/dist/pier.cjs`;

const result = await build({
  entryPoints: [`${root}apps/cli/src/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // CommonJS: a downloaded `pier` without an extension runs the same wherever it is saved.
  format: 'cjs',
  define: { __PIER_VERSION__: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
  // version.ts reads package.json through import.meta only when run unbundled; the define above replaces it here.
  logOverride: { 'empty-import-meta': 'silent' },
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
process.stdout.write(`[build:cli] ${outfile} (${Math.round(bytes / 1024)} KiB, version ${version})\n`);

// `npm run build:dashboard`: bundles apps/dashboard (Preact, uPlot) with
// esbuild into apps/dashboard/dist: index.html, and hashed files under
// assets/ (one chunk per page, loaded when first visited), each also written
// brotli- and gzip-compressed for the api to send as the browser accepts.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = process.argv[2] ?? join(root, 'apps/dashboard/dist');
const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(root, 'apps/dashboard/src/main.tsx')],
  outdir: join(outdir, 'assets'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome109', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.svg': 'file' },
  define: { __PIER_VERSION__: JSON.stringify(version), 'process.env.NODE_ENV': '"production"' },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint?.endsWith('main.tsx'));
if (!entry) throw new Error('esbuild wrote no entry chunk');
const script = basename(entry[0]);
const style = entry[1].cssBundle ? basename(entry[1].cssBundle) : undefined;
const icon = await writeIcon();

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Pier</title>
<link rel="icon" href="/assets/${icon}" type="image/svg+xml">
${style ? `<link rel="stylesheet" href="/assets/${style}">\n` : ''}<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="root"></div>
<noscript>The Pier dashboard needs JavaScript; the REST API and the pier CLI do not.</noscript>
</body>
</html>
`;
await writeFile(join(outdir, 'index.html'), html);

// Precompressed copies of every text file, for the api to send as the browser accepts.
const files = [...outputs.map(([file]) => join(root, file)), join(outdir, 'index.html'), join(outdir, 'assets', icon)];
let jsBytes = 0;
let jsBrotli = 0;
for (const file of files) {
  const body = await readFile(file);
  const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  await writeFile(`${file}.br`, br);
  await writeFile(`${file}.gz`, gzipSync(body, { level: 9 }));
  if (file.endsWith('.js')) {
    jsBytes += body.length;
    jsBrotli += br.length;
  }
}
process.stdout.write(
  `[build:dashboard] ${outdir} (${outputs.length} files; all JavaScript ${Math.round(jsBytes / 1024)} KiB, ${Math.round(jsBrotli / 1024)} KiB brotli; version ${version})\n`,
);

/** The favicon, as a hashed file like the rest (a missing one would be a failed request on every page). */
async function writeIcon(): Promise<string> {
  const svg = await readFile(join(root, 'apps/dashboard/src/icon.svg'));
  const { createHash } = await import('node:crypto');
  const name = `icon-${createHash('sha256').update(svg).digest('hex').slice(0, 8).toUpperCase()}.svg`;
  await writeFile(join(outdir, 'assets', name), svg);
  return name;
}

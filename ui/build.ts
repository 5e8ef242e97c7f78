/**
 * Builds the web UI (ui/src, Preact) into dist/ui with esbuild: one minified ES module and one
 * stylesheet named by content hash, index.html pointing at them, and a gzip twin (level 9) of every
 * file for the agent to send as-is (src/http/routes/ui.ts). Fails when the gzipped total passes the
 * budget. Run by `make build`: node ui/build.ts
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { constants, gzipSync } from 'node:zlib';

const BUDGET_GZ = 150 * 1024;
const here = import.meta.dirname;
const out = resolve(here, '..', 'dist', 'ui');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const res = await build({
  entryPoints: [join(here, 'src', 'main.tsx'), join(here, 'src', 'style.css')],
  outdir: out, entryNames: '[name]-[hash]', bundle: true, minify: true, format: 'esm', target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic', jsxImportSource: 'preact', legalComments: 'none', metafile: true, logLevel: 'warning',
});
const outputs = Object.keys(res.metafile.outputs).map(p => basename(p));
const script = outputs.find(f => f.startsWith('main-') && f.endsWith('.js'));
const style = outputs.find(f => f.startsWith('style-') && f.endsWith('.css'));
if (!script || !style) throw new Error(`esbuild outputs missing: ${outputs.join(', ')}`);
const html = readFileSync(join(here, 'index.html'), 'utf8').replace('%SCRIPT%', `/ui/${script}`).replace('%STYLE%', `/ui/${style}`);
writeFileSync(join(out, 'index.html'), html);

let raw = 0, gz = 0;
for (const f of readdirSync(out)) {
  const body = readFileSync(join(out, f));
  const z = gzipSync(body, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(join(out, f + '.gz'), z);
  raw += body.length;
  gz += z.length;
}
console.log(`ui: ${readdirSync(out).filter(f => !f.endsWith('.gz')).length} files in ${out}: ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_GZ / 1024} KB)`);
if (gz > BUDGET_GZ) throw new Error(`UI over budget: ${gz} bytes gzipped > ${BUDGET_GZ}`);

/**
 * The code's layout rules, checked on every test run: no import cycle (madge), nothing outside
 * src/http imports a route, dependencies point one way, no source file over 450 lines, and every
 * runtime dependency is imported by product code.
 */
import test from 'ava';
import madge from 'madge';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');
const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap(e => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
const sources = files(src).map(f => ({ path: relative(src, f), text: readFileSync(f, 'utf8') }));
const importsOf = (text: string) => [...text.matchAll(/(?:from|import\(|require\()\s*'([^']+)'/g)].map(m => m[1]!);

test('layout: no import cycle in src (madge --circular)', async t => {
  const res = await madge(src, { fileExtensions: ['ts'] });
  t.deepEqual(res.circular(), []);
});

test('layout: nothing outside src/http imports a route module', t => {
  const bad = sources.filter(f => !f.path.startsWith('http/') && importsOf(f.text).some(i => i.includes('/routes/'))).map(f => f.path);
  t.deepEqual(bad, []);
});

// cli → agent → (http, dns, checks, gossip, kv, …) → (catalog, store) → util: a lower layer never imports a higher one.
const LOWER: Record<string, string[]> = {
  util: ['agent', 'cli', 'http', 'dns', 'checks', 'gossip', 'kv', 'catalog', 'store'],
  store: ['agent', 'cli', 'http', 'dns', 'checks', 'gossip', 'kv'], // catalog and store are one level (store reads the model's types)
  catalog: ['agent', 'cli', 'http', 'dns', 'checks', 'gossip', 'kv'],
  kv: ['agent', 'cli', 'http', 'dns', 'checks', 'gossip'],
  http: ['agent', 'cli'], dns: ['agent', 'cli'], checks: ['agent', 'cli'], gossip: ['agent', 'cli'],
  agent: ['cli'],
};
test('layout: dependencies point one way (cli → agent → http/dns/checks/gossip/kv → catalog/store → util)', t => {
  const bad: string[] = [];
  for (const f of sources) {
    const top = f.path.split('/')[0]!;
    for (const i of importsOf(f.text)) {
      if (!i.startsWith('.')) continue;
      const target = relative(src, join(src, f.path, '..', i)).split('/')[0]!;
      if (LOWER[top]?.includes(target)) bad.push(`${f.path} → ${i}`);
    }
  }
  t.deepEqual(bad, []);
});

test('layout: no source file over 450 lines', t => {
  const big = sources.filter(f => f.text.split('\n').length - 1 > 450).map(f => `${f.path}: ${f.text.split('\n').length - 1}`);
  t.deepEqual(big, []);
});

test('layout: every runtime dependency is imported by product code', t => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const used = new Set(sources.flatMap(f => importsOf(f.text)).filter(i => !i.startsWith('.') && !i.startsWith('node:')).map(i => (i.startsWith('@') ? i.split('/').slice(0, 2).join('/') : i.split('/')[0]!)));
  t.deepEqual(Object.keys(pkg.dependencies).filter(d => !used.has(d)), []);
});

test('layout: Lua reaches Redis one way: src/store/script.ts (no eval, evalsha or defineCommand elsewhere, no inline script text)', t => {
  const bad = sources.filter(f => f.path !== 'store/script.ts' && /\.(eval|evalsha|evalBuffer|defineCommand)\(|redis\.call\(/.test(f.text)).map(f => f.path);
  t.deepEqual(bad, []);
});

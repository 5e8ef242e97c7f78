import test from 'ava';
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { makeHandler, Router } from '../../src/http/server.ts';
import { acceptsGzip, uiRoutes } from '../../src/http/routes/ui.ts';

test('acceptsGzip: listed, wildcard, q=0 and absent', t => {
  t.true(acceptsGzip('gzip, deflate, br'));
  t.true(acceptsGzip('br;q=1.0, gzip;q=0.8'));
  t.true(acceptsGzip('*'));
  t.false(acceptsGzip('gzip;q=0'));
  t.false(acceptsGzip('br, deflate'));
  t.false(acceptsGzip(undefined));
});

async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const r = new Router();
  r.add(['GET'], '/v1/status/leader', () => ({ body: '' }));
  uiRoutes(r, dir);
  const server = createServer(makeHandler(r));
  await new Promise<void>(res => server.listen(0, '127.0.0.1', res));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

test('ui routes: redirects, types, gzip twins, caching, ETag, SPA fallback, nothing outside the folder', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-ui-'));
  const html = '<!doctype html><script type="module" src="/ui/main-ABCD2345.js"></script>';
  writeFileSync(join(dir, 'index.html'), html);
  writeFileSync(join(dir, 'index.html.gz'), gzipSync(html));
  writeFileSync(join(dir, 'main-ABCD2345.js'), 'console.log(1)');
  writeFileSync(join(dir, 'main-ABCD2345.js.gz'), gzipSync('console.log(1)'));
  mkdirSync(join(dir, 'img'));
  writeFileSync(join(dir, 'img', 'logo.svg'), '<svg/>');
  writeFileSync(join(dir, '..', 'secret.txt'), 'no');
  const { url, server } = await serve(dir);
  t.teardown(() => server.close());

  for (const p of ['/', '/ui']) {
    const r = await get(url + p);
    t.is(r.status, 301, p);
    t.is(r.headers.location, '/ui/');
  }
  t.is((await get(url + '/elsewhere')).status, 404, '/ is exact, not a prefix');
  t.is((await get(url + '/v1/nope')).body.toString(), 'Invalid URL path: not a recognized HTTP API endpoint\n');

  const plain = await get(url + '/ui/');
  t.is(plain.body.toString(), html);
  t.is(plain.headers['content-type'], 'text/html; charset=utf-8');
  t.is(plain.headers['cache-control'], 'no-cache');
  t.is(plain.headers['content-encoding'], undefined);
  t.is((await get(url + '/ui/', { 'If-None-Match': String(plain.headers.etag) })).status, 304);

  const js = await get(url + '/ui/main-ABCD2345.js', { 'Accept-Encoding': 'gzip' });
  t.is(js.headers['content-encoding'], 'gzip');
  t.is(js.headers['content-type'], 'text/javascript; charset=utf-8');
  t.is(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.is(js.headers.vary, 'Accept-Encoding');

  const svg = await get(url + '/ui/img/logo.svg', { 'Accept-Encoding': 'gzip' });
  t.is(svg.headers['content-type'], 'image/svg+xml');
  t.is(svg.headers['content-encoding'], undefined, 'no twin: sent as is');

  t.is((await get(url + '/ui/dc1/services')).body.toString(), html, 'a page path is the app');
  t.is((await get(url + '/ui/other.js')).status, 404);
  t.is((await get(url + '/ui/index.html.gz')).status, 404, 'twins are not files of their own');
  t.not((await get(url + '/ui/%2e%2e/secret.txt')).body.toString(), 'no');
  t.not((await get(url + '/ui/..%2fsecret.txt')).body.toString(), 'no');
});

test('ui routes: a missing build is a 404 that says how to build, and is read once it exists', async t => {
  const dir = join(mkdtempSync(join(tmpdir(), 'roster-ui-')), 'ui');
  const { url, server } = await serve(dir);
  t.teardown(() => server.close());
  const r = await get(url + '/ui/');
  t.is(r.status, 404);
  t.regex(r.body.toString(), /run make build/);
  mkdirSync(dir);
  writeFileSync(join(dir, 'index.html'), 'built');
  t.is((await get(url + '/ui/')).body.toString(), 'built');
});

/**
 * The web UI in a real headless Chromium (Debian's `chromium`, driven by playwright-core; never a
 * downloaded browser) against a real agent: the service list renders (first render timed with the
 * page's own performance marks), a registration appears without a reload, a TTL check failed through
 * the API turns red within 2 s, a KV edit made in the browser reads back through the API, a concurrent
 * change makes the browser's save a refused conflict, and a lost agent shows a banner and recovers.
 * Screenshots of each page go to test-artifacts/ui/ (gitignored).
 */
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, startAgent, type TestAgent } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'ui');

let agent: TestAgent;
let browser: Browser;
/** Requests any page made to another host than the agents' (must stay empty). */
const external: string[] = [];

test.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  agent = await startAgent(null);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
test.afterEach(t => { t.deepEqual(external, [], 'no request leaves the agent\'s origin'); });
test.after.always(async () => {
  await browser?.close();
  await agent?.stop();
});

async function ok(p: Promise<{ status: number; text: string }>): Promise<string> {
  const r = await p;
  if (r.status !== 200) throw new Error(`${r.status}: ${r.text}`);
  return r.text;
}

async function newPage(t: { teardown(fn: () => unknown): void }): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 240 } });
  t.teardown(() => ctx.close());
  const page = await ctx.newPage();
  // Anything the page asks of another host is recorded, and fails the test: the UI must work air-gapped.
  page.on('request', req => { if (!/^(http:\/\/127\.0\.0\.1:\d+\/|data:)/.test(req.url())) external.push(req.url()); });
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

test.serial('ui: / redirects to /ui/; assets with their types, gzip, caching; under 150 KB gzipped', async t => {
  const root = await fetch(`${agent.http}/`, { redirect: 'manual' });
  t.is(root.status, 301);
  t.is(root.headers.get('location'), '/ui/');
  t.is((await fetch(`${agent.http}/nope`)).status, 404, 'only / itself redirects');
  t.is((await fetch(`${agent.http}/v1/nope`, { method: 'PUT' })).status, 404, 'unknown API paths keep Consul\'s 404');
  const index = await fetch(`${agent.http}/ui/`);
  t.is(index.headers.get('content-type'), 'text/html; charset=utf-8');
  t.is(index.headers.get('cache-control'), 'no-cache');
  t.regex(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const html = await index.text();
  t.notRegex(html, /https?:\/\//, 'no external script, style or font');
  const etag = index.headers.get('etag')!;
  t.is((await fetch(`${agent.http}/ui/`, { headers: { 'If-None-Match': etag } })).status, 304);
  const assets = [...html.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map(m => m[1]!);
  t.is(assets.length, 2);
  let gz = 0;
  for (const path of ['/ui/', ...assets]) {
    // node's fetch decodes gzip itself; ask through a raw request to see the wire bytes.
    const wire = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      request(`${agent.http}${path}`, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } }, res => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject).end();
    });
    t.is(wire.headers['content-encoding'], 'gzip', path);
    t.is(wire.headers.vary, 'Accept-Encoding');
    gunzipSync(wire.body); // really gzip
    gz += wire.body.length;
    if (path.endsWith('.js')) {
      t.is(wire.headers['content-type'], 'text/javascript; charset=utf-8');
      t.is(wire.headers['cache-control'], 'public, max-age=31536000, immutable');
    }
    if (path.endsWith('.css')) t.is(wire.headers['content-type'], 'text/css; charset=utf-8');
  }
  t.log(`UI total on the wire: ${(gz / 1024).toFixed(1)} KB gzipped`);
  writeFileSync(join(ARTIFACTS, 'size.json'), JSON.stringify({ gzippedBytes: gz }) + '\n');
  t.true(gz < 150 * 1024, `${gz} bytes gzipped`);
});

test.serial('ui: the service list renders (first render < 1 s), filters by name and tag; a registration appears without reload', async t => {
  await ok(agent.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 8080, Tags: ['v1', 'blue'], Check: { TTL: '30s', Status: 'passing' } }));
  await ok(agent.req('PUT', '/v1/agent/service/register', { Name: 'db', ID: 'db-1', Port: 5432, Tags: ['primary'] }));
  const page = await newPage(t);
  await page.goto(`${agent.http}/`);
  t.is(new URL(page.url()).pathname, '/ui/');
  await page.waitForSelector('tr[data-service="web"]', { timeout: 10_000 });
  const timing = await page.evaluate<{ firstRender: number; domContentLoaded: number; load: number }>(
    `(() => { const n = performance.getEntriesByType('navigation')[0]; const m = performance.getEntriesByName('roster:first-render')[0];
      return { firstRender: m ? m.startTime : -1, domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd }; })()`);
  t.log(`first render with data: ${timing.firstRender.toFixed(0)} ms after navigation start (DOMContentLoaded ${timing.domContentLoaded.toFixed(0)} ms)`);
  writeFileSync(join(ARTIFACTS, 'timings.json'), JSON.stringify(timing) + '\n');
  t.true(timing.firstRender > 0 && timing.firstRender < 1000, `first render ${timing.firstRender} ms`);
  t.regex(await page.textContent('tr[data-service="web"]') ?? '', /blue.*v1.*1/s, 'tags and instance count');
  t.is(await page.getAttribute('tr[data-service="web"]', 'data-status'), 'passing');

  await page.fill('input[aria-label="Filter by name"]', 'we');
  await page.waitForSelector('tr[data-service="db"]', { state: 'detached' });
  t.is(await page.locator('tr[data-service]').count(), 1);
  await page.fill('input[aria-label="Filter by name"]', '');
  await page.selectOption('select[aria-label="Filter by tag"]', 'primary');
  await page.waitForSelector('tr[data-service="web"]', { state: 'detached' });
  t.truthy(await page.$('tr[data-service="db"]'));
  await page.selectOption('select[aria-label="Filter by tag"]', '');

  await page.evaluate('window.__sameDocument = true');
  await ok(agent.req('PUT', '/v1/agent/service/register', { Name: 'late-arrival', Port: 9000, Tags: ['new'] }));
  await page.waitForSelector('tr[data-service="late-arrival"]', { timeout: 5000 });
  t.true(await page.evaluate<boolean>('window.__sameDocument === true'), 'no reload');
  await shot(page, 'services');
});

test.serial('ui: /v1/internal/ui/services, nodes and node/:node answer Consul\'s shapes and block on the catalog', async t => {
  const r = await agent.req('GET', '/v1/internal/ui/services');
  const web = r.json.find((s: { Name: string }) => s.Name === 'web');
  t.like(web, { Name: 'web', Datacenter: 'dc1', Tags: ['blue', 'v1'], Nodes: [agent.node], InstanceCount: 1, ChecksPassing: 2, ChecksWarning: 0, ChecksCritical: 0, ExternalSources: null });
  t.is(r.json.find((s: { Name: string }) => s.Name === 'consul').Tags, null, 'no tags: null');
  const index = Number(r.headers.get('x-consul-index'));
  t.true(index > 0);
  const nodes = await agent.req('GET', '/v1/internal/ui/nodes');
  t.is(nodes.json[0].Node, agent.node);
  t.true(Array.isArray(nodes.json[0].Services) && Array.isArray(nodes.json[0].Checks));
  t.is((await agent.req('GET', `/v1/internal/ui/node/${agent.node}`)).json.Node, agent.node);
  const missing = await agent.req('GET', '/v1/internal/ui/node/nope');
  t.is(missing.status, 404);
  t.is(missing.text, '');
  t.is((await agent.req('GET', '/v1/internal/ui/node/')).status, 400);
  // A blocking read returns when a registration changes the catalog, not at its wait.
  const t0 = Date.now();
  const blocked = agent.req('GET', `/v1/internal/ui/services?index=${index}&wait=20s`);
  await new Promise(res => setTimeout(res, 200));
  await ok(agent.req('PUT', '/v1/agent/service/register', { Name: 'wakes-the-watch', Port: 1 }));
  const woke = await blocked;
  t.true(Date.now() - t0 < 10_000);
  t.true(woke.json.some((s: { Name: string }) => s.Name === 'wakes-the-watch'));
});

test.serial('ui: a TTL check failed through the API turns red on the service page within 2 s', async t => {
  await ok(agent.req('PUT', '/v1/agent/service/register', { Name: 'pay', ID: 'pay-1', Port: 7000, Meta: { version: '2.1' }, Check: { CheckID: 'pay-ttl', Name: 'pay heartbeat', TTL: '60s' } }));
  await ok(agent.req('PUT', '/v1/agent/check/pass/pay-ttl?note=all+good', ''));
  const page = await newPage(t);
  await page.goto(`${agent.http}/ui/#/services/pay`);
  await page.waitForSelector('tr[data-check-id="pay-ttl"][data-status="passing"]', { timeout: 10_000 });
  t.regex(await page.textContent('article[data-instance="pay-1"]') ?? '', /127\.0\.0\.1:7000.*version.*2\.1/s);
  await page.waitForTimeout(300); // the page's blocking query is parked again

  const t0 = Date.now();
  await ok(agent.req('PUT', '/v1/agent/check/fail/pay-ttl?note=disk+full', ''));
  await page.waitForSelector('tr[data-check-id="pay-ttl"][data-status="critical"]', { timeout: 2000 });
  const ms = Date.now() - t0;
  t.log(`check critical in the browser ${ms} ms after the API call`);
  t.true(ms < 2000);
  t.regex(await page.textContent('tr[data-check-id="pay-ttl"]') ?? '', /disk full/);
  const red = await page.evaluate<string>(`getComputedStyle(document.querySelector('tr[data-check-id="pay-ttl"] .badge')).backgroundColor`);
  t.is(red, 'rgb(207, 34, 46)', 'the badge is red');
  await shot(page, 'service');

  await page.goto(`${agent.http}/ui/#/services`);
  await page.waitForSelector('tr[data-service="pay"][data-status="critical"]', { timeout: 5000 });
  t.regex(await page.textContent('[data-testid="status-counts"]') ?? '', /1 critical/);
  await shot(page, 'services-critical');
});

test.serial('ui: a KV value edited in the browser reads back through the API; create and delete too', async t => {
  await ok(agent.req('PUT', '/v1/kv/app/config', 'v1'));
  await ok(agent.req('PUT', '/v1/kv/app/db/url', 'postgres://db'));
  const page = await newPage(t);
  await page.goto(`${agent.http}/ui/#/kv/app/`);
  await page.waitForSelector('a[data-key="app/db/"]', { timeout: 10_000 });
  await shot(page, 'kv-folder');
  await page.click('a[data-key="app/config"]');
  await page.waitForSelector('[data-testid="kv-value"]:has-text("v1")');
  await page.click('button:has-text("Edit")');
  await page.fill('textarea[aria-label="Value"]', 'v2 from the browser');
  await page.click('button:has-text("Save")');
  await page.waitForSelector('[role="status"]:has-text("Saved.")', { timeout: 5000 });
  t.is(await ok(agent.req('GET', '/v1/kv/app/config?raw')), 'v2 from the browser');
  await page.waitForSelector('[data-testid="kv-value"]:has-text("v2 from the browser")');
  await shot(page, 'kv');

  await page.goto(`${agent.http}/ui/#/kv/app/`);
  await page.fill('input[aria-label="New key"]', 'feature-flag');
  await page.fill('textarea[aria-label="New value"]', 'on');
  await page.click('button:has-text("Create")');
  await page.waitForSelector('h1.kv-key:has-text("app/feature-flag")');
  t.is(await ok(agent.req('GET', '/v1/kv/app/feature-flag?raw')), 'on');

  await page.click('button:has-text("Delete")');
  await page.click('button:has-text("Really delete")');
  await page.waitForSelector('a[data-key="app/config"]');
  t.is((await agent.req('GET', '/v1/kv/app/feature-flag')).status, 404);
});

test.serial('ui: a KV edit is refused when the key changed through the API after the page loaded it', async t => {
  await ok(agent.req('PUT', '/v1/kv/race/key', 'original'));
  const page = await newPage(t);
  await page.goto(`${agent.http}/ui/#/kv/race/key`);
  await page.waitForSelector('[data-testid="kv-value"]:has-text("original")', { timeout: 10_000 });
  await ok(agent.req('PUT', '/v1/kv/race/key', 'original, changed live'));
  await page.waitForSelector('[data-testid="kv-value"]:has-text("original, changed live")', { timeout: 5000 });
  await page.click('button:has-text("Edit")');
  await page.fill('textarea[aria-label="Value"]', 'mine');
  await ok(agent.req('PUT', '/v1/kv/race/key', 'theirs'));
  await page.click('button:has-text("Save")');
  await page.waitForSelector('[data-testid="kv-conflict"]', { timeout: 5000 });
  t.regex(await page.textContent('[data-testid="kv-conflict"]') ?? '', /Conflict: not saved/);
  t.is(await ok(agent.req('GET', '/v1/kv/race/key?raw')), 'theirs', 'never a silent overwrite');
  t.is(await page.inputValue('textarea[aria-label="Value"]'), 'mine', 'the edit is kept in the editor');
  await page.waitForSelector('[data-testid="kv-theirs"]:has-text("theirs")');
  await shot(page, 'kv-conflict');
});

test.serial('ui: nodes with gossip status, sessions with their locks; the token is sent as X-Consul-Token', async t => {
  const page = await newPage(t);
  const tokens = new Set<string>();
  page.on('request', req => { const h = req.headers()['x-consul-token']; if (h) tokens.add(h); });
  await page.goto(`${agent.http}/ui/#/nodes`);
  await page.waitForSelector(`tr[data-node="${agent.node}"] [data-gossip="alive"]`, { timeout: 10_000 });
  t.regex(await page.textContent(`tr[data-node="${agent.node}"]`) ?? '', /127\.0\.0\.1.*serfHealth|Serf Health/s);
  await shot(page, 'nodes');
  await page.click(`a[href="#/nodes/${agent.node}"]`);
  await page.waitForSelector('tr[data-check-id="serfHealth"]');
  await page.waitForSelector('[data-gossip="alive"]');
  await shot(page, 'node');

  const sid = JSON.parse(await ok(agent.req('PUT', '/v1/session/create', { Name: 'leader-election', TTL: '60s' }))).ID as string;
  t.is(await ok(agent.req('PUT', `/v1/kv/service/leader?acquire=${sid}`, 'me')), 'true');
  await page.goto(`${agent.http}/ui/#/sessions`);
  await page.waitForSelector(`tr[data-session="${sid}"] a[data-lock="service/leader"]`, { timeout: 10_000 });
  await shot(page, 'sessions');
  const other = JSON.parse(await ok(agent.req('PUT', '/v1/session/create', { Name: 'short-lived' }))).ID as string;
  await page.waitForSelector(`tr[data-session="${other}"]`, { timeout: 5000 });
  await ok(agent.req('PUT', `/v1/session/destroy/${other}`, ''));
  await page.waitForSelector(`tr[data-session="${other}"]`, { state: 'detached', timeout: 5000 });

  t.is(tokens.size, 0, 'no token until one is given');
  await page.click('[data-testid="token-open"]');
  await page.fill('input[aria-label="ACL token"]', 'secret-token-123');
  await page.click('button:has-text("Use token")');
  await until('a request with the token', async () => tokens.has('secret-token-123'), 5000);
  t.is(await page.evaluate<string>(`localStorage.getItem('roster.token')`), 'secret-token-123');
});

test.serial('ui: a lost agent shows a banner; the page recovers by itself when it is back', async t => {
  const a = await startAgent(t);
  const page = await newPage(t);
  await page.goto(`${a.http}/ui/#/services`);
  await page.waitForSelector('tr[data-service="consul"]', { timeout: 10_000 });
  await a.stop();
  await page.waitForSelector('[data-testid="conn-lost"]', { timeout: 10_000 });
  await shot(page, 'connection-lost');
  const b = await startAgent(t, { httpPort: a.httpPort, dataDir: a.dataDir, node: a.node });
  await ok(b.req('PUT', '/v1/agent/service/register', { Name: 'after-restart', Port: 1 }));
  await page.waitForSelector('[data-testid="conn-lost"]', { state: 'detached', timeout: 20_000 });
  t.truthy(await page.waitForSelector('tr[data-service="after-restart"]', { timeout: 10_000 }), 'live again without a reload');
  t.is(await page.$('[data-testid="conn-lost"]'), null);
});

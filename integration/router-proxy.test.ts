/**
 * Integration: `roster router` in front of real backends registered with a real agent — Host/tag/path
 * routing, retries hiding a killed backend, 503 at once for critical or unknown services, the
 * catalog followed within a second, streaming bodies, WebSocket upgrades, JSON access logs, and
 * recovery after the agent restarts.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import { startAgent, ROSTER, type TestAgent } from './helpers/agent.ts';
import { freePort } from '../src/store/embedded-redis.ts';
import { sleep, until } from './helpers/wait.ts';

type T = { teardown(fn: () => unknown): void };

async function backend(t: T, name: string): Promise<{ port: number; server: Server; kill(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url === '/stream') {
      res.write('first\n');
      setTimeout(() => res.end('last\n'), 300);
      return;
    }
    if (req.url === '/headers') {
      const json = JSON.stringify(req.rawHeaders);
      res.writeHead(200, [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-Mixed-Case', 'yes'], ['Keep-Alive', 'timeout=5'], ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(json))]]);
      res.end(json);
      return;
    }
    if (req.method === 'POST') {
      let n = 0;
      req.on('data', d => { n += d.length; });
      req.on('end', () => res.end(`${name} got ${n}`));
      return;
    }
    res.setHeader('x-backend', name);
    res.end(`${name} ${req.url} host=${req.headers.host} xff=${req.headers['x-forwarded-for']}`);
  });
  const upgraded = new Set<import('node:stream').Duplex>();
  server.on('upgrade', (req, socket) => {
    upgraded.add(socket);
    socket.on('end', () => socket.end());
    socket.on('close', () => upgraded.delete(socket));
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Backend: ${name}\r\nX-Path: ${req.url}\r\n\r\n`);
    socket.on('data', d => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const kill = () => new Promise<void>(r => { server.closeAllConnections(); for (const s of upgraded) s.destroy(); server.close(() => r()); });
  t.teardown(() => { if (server.listening) return kill(); });
  return { port: (server.address() as { port: number }).port, server, kill };
}

async function startRouter(t: T, httpAddr: string, extra: string[] = []) {
  const port = await freePort();
  const p = spawn(ROSTER, ['router', '-listen', `127.0.0.1:${port}`, '-http-addr', httpAddr, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', d => { out += String(d); });
  p.stderr!.on('data', d => { err += String(d); });
  t.teardown(() => { p.kill('SIGKILL'); });
  await until('router up', async () => { await fetch(`http://127.0.0.1:${port}/`); return true; }, 10_000);
  return { port, url: `http://127.0.0.1:${port}`, out: () => out, err: () => err };
}

/** GET through the router with a Host header (fetch forbids setting Host). */
function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, headers: { host } }, res => {
      let body = '';
      res.on('data', d => { body += String(d); });
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    r.on('error', reject);
    r.end();
  });
}

const reg = (a: TestAgent, id: string, port: number, extra: Record<string, unknown> = {}) =>
  a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: id, Address: '127.0.0.1', Port: port, ...extra });

test('router: Host, tag and path routing; unknown service → 503 at once; JSON access log', async t => {
  const a = await startAgent(t);
  const b1 = await backend(t, 'b1');
  const b2 = await backend(t, 'b2');
  await reg(a, 'web-1', b1.port, { Tags: ['v1'] });
  await reg(a, 'web-2', b2.port, { Tags: ['v2'] });
  const r = await startRouter(t, a.http);
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const x = await get(r.port, '/hello?x=1', 'web.service.consul');
    t.is(x.status, 200);
    t.regex(x.body, /^b[12] \/hello\?x=1 host=web\.service\.consul xff=127\.0\.0\.1$/);
    seen.add(x.body.slice(0, 2));
  }
  t.deepEqual([...seen].sort(), ['b1', 'b2']);
  for (let i = 0; i < 3; i++) t.regex((await get(r.port, '/t', 'v2.web.service.consul:8080')).body, /^b2 \/t /);
  t.regex((await get(r.port, '/v1.web/deep/path?q')).body, /^b1 \/deep\/path\?q /);
  t.regex((await get(r.port, '/web')).body, /^b[12] \/ /);
  const t0 = performance.now();
  const u = await get(r.port, '/x', 'nosuch.service.consul');
  t.is(u.status, 503);
  t.is(u.body, 'unknown service "nosuch"\n');
  t.true(performance.now() - t0 < 200);
  t.is((await get(r.port, '/', '127.0.0.1')).status, 404);
  const nt = await get(r.port, '/x', 'v9.web.service.consul');
  t.is(nt.status, 503);
  t.is(nt.body, 'no instances of service "web" with tag "v9"\n');
  await sleep(100);
  const lines = r.out().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>);
  t.true(lines.length >= 10);
  const first = lines.find(l => l.host === 'web.service.consul')!;
  t.deepEqual(Object.keys(first), ['time', 'method', 'host', 'path', 'service', 'upstream', 'status', 'duration_ms', 'attempts']);
  t.like(first, { method: 'GET', host: 'web.service.consul', path: '/hello?x=1', service: 'web', status: 200 });
  t.regex(first.upstream as string, /^127\.0\.0\.1:\d+$/);
  t.like(lines.find(l => l.service === 'nosuch'), { status: 503, upstream: '' });
});

test('router: end-to-end headers pass as sent, hop-by-hop ones are dropped, X-Forwarded-* appended', async t => {
  const a = await startAgent(t);
  const b1 = await backend(t, 'b1');
  await reg(a, 'web-1', b1.port);
  const r = await startRouter(t, a.http);
  await until('route ready', async () => (await get(r.port, '/', 'web.service.consul')).status === 200, 5000);
  const sock = netConnect(r.port, '127.0.0.1');
  let raw = '';
  sock.on('data', d => { raw += String(d); });
  sock.on('error', () => {});
  sock.write('GET /headers HTTP/1.1\r\nHost: web.service.consul\r\nX-Custom-Case: v\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n' +
    'Keep-Alive: 300\r\nTE: trailers\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nProxy-Authorization: Basic eA==\r\n\r\n');
  await until('response', async () => raw.includes('\r\n\r\n[') && raw.endsWith(']'), 5000);
  sock.destroy();
  const [head, body] = raw.split('\r\n\r\n');
  const got = JSON.parse(body!) as string[];
  const names = got.filter((_, i) => i % 2 === 0);
  const value = (n: string) => got[got.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === n) + 1];
  t.true(names.includes('X-Custom-Case'), 'header names keep their case');
  t.is(value('host'), 'web.service.consul');
  for (const gone of ['x-secret', 'keep-alive', 'te', 'proxy-authorization', 'connection']) t.false(names.some(n => n.toLowerCase() === gone && value(gone) !== 'keep-alive'), gone);
  t.is(value('x-forwarded-for'), '10.0.0.1, 127.0.0.1');
  t.is(value('x-forwarded-host'), 'web.service.consul');
  t.is(value('x-forwarded-proto'), 'https');
  t.regex(head!, /^HTTP\/1\.1 200 OK\r\n/);
  t.is(head!.match(/^set-cookie: [ab]=[12]$/gim)?.length, 2);
  t.regex(head!, /^x-mixed-case: yes$/im);
  t.notRegex(head!, /^keep-alive: timeout=5$/im, 'the upstream\'s Keep-Alive is not passed on');
});

test('router: a killed backend is hidden by retries; critical instances stop getting traffic within a second; all critical → 503 at once', async t => {
  const a = await startAgent(t);
  const bs = [await backend(t, 'k0'), await backend(t, 'k1'), await backend(t, 'k2')];
  for (const [i, b] of bs.entries()) {
    await reg(a, `web-${i}`, b.port, { Check: { CheckID: `c${i}`, TTL: '60s' } });
    await a.req('PUT', `/v1/agent/check/pass/c${i}`);
  }
  const r = await startRouter(t, a.http);
  for (let i = 0; i < 10; i++) t.is((await get(r.port, '/warm', 'web.service.consul')).status, 200);
  await bs[0]!.kill();
  let bad = 0;
  for (let i = 0; i < 150; i++) if ((await get(r.port, `/r${i}`, 'web.service.consul')).status !== 200) bad++;
  t.is(bad, 0, 'no failed request after the backend died');
  // Critical in the catalog → no traffic within a second.
  await a.req('PUT', '/v1/agent/check/fail/c1');
  const t0 = Date.now();
  await until('k1 out of rotation', async () => {
    const got = await Promise.all(Array.from({ length: 6 }, () => get(r.port, '/', 'web.service.consul')));
    return got.every(g => g.body.startsWith('k2'));
  }, 2000);
  t.true(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  await a.req('PUT', '/v1/agent/check/fail/c2');
  await a.req('PUT', '/v1/agent/check/fail/c0');
  await until('all critical', async () => (await get(r.port, '/', 'web.service.consul')).status === 503, 2000).catch(async err => {
    console.error((await a.req('GET', '/v1/health/service/web?passing')).text, (await get(r.port, '/', 'web.service.consul')));
    throw err;
  });
  const t1 = performance.now();
  const x = await get(r.port, '/', 'web.service.consul');
  t.is(x.status, 503);
  t.is(x.body, 'no healthy instances of service "web"\n');
  t.true(performance.now() - t1 < 100);
});

test('router: streaming bodies and WebSocket upgrades pass through', async t => {
  const a = await startAgent(t);
  const b = await backend(t, 'ws');
  await reg(a, 'web-ws', b.port);
  const r = await startRouter(t, a.http);
  // Streaming response: the first chunk arrives before the backend finishes.
  const chunks = await new Promise<{ at: number; s: string }[]>((resolve, reject) => {
    const t0 = Date.now();
    const got: { at: number; s: string }[] = [];
    request({ host: '127.0.0.1', port: r.port, path: '/web/stream' }, res => {
      res.on('data', d => got.push({ at: Date.now() - t0, s: String(d) }));
      res.on('end', () => resolve(got));
    }).on('error', reject).end();
  });
  t.is(chunks.map(c => c.s).join(''), 'first\nlast\n');
  // Not buffered: the chunks arrive apart, as the backend sent them (~300 ms apart), whatever the machine's load.
  t.true(chunks.length >= 2 && chunks.at(-1)!.at - chunks[0]!.at >= 150, JSON.stringify(chunks));
  // Streaming (chunked) request body.
  const up = await new Promise<string>((resolve, reject) => {
    const q = request({ host: '127.0.0.1', port: r.port, path: '/web/up', method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, res => {
      let s = '';
      res.on('data', d => { s += String(d); });
      res.on('end', () => resolve(s));
    });
    q.on('error', reject);
    let n = 0;
    const iv = setInterval(() => { q.write(Buffer.alloc(1000, 1)); if (++n === 5) { clearInterval(iv); q.end(); } }, 20);
  });
  t.is(up, 'ws got 5000');
  // WebSocket: a raw Upgrade handshake, then bytes both ways.
  const sock = netConnect({ host: '127.0.0.1', port: r.port });
  await new Promise(r2 => sock.once('connect', r2));
  sock.write('GET /chat HTTP/1.1\r\nHost: web.service.consul\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  let buf = '';
  sock.on('data', d => { buf += String(d); });
  await until('101', async () => buf.includes('\r\n\r\n'));
  t.regex(buf, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  t.regex(buf, /X-Path: \/chat\r\n/);
  sock.write('ping');
  await until('echo', async () => buf.endsWith('echo:ping'));
  sock.destroy();
  t.pass();
});

test('router: keeps serving while the agent restarts, then follows the new catalog', async t => {
  const a = await startAgent(t);
  const b1 = await backend(t, 'old');
  const b2 = await backend(t, 'new');
  await reg(a, 'web-old', b1.port);
  const r = await startRouter(t, a.http);
  t.regex((await get(r.port, '/', 'web.service.consul')).body, /^old /);
  await a.stop();
  // Agent down: the last known instances keep getting traffic.
  for (let i = 0; i < 5; i++) t.regex((await get(r.port, '/', 'web.service.consul')).body, /^old /);
  // A new agent with a fresh data dir on the same port; the new instance registers there.
  await startAgent(t, { httpPort: a.httpPort, node: 'restarted' });
  await reg(a, 'web-new', b2.port);
  await until('router follows the new catalog', async () => /^new /.test((await get(r.port, '/', 'web.service.consul')).body), 8000);
  for (let i = 0; i < 5; i++) t.regex((await get(r.port, '/', 'web.service.consul')).body, /^new /);
});

test('router: -workers 2 serves from two processes and stops on SIGTERM', async t => {
  const a = await startAgent(t);
  const b = await backend(t, 'wk');
  await reg(a, 'web-wk', b.port);
  const port = await freePort();
  const p = spawn(ROSTER, ['router', '-listen', `127.0.0.1:${port}`, '-http-addr', a.http, '-workers', '2', '-access-log=false'], { stdio: 'ignore' });
  t.teardown(() => { p.kill('SIGKILL'); });
  await until('router up', async () => (await get(port, '/', 'web.service.consul')).status === 200, 10_000);
  for (let i = 0; i < 20; i++) t.is((await get(port, `/${i}`, 'web.service.consul')).status, 200);
  const exit = new Promise<number | null>(r => p.once('exit', c => r(c)));
  p.kill('SIGTERM');
  t.is(await exit, 0);
});

import test from 'ava';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { makeHandler, parseTarget, Router, type Ctx } from '../../src/http/server.ts';
import { Notifier, sharedBlocking, topicList } from '../../src/http/blocking.ts';
import { PerClient } from '../../src/http/limits.ts';
import { TrimPolicy } from '../../src/util/heap-trim.ts';
import { waitFor } from '../helpers/wait.ts';

/** Waits (event-driven work on real sockets) until cond holds; fails after 10 s (test/helpers/wait.ts). */
const until = (cond: () => boolean, what?: string): Promise<true> => waitFor(cond, 10_000, { every: 5, what });

async function listen(r: Router, slots?: PerClient): Promise<{ server: Server; port: number }> {
  const server = createServer(makeHandler(r, { blocking: slots }));
  await new Promise<void>(res => server.listen(0, '127.0.0.1', res));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A raw connection sending one GET; collects what comes back. */
function rawGet(port: number, path: string): { sock: net.Socket; data: () => string } {
  let got = '';
  const sock = net.connect(port, '127.0.0.1', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
  sock.on('data', d => { got += String(d); });
  sock.on('error', () => {});
  return { sock, data: () => got };
}

test('parseTarget: the split by hand gives what WHATWG URL gives, and odd targets still go through URL', t => {
  const targets = [
    '/', '/v1/health/service/web?index=12&wait=120s', '/v1/kv/a%2Fb?recurse', '/v1/kv/a+b?x=a+b&y=%20&z', '/v1/kv/x?q=a=b&&c',
    '/v1/kv/./a', '/v1/kv/../a', '/v1/kv/%2e%2E/a', '/v1/kv/.hidden', '//v1/agent/self', '/v1/kv/a#frag?x=1', '/v1/kv/a?x=1#f',
    '/v1/kv/é?q=ü', '/v1/kv/a b', '/v1/kv/a\\b', '/v1/kv/a?x=%zz&y=%41', '/v1/kv/%zz', '/v1/catalog/services?filter=Service%20%3D%3D%20%22web%22', '*',
    "/v1/kv/it's?x='1'", '/v1/kv/a?', '/v1/kv/a?&&',
  ];
  for (const raw of targets) {
    const u = new URL(raw, 'http://localhost');
    const p = parseTarget(raw);
    t.truthy(p, raw);
    t.is(p!.pathname, u.pathname, raw);
    t.deepEqual([...p!.query], [...u.searchParams], raw);
  }
  t.is(parseTarget('http://[::1'), null);
});

test('parked shared watchers: a client that hangs up is released at once with its slot; the rest share one body', async t => {
  const n = new Notifier();
  let idx = 10;
  const r = new Router();
  r.add(['GET'], '/v1/health/service/', async (ctx: Ctx) => {
    const res = await sharedBlocking(ctx, n, { topics: topicList(`svc:${ctx.param}`), index: () => idx, render: () => ({ idx, name: ctx.param }) });
    return { body: res.body, headers: { 'X-Consul-Index': String(res.index) } };
  });
  const slots = new PerClient(1000);
  const { server, port } = await listen(r, slots);
  const conns = Array.from({ length: 100 }, () => rawGet(port, '/v1/health/service/web?index=10&wait=60s'));
  await until(() => n.waiting === 100);
  t.is(slots.count('127.0.0.1'), 100);
  for (const c of conns.slice(0, 40)) c.sock.destroy();
  await until(() => n.waiting === 60);
  await until(() => slots.count('127.0.0.1') === 60);
  t.true(conns.every(c => c.data() === ''), 'nobody answered before the change');
  idx = 11;
  n.fire('svc:web');
  const rest = conns.slice(40);
  await until(() => rest.every(c => c.data().includes('"idx":11')));
  for (const c of rest) {
    t.regex(c.data(), /^HTTP\/1\.1 200 OK/);
    t.regex(c.data(), /X-Consul-Index: 11/i);
    t.true(c.data().includes('\r\n{"idx":11,"name":"web"}\r\n'), c.data());
  }
  t.is(n.renders.renders, 1, 'one render shared by the 60 answers');
  await until(() => slots.count('127.0.0.1') === 0);
  t.is(n.waiting, 0);
  for (const c of rest) c.sock.destroy();
  server.close();
});

test('request context: a signal first asked for after the client left is already aborted; OPTIONS and 405 list the methods', async t => {
  let left!: () => void;
  const leftP = new Promise<void>(res => { left = res; });
  let aborted: boolean | undefined;
  let entered = false;
  const r = new Router();
  r.add(['GET', 'PUT'], '/v1/x', async (ctx: Ctx) => {
    entered = true;
    await leftP;
    await until(() => ctx.req.socket.destroyed);
    await new Promise(res => setImmediate(res));
    aborted = ctx.signal.aborted;
    return { body: 'late' };
  });
  const { server, port } = await listen(r);
  const c = rawGet(port, '/v1/x');
  await until(() => entered, 'the request to reach its handler');
  t.is(c.data(), '', 'nothing answered yet');
  c.sock.destroy();
  left();
  await until(() => aborted !== undefined);
  t.true(aborted);
  const opt = await fetch(`http://127.0.0.1:${port}/v1/x`, { method: 'OPTIONS' });
  t.is(opt.headers.get('allow'), 'OPTIONS,GET,PUT');
  const del = await fetch(`http://127.0.0.1:${port}/v1/x`, { method: 'DELETE' });
  t.is(del.status, 405);
  t.is(del.headers.get('allow'), 'OPTIONS,GET,PUT');
  t.is(await del.text(), 'method DELETE not allowed');
  server.close();
});

test('TrimPolicy: trims once many parked watchers have gone and departures stopped, at most once per gap', t => {
  const p = new TrimPolicy(0, 1000, 5000);
  t.false(p.tick(0, 10_000, 0), 'nobody left');
  t.false(p.tick(500, 9500, 1000), 'departures still coming');
  t.false(p.tick(500, 9500, 2000), 'quiet, but only 500 left');
  t.false(p.tick(5000, 5000, 3000), 'still coming');
  t.true(p.tick(5000, 5000, 4000), 'quiet after 5,000 departures');
  t.false(p.tick(5000, 5000, 5000), 'nothing new since the trim');
  t.false(p.tick(9000, 5000, 6000));
  t.false(p.tick(9000, 5000, 10_000), '4,000 answered and parked again: same population, no trim');
  t.false(p.tick(14_000, 0, 10_500));
  t.true(p.tick(14_000, 0, 11_000), 'then 5,000 hung up: trim, the gap having passed');
  t.false(p.tick(20_000, 0, 12_000));
  t.false(p.tick(20_000, 0, 13_000), 'nobody parked to lose');
});

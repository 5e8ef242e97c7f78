/**
 * HTTP hardening (issue 11 items 1, 3, 4, 11) against real agents over real sockets: bodies over a
 * limit are refused whole, Consul's meta and txn limits, bad input gets 400 with a message, node's
 * parser errors carry a body, per-client connection and blocking-query limits, request deadlines,
 * legacy GET off by default and cross-site writes refused, and the launcher's open-file limit.
 */
import test from 'ava';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { waitFor } from '../test/helpers/wait.ts';

const KV_413 = (n: number) => `Request body(${n} bytes) too large, max size: 524288 bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`;
const CONSUL_429 = 'HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 81\r\nConnection: close\r\n\r\nYour IP is issuing too many concurrent connections, please rate limit your calls\n';

let agent: TestAgent;   // defaults
let small: TestAgent;   // small limits, so that the tests stay small
test.before(async () => {
  agent = await startAgent(null);
  small = await startAgent(null, {
    args: ['-legacy-get-compat', '-hcl', 'limits { http_max_conns_per_client = 20 \n http_max_blocking_queries_per_client = 5 \n http_request_timeout = "3s" \n http_header_timeout = "2s" }'],
  });
});
test.after.always(async () => { await agent?.stop(); await small?.stop(); });

/** One request through node:http (chunked when `chunks` is given), optionally from another loopback address. */
function send(a: TestAgent, method: string, path: string, opts: { body?: Buffer | string; chunks?: Buffer[]; headers?: Record<string, string>; from?: string } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: a.httpPort, method, path, localAddress: opts.from, headers: opts.headers, agent: false }, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', d => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.chunks) {
      let i = 0;
      const next = () => { if (i < opts.chunks!.length && !req.destroyed) req.write(opts.chunks![i++], next); else req.end(); };
      next();
    } else req.end(opts.body);
  });
}

/** Retries `f` (every 100 ms, up to 5 s) until it returns `want` (test/helpers/wait.ts); throws otherwise. */
async function eventually<T>(f: () => Promise<T>, want: T): Promise<T> {
  return (await waitFor(async () => ((await f()) === want ? { v: want } : undefined), 5000, { every: 100, what: `the answer ${String(want)}` })).v;
}

/** Writes raw bytes on a fresh socket and collects everything until the server closes it. */
function rawExchange(port: number, bytes: string, from?: string): Promise<string> {
  return new Promise(resolve => {
    const s = connect({ host: '127.0.0.1', port, localAddress: from });
    let out = '';
    s.on('data', d => { out += String(d); });
    s.on('error', () => {});
    s.on('close', () => resolve(out));
    s.write(bytes);
  });
}

test.serial('http limits: a KV value over 512 KiB is refused whole with Consul\'s 413 (announced or chunked); nothing stored', async t => {
  const r1 = await send(agent, 'PUT', '/v1/kv/big600k', { body: Buffer.alloc(600_000, 97) });
  t.is(r1.status, 413);
  t.is(r1.text, KV_413(600_000));
  t.is((await agent.req('GET', '/v1/kv/big600k')).status, 404, 'nothing stored');
  // 5 MB without Content-Length: refused once the bytes read pass the limit.
  const r2 = await send(agent, 'PUT', '/v1/kv/big5m', { chunks: Array.from({ length: 80 }, () => Buffer.alloc(64 * 1024, 98)) }).catch(err => ({ status: -1, text: String(err) }));
  t.is(r2.status, 413, r2.text);
  t.regex(r2.text, /^Request body\(\d+ bytes\) too large, max size: 524288 bytes\./);
  t.is((await agent.req('GET', '/v1/kv/big5m')).status, 404, 'nothing stored');
  // Exactly the limit is accepted and stored whole.
  t.is((await send(agent, 'PUT', '/v1/kv/exact', { body: Buffer.alloc(524_288, 99) })).status, 200);
  const back = await fetch(`${agent.http}/v1/kv/exact?raw`);
  t.is((await back.arrayBuffer()).byteLength, 524_288);
  // The agent still answers.
  t.is((await agent.req('GET', '/v1/status/leader')).status, 200);
});

test.serial('http limits: txn bodies and op counts as Consul (512 KiB, 64 ops); other bodies over 512 KiB get 413', async t => {
  const ops = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ KV: { Verb: 'set', Key: `t/${i}`, Value: 'YQ==' } })));
  const r65 = await send(agent, 'PUT', '/v1/txn', { body: ops(65) });
  t.is(r65.status, 413);
  t.is(r65.text, 'Transaction contains too many operations (65 > 64)');
  t.is((await send(agent, 'PUT', '/v1/txn', { body: ops(64) })).status, 200);
  const big = JSON.stringify([{ KV: { Verb: 'set', Key: 'tbig', Value: Buffer.alloc(450_000).toString('base64') } }]);
  const rb = await send(agent, 'PUT', '/v1/txn', { body: big });
  t.is(rb.status, 413);
  t.is(rb.text, 'Request body too large, max size: 524288 bytes');
  t.is((await agent.req('GET', '/v1/kv/tbig')).status, 404);
  const reg = await send(agent, 'PUT', '/v1/agent/service/register', { body: JSON.stringify({ Name: 'huge', Tags: Array.from({ length: 60_000 }, (_, i) => `tag-${i}`) }) });
  t.is(reg.status, 413);
  t.is(reg.text, 'Request body too large, max size: 524288 bytes');
  t.falsy((await agent.req('GET', '/v1/agent/services')).json.huge);
});

test.serial('http limits: service and node meta within Consul\'s limits, else 400 with Consul\'s message and nothing stored', async t => {
  const meta = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
  const cases: [Record<string, string>, string][] = [
    [meta(65), 'Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs'],
    [{ ['k'.repeat(129)]: 'v' }, `Invalid Service Meta: Couldn't load metadata pair ('${'k'.repeat(129)}', 'v'): Key is too long (limit: 128 characters)`],
    [{ 'a.b': 'v' }, "Invalid Service Meta: Couldn't load metadata pair ('a.b', 'v'): Key contains invalid characters"],
    [{ 'consul-x': 'v' }, "Invalid Service Meta: Couldn't load metadata pair ('consul-x', 'v'): Key prefix 'consul-' is reserved for internal use"],
    [{ k: 'v'.repeat(513) }, `Invalid Service Meta: Couldn't load metadata pair ('k', '${'v'.repeat(513)}'): Value is too long (limit: 512 characters)`],
  ];
  for (const [m, msg] of cases) {
    const r = await agent.req('PUT', '/v1/agent/service/register', { Name: 'metasvc', Meta: m });
    t.is(r.status, 400);
    t.is(r.text, msg);
  }
  t.falsy((await agent.req('GET', '/v1/agent/services')).json.metasvc, 'nothing stored');
  t.is((await agent.req('PUT', '/v1/agent/service/register', { Name: 'metasvc', Meta: meta(64) })).status, 200, '64 pairs are fine');
  const node = await agent.req('PUT', '/v1/catalog/register', { Node: 'metanode', Address: '10.0.0.1', NodeMeta: { 'consul-x': 'v' } });
  t.is(node.status, 400);
  t.is(node.text, "Invalid Node Meta: Couldn't load metadata pair ('consul-x', 'v'): Key prefix 'consul-' is reserved for internal use");
  t.is((await agent.req('GET', '/v1/catalog/node/metanode')).json, null, 'nothing stored');
});

test.serial('http limits: lone surrogates, a filter nested 10,000 deep, JSON past Go\'s depth and bad durations get 400 with a message', async t => {
  const cases: [string, string, string, RegExp][] = [
    ['PUT', '/v1/agent/service/register', '{"Name":"s\\ud800x"}', /^Request decode failed: invalid string "s\\ud800x": lone UTF-16 surrogate \(not valid Unicode\)$/],
    ['PUT', '/v1/txn', '[{"KV":{"Verb":"set","Key":"k\\udc00","Value":"YQ=="}}]', /lone UTF-16 surrogate/],
    ['PUT', '/v1/catalog/register', '{"Node":"n","Address":"1.2.3.4","NodeMeta":{"\\ud800":"x"}}', /lone UTF-16 surrogate/],
    ['PUT', '/v1/agent/service/register', '{"Name":"deep","Proxy":' + '['.repeat(10_001) + ']'.repeat(10_001) + '}', /^Request decode failed: exceeded max depth$/],
    ['PUT', '/v1/session/create', '{"TTL":"abc"}', /^Session TTL 'abc' invalid: time: invalid duration "abc"$/],
    ['PUT', '/v1/agent/check/register', '{"Name":"c","TTL":"1x"}', /^Request decode failed: time: invalid duration "1x"$/],
    ['GET', '/v1/catalog/services?index=1&wait=xx', '', /^Invalid wait time$/],
    ['GET', '/v1/catalog/services?index=1&wait=9999999999999h', '', /^Invalid wait time$/],
    ['PUT', '/v1/agent/check/register', '{"Name":"c","TTL":"9999999999999h"}', /^Request decode failed: time: invalid duration "9999999999999h"$/],
    ['PUT', '/v1/agent/check/register', '{"Name":"c","TTL":99999999999999999999999}', /^Request decode failed: json: cannot unmarshal number 99999999999999999999999 into Go struct field \.TTL of type time\.Duration$/],
    ['PUT', '/v1/agent/service/register', '{"Name":"w","Weights":{"Passing":100000}}', /^Invalid Weights: DNS Weight must be between 0 and 65535$/],
  ];
  for (const [method, path, body, re] of cases) {
    const r = await send(agent, method, path, body ? { body } : {});
    t.is(r.status, 400, `${method} ${path.slice(0, 40)}: ${r.text.slice(0, 200)}`);
    t.regex(r.text, re);
  }
  const deep = '('.repeat(10_000) + 'Service%20==%20%22x%22' + ')'.repeat(10_000);
  const f = await send(agent, 'GET', `/v1/agent/services?filter=${deep}`);
  t.is(f.status, 400);
  t.is(f.text, 'Failed to create boolean expression evaluator: 1:257: expression nested deeper than 256 levels');
  // A long flat chain is fine (no stack depth), and so is moderate nesting.
  const chain = Array.from({ length: 1500 }, () => 'Service == "x"').join(' or ');
  t.is((await send(agent, 'GET', `/v1/agent/services?filter=${encodeURIComponent(chain)}`)).status, 200);
  t.is((await send(agent, 'GET', `/v1/agent/services?filter=${'('.repeat(200)}Service%20==%20%22x%22${')'.repeat(200)}`)).status, 200);
  t.is((await agent.req('GET', '/v1/status/leader')).status, 200);
});

test.serial('http limits: node\'s own parser errors are answered with a body saying what was wrong', async t => {
  const huge = await rawExchange(agent.httpPort, `GET /v1/agent/self HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
  t.regex(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  t.true(huge.endsWith('\r\n\r\nRequest Header Fields Too Large: the request line and headers exceed 65536 bytes\n'), huge.slice(0, 300));
  const bad = await rawExchange(agent.httpPort, 'GET /v1/agent/self HTTP/1.1\r\nBad Header\r\n\r\n');
  t.regex(bad, /^HTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\nBad Request: .+\n$/);
});

test.serial('http limits: a client over http_max_conns_per_client gets Consul\'s 429 and is closed; other clients are served', async t => {
  const held: Socket[] = [];
  t.teardown(() => { for (const s of held) s.destroy(); });
  for (let i = 0; i < 20; i++) {
    const s = connect({ host: '127.0.0.1', port: small.httpPort });
    s.on('error', () => {});
    await new Promise(r => s.once('connect', r));
    held.push(s);
  }
  await new Promise(r => setTimeout(r, 200));
  t.is(await rawExchange(small.httpPort, 'GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n'), CONSUL_429);
  const other = await send(small, 'PUT', '/v1/kv/other-client', { body: 'ok', from: '127.0.0.2' });
  t.is(other.status, 200, 'another client address is served, writes included');
  for (const s of held) s.destroy();
  t.is(await eventually(async () => (await send(small, 'GET', '/v1/status/leader')).status, 200), 200, 'served again once its connections are closed');
  t.regex(small.log(), /client over the HTTP connection limit: connection refused with 429 client=127\.0\.0\.1 limit=20/);
});

test.serial('http limits: a body trickling a byte at a time and slow headers are cut off at their deadlines; nothing stored', async t => {
  const started = Date.now();
  const trickle = new Promise<string>(resolve => {
    const s = connect({ host: '127.0.0.1', port: small.httpPort, localAddress: '127.0.0.3' });
    let out = '';
    s.on('data', d => { out += String(d); });
    s.on('error', () => {});
    const tick = setInterval(() => { if (!s.destroyed) s.write('a'); }, 1000);
    s.on('close', () => { clearInterval(tick); resolve(out); });
    s.write('PUT /v1/kv/trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
    setTimeout(() => s.destroy(), 15_000).unref();
  });
  const slowHeaders = rawExchange(small.httpPort, 'GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n', '127.0.0.4');
  const [body, headers] = await Promise.all([trickle, slowHeaders]);
  t.true(Date.now() - started < 12_000, 'cut off by the deadline, not by the test');
  t.regex(body, /^HTTP\/1\.1 408 /);
  t.regex(headers, /^HTTP\/1\.1 408 Request Timeout\r\n[^]*\r\n\r\nRequest Timeout: .+\n$/);
  t.is((await small.req('GET', '/v1/kv/trickle')).status, 404);
  // The request deadline covers receiving the request, not a blocking query's wait (3 s deadline, 5 s wait).
  await small.req('PUT', '/v1/kv/long-watch', 'v');
  const i = (await small.req('GET', '/v1/kv/long-watch')).headers.get('x-consul-index');
  const t0 = Date.now();
  const w = await send(small, 'GET', `/v1/kv/long-watch?index=${i}&wait=5s`);
  t.is(w.status, 200);
  t.true(Date.now() - t0 >= 4900, 'the watch ran its whole wait');
});

test.serial('http limits: blocking queries past the per-client cap get 429; other clients still block and write', async t => {
  await small.req('PUT', '/v1/kv/watched', 'v1');
  const idx = (await small.req('GET', '/v1/kv/watched')).headers.get('x-consul-index');
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const parked = Array.from({ length: 5 }, () => fetch(`${small.http}/v1/kv/watched?index=${idx}&wait=30s`, { signal: ac.signal }).catch(() => null));
  await new Promise(r => setTimeout(r, 500));
  const over = await send(small, 'GET', `/v1/kv/watched?index=${idx}&wait=30s`);
  t.is(over.status, 429);
  t.is(over.text, 'Too many concurrent blocking queries from this client (limit 5); retry later');
  const overCatalog = await send(small, 'GET', '/v1/catalog/services?index=999999&wait=30s');
  t.is(overCatalog.status, 429, 'every blocking endpoint shares the cap');
  const otherWatch = send(small, 'GET', `/v1/kv/watched?index=${idx}&wait=30s`, { from: '127.0.0.2' });
  await new Promise(r => setTimeout(r, 300));
  t.is((await send(small, 'PUT', '/v1/kv/watched', { body: 'v2', from: '127.0.0.2' })).status, 200);
  t.is((await otherWatch).status, 200, 'the other client\'s watch woke');
  const woken = await Promise.all(parked);
  t.true(woken.every(r => r?.status === 200), 'the parked watches woke on the write');
  t.is(await eventually(async () => (await send(small, 'GET', `/v1/kv/watched?index=${idx}&wait=1s`)).status, 200), 200, 'slots are given back');
  t.regex(small.log(), /client over the blocking-query limit: answered 429 client=127\.0\.0\.1 limit=5/);
});

test.serial('http: legacy GET writes are off by default (405); cross-site writes get 403 whatever the setting', async t => {
  await agent.req('PUT', '/v1/agent/service/register', { Name: 'xsite' });
  const g = await agent.req('GET', '/v1/agent/service/deregister/xsite');
  t.is(g.status, 405);
  t.is(g.headers.get('allow'), 'OPTIONS,PUT');
  // With the compatibility on, a browser's cross-site GET still cannot deregister.
  await small.req('PUT', '/v1/agent/service/register', { Name: 'xsite' });
  const cross = await send(small, 'GET', '/v1/agent/service/deregister/xsite', { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' } });
  t.is(cross.status, 403);
  t.is(cross.text, 'Cross-site write refused: this request comes from a web page on another site (Sec-Fetch-Site: cross-site)');
  const origin = await send(agent, 'PUT', '/v1/agent/service/deregister/xsite', { headers: { Origin: 'http://evil.example' } });
  t.is(origin.status, 403);
  t.is(origin.text, 'Cross-site write refused: this request comes from a web page on another origin (Origin: http://evil.example)');
  t.truthy((await small.req('GET', '/v1/agent/services')).json.xsite, 'still registered');
  t.truthy((await agent.req('GET', '/v1/agent/services')).json.xsite, 'still registered');
  // Reads from other sites, same-origin writes and non-browser clients are unaffected.
  t.is((await send(agent, 'GET', '/v1/agent/services', { headers: { 'Sec-Fetch-Site': 'cross-site' } })).status, 200);
  t.is((await send(agent, 'PUT', '/v1/agent/service/deregister/xsite', { headers: { Origin: `http://127.0.0.1:${agent.httpPort}`, 'Sec-Fetch-Site': 'same-origin' } })).status, 200);
  t.is((await small.req('GET', '/v1/agent/service/deregister/xsite')).status, 200, 'python-consul\'s GET form works with -legacy-get-compat');
});

test.serial('agent: started with a low open-file soft limit, runs with soft = hard and logs it', async t => {
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]!;
  const a = await startAgent(t, { shell: 'ulimit -Sn 256' });
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${a.proc.pid}/limits`, 'utf8'))!;
  t.is(m[2], hard);
  t.is(m[1], hard, 'soft limit raised from 256 to the hard limit');
  await waitFor(() => /Roster agent running version/.test(a.log()), 10_000, { what: 'the start-up line' });
  t.regex(a.log(), new RegExp(`open_files=${hard}/${hard}`));
});

test.serial('http limits: all clients together stop at the open-file limit less a reserve; the agent keeps answering', async t => {
  // Soft = hard = 1,400 open files: HTTP clients get 1,400 − 1,024 = 376 connections in all.
  const a = await startAgent(t, { shell: 'ulimit -n 1400' });
  await waitFor(() => /Roster agent running version/.test(a.log()), 10_000, { what: 'the start-up line' });
  t.regex(a.log(), /open_files=1400\/1400 http_max_conns=376/);
  const held: Socket[] = [];
  t.teardown(() => { for (const s of held) s.destroy(); });
  await Promise.all(Array.from({ length: 400 }, (_, i) => new Promise<void>(res => {
    const s = connect({ host: '127.0.0.1', port: a.httpPort, localAddress: i % 2 ? '127.0.0.2' : '127.0.0.3' });
    s.on('error', () => res());
    s.on('connect', () => { held.push(s); res(); });
  })));
  await new Promise(r => setTimeout(r, 1000));
  const open = held.filter(s => !s.destroyed && !s.readableEnded);
  t.true(open.length <= 376 && open.length >= 360, `${open.length} connections kept`);
  // A held connection still gets a write through: Redis and the rest kept their descriptors.
  const reply = await new Promise<string>(resolve => {
    const s = open[0]!;
    let out = '';
    s.on('data', d => { out += String(d); if (out.includes('\r\n\r\n')) resolve(out); });
    s.write('PUT /v1/kv/at-the-limit HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok');
  });
  t.regex(reply, /^HTTP\/1\.1 200 OK/);
  t.regex(a.log(), /HTTP connections at the agent's limit \(open files less a reserve\): new connection closed/);
});

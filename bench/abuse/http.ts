/**
 * The HTTP side of the abuse campaign (issue 11): attacks on a real `roster agent -dev` on loopback,
 * each bounded in count and time, and one markdown table of what they did. Builds nothing: run
 * `make build` first. `ROSTER_BIN=/path/to/bin/roster` points it at another build (e.g. the base
 * branch's) to compare. The agent starts with an open-file soft limit of 1,024 (`ulimit -Sn 1024`),
 * as a default shell gives it; the launcher is expected to raise it.
 *
 *   node bench/abuse/http.ts        (or bench/abuse/run.sh http)
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { startAgent, ROSTER, type TestAgent } from '../../integration/helpers/agent.ts';

type Row = [attack: string, measured: string, verdict: string];
const rows: Row[] = [];
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const ok = (b: boolean) => (b ? '**held**' : '**FAILED**');

function send(a: TestAgent, method: string, path: string, opts: { body?: Buffer | string; chunks?: number; headers?: Record<string, string>; from?: string; timeoutMs?: number } = {}): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  return new Promise(resolve => {
    const done = (status: number, text: string) => resolve({ status, text, ms: performance.now() - t0 });
    const req = request({ host: '127.0.0.1', port: a.httpPort, method, path, localAddress: opts.from, headers: opts.headers, agent: false, timeout: opts.timeoutMs ?? 10_000 }, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', d => { if (text.length < 4096) text += d; });
      res.on('end', () => done(res.statusCode!, text));
      res.on('error', err => done(-1, String(err)));
    });
    req.on('timeout', () => { req.destroy(); done(-1, 'timeout'); });
    req.on('error', err => done(-1, (err as NodeJS.ErrnoException).code ?? String(err)));
    if (opts.chunks) {
      let i = 0;
      const chunk = Buffer.alloc(64 * 1024, 120);
      const next = () => { if (i++ < opts.chunks! && !req.destroyed) req.write(chunk, next); else req.end(); };
      next();
    } else req.end(opts.body);
  });
}

/** Bytes stored under a KV key (0 when absent). */
async function stored(a: TestAgent, key: string): Promise<number> {
  const r = await fetch(`${a.http}/v1/kv/${key}?raw`);
  return r.status === 200 ? (await r.arrayBuffer()).byteLength : 0;
}

const rssMb = (a: TestAgent) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${a.proc.pid}/status`, 'utf8'))![1]) / 1024;
const fds = (a: TestAgent) => readdirSync(`/proc/${a.proc.pid}/fd`).length;
const short = (s: string) => JSON.stringify(s.replace(/\s+/g, ' ').trim().slice(0, 70));

/** Sends `head`, then one byte of `tail` every `everyMs`, until the server closes or `boundMs` passes. Seconds until closed, or null. */
function trickle(a: TestAgent, head: string, tail: string, everyMs: number, boundMs: number, from: string): Promise<{ closedAfterS: number | null; reply: string }> {
  return new Promise(resolve => {
    const t0 = Date.now();
    const s = connect({ host: '127.0.0.1', port: a.httpPort, localAddress: from });
    let reply = '';
    let i = 0;
    s.on('data', d => { reply += String(d); });
    s.on('error', () => {});
    s.write(head);
    const tick = setInterval(() => { if (i < tail.length && !s.destroyed) s.write(tail[i++]!); }, everyMs);
    const bound = setTimeout(() => { s.destroy(); }, boundMs);
    let closedByUs = false;
    bound.unref();
    s.on('close', () => {
      clearInterval(tick); clearTimeout(bound);
      closedByUs = Date.now() - t0 >= boundMs - 50;
      resolve({ closedAfterS: closedByUs ? null : (Date.now() - t0) / 1000, reply: reply.split('\r\n')[0] ?? '' });
    });
  });
}

const agent = await startAgent(null, { shell: 'ulimit -Sn 1024', args: ['-log-level', 'warn'] });
// The second agent also lifts the per-client connection limit, to show the blocking-query cap on its own.
const compat = await startAgent(null, { args: ['-log-level', 'warn', '-legacy-get-compat=true', '-hcl', 'limits { http_max_conns_per_client = 0 }'] });
console.log(`agents up (launcher ${ROSTER}); attacks follow`);
try {
  // Slow clients start first and run alongside the rest (bounded at 45 s).
  const slowBody = trickle(agent, 'PUT /v1/kv/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'x'.repeat(100), 10_000, 45_000, '127.0.0.5');
  const slowHead = trickle(agent, 'GET /v1/status/leader HTTP/1.1\r\n', 'X-Slow: ' + 'y'.repeat(50), 5_000, 45_000, '127.0.0.6');

  // 1. Oversized KV values.
  for (const [label, opts] of [['600 KB value (Content-Length)', { body: Buffer.alloc(600_000, 97) }], ['5 MB value (chunked)', { chunks: 80 }]] as const) {
    const key = `big-${label.startsWith("600") ? "600k" : "5m"}`;
    const r = await send(agent, 'PUT', `/v1/kv/${key}`, opts);
    const n = await stored(agent, key);
    rows.push([`KV PUT of a ${label}`, `answer ${r.status}, ${n.toLocaleString('en')} bytes stored`, ok(r.status === 413 && n === 0)]);
  }

  // 2. Limits Consul enforces.
  const meta = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
  const m = await send(agent, 'PUT', '/v1/agent/service/register', { body: JSON.stringify({ Name: 'meta65', Meta: meta }) });
  const metaStored = !!(await agent.req('GET', '/v1/agent/services')).json?.meta65;
  rows.push(['service with 65 meta pairs', `answer ${m.status}, ${metaStored ? 'stored' : 'not stored'}`, ok(m.status === 400 && !metaStored)]);
  const txn = await send(agent, 'PUT', '/v1/txn', { body: JSON.stringify(Array.from({ length: 65 }, (_, i) => ({ KV: { Verb: 'set', Key: `t${i}`, Value: 'YQ==' } }))) });
  rows.push(['txn with 65 operations', `answer ${txn.status} ${short(txn.text)}`, ok(txn.status === 413)]);
  const sur = await send(agent, 'PUT', '/v1/agent/service/register', { body: '{"Name":"s\\ud800"}' });
  rows.push(['service name with a lone surrogate', `answer ${sur.status} ${short(sur.text)}`, ok(sur.status === 400)]);
  const deep = await send(agent, 'GET', `/v1/agent/services?filter=${'('.repeat(10_000)}Service%20==%20%22x%22${')'.repeat(10_000)}`);
  rows.push(['`?filter` nested 10,000 deep', `answer ${deep.status} ${short(deep.text)}`, ok(deep.status === 400 && deep.text.length > 0)]);
  const ttl = await send(agent, 'PUT', '/v1/session/create', { body: '{"TTL":"abc"}' });
  rows.push(['session TTL "abc"', `answer ${ttl.status} ${short(ttl.text)}`, ok(ttl.status === 400)]);
  const big = await send(agent, 'GET', '/v1/agent/self', { headers: { 'X-Big': 'a'.repeat(70_000) } });
  rows.push(['70 KB request header', `answer ${big.status}, body ${short(big.text)}`, ok(big.status === 431 && big.text.length > 0)]);

  // 3. Browser cross-site writes.
  await compat.req('PUT', '/v1/agent/service/register', { Name: 'victim' });
  await agent.req('PUT', '/v1/agent/service/register', { Name: 'victim' });
  const g = await send(agent, 'GET', '/v1/agent/service/deregister/victim', { headers: { 'Sec-Fetch-Site': 'cross-site' } });
  const left1 = !!(await agent.req('GET', '/v1/agent/services')).json?.victim;
  rows.push(['cross-site `GET /v1/agent/service/deregister/victim`, default settings', `answer ${g.status}, service ${left1 ? 'kept' : 'deregistered'}`, ok(left1)]);
  const g2 = await send(compat, 'GET', '/v1/agent/service/deregister/victim', { headers: { 'Sec-Fetch-Site': 'cross-site' } });
  const left2 = !!(await compat.req('GET', '/v1/agent/services')).json?.victim;
  rows.push(['the same with `-legacy-get-compat=true`', `answer ${g2.status}, service ${left2 ? 'kept' : 'deregistered'}`, ok(left2)]);

  // 4. Connection flood from one address: 1,000 connections held open (5 s bound to open them).
  const held: Socket[] = [];
  let refused = 0;
  const opened = await Promise.race([
    Promise.all(Array.from({ length: 1000 }, () => new Promise<void>(res => {
      const s = connect({ host: '127.0.0.1', port: agent.httpPort });
      s.on('data', d => { if (String(d).startsWith('HTTP/1.1 429')) refused++; });
      s.on('error', () => res());
      s.on('connect', () => { held.push(s); res(); });
    }))).then(() => true),
    sleep(5000).then(() => false),
  ]);
  await sleep(1000);
  const open = held.filter(s => !s.destroyed && !s.readableEnded).length;
  const w1 = await send(agent, 'PUT', '/v1/kv/during-flood', { body: 'x', from: '127.0.0.2' });
  rows.push(['1,000 connections from one address', `${open} kept open, ${refused} answered 429${opened ? '' : ' (open bound hit)'}; a write from another address: ${w1.status} in ${w1.ms.toFixed(0)} ms`, ok(open <= 200 && w1.status === 200)]);
  for (const s of held) s.destroy();
  await sleep(500);

  // 5. Blocking-query floods from one address: 2,000 watches (wait 20 s; over when measured), with the default
  // limits and on the agent without a per-client connection limit.
  for (const [a, label] of [[agent, 'default limits; soft open-file limit 1,024 at start'], [compat, '`http_max_conns_per_client = 0`']] as const) {
    await a.req('PUT', '/v1/kv/watched', 'v1');
    const idx = (await a.req('GET', '/v1/kv/watched')).headers.get('x-consul-index');
    const rss0 = rssMb(a);
    const results: number[] = [];
    const watches = Array.from({ length: 2000 }, () => send(a, 'GET', `/v1/kv/watched?index=${idx}&wait=20s`, { timeoutMs: 25_000 }).then(r => { results.push(r.status); return r; }));
    await sleep(3000);
    const parked = 2000 - results.length;
    const fdCount = fds(a);
    const rss1 = rssMb(a);
    const w2 = await send(a, 'PUT', '/v1/kv/watched', { body: 'v2', from: '127.0.0.2', timeoutMs: 10_000 });
    const r2 = await send(a, 'GET', '/v1/status/leader', { from: '127.0.0.3', timeoutMs: 10_000 });
    await Promise.race([Promise.all(watches), sleep(25_000)]);
    const by = (st: number) => results.filter(x => x === st).length;
    rows.push([`2,000 blocking queries from one address (${label})`, `${parked} parked at once, ${by(429)} answered 429, ${by(-1)} failed to connect/reset; agent fds ${fdCount}, RSS ${rss0.toFixed(0)} → ${rss1.toFixed(0)} MB; a write from another address: ${w2.status} in ${w2.ms.toFixed(0)} ms, a read ${r2.status}`, ok(w2.status === 200 && r2.status === 200 && parked <= 200)]);
  }

  // 6. The launcher's open-file limit.
  const lim = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${agent.proc.pid}/limits`, 'utf8'))!;
  rows.push(['open-file limit of an agent started with `ulimit -Sn 1024`', `soft ${lim[1]}, hard ${lim[2]}`, ok(lim[1] === lim[2])]);

  // 7. The slow clients.
  const [b, h] = await Promise.all([slowBody, slowHead]);
  rows.push(['body trickling 1 byte every 10 s', b.closedAfterS === null ? 'still open at the 45 s bound' : `cut off after ${b.closedAfterS.toFixed(1)} s (${b.reply})`, ok(b.closedAfterS !== null && b.closedAfterS <= 35)]);
  rows.push(['headers trickling 1 byte every 5 s', h.closedAfterS === null ? 'still open at the 45 s bound' : `cut off after ${h.closedAfterS.toFixed(1)} s (${h.reply})`, ok(h.closedAfterS !== null && h.closedAfterS <= 15)]);
  const alive = await send(agent, 'GET', '/v1/status/leader', { from: '127.0.0.7' });
  rows.push(['agent after all of the above', `answers ${alive.status}; RSS ${rssMb(agent).toFixed(0)} MB`, ok(alive.status === 200)]);
} finally {
  await agent.stop();
  await compat.stop();
}

console.log('\n| attack | measured | verdict |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

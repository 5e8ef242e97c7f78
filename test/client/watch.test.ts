/** Discovery and Registration against an in-process fake agent (node:http on loopback): the request sequence they send. */
import test from 'ava';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AgentApi } from '../../src/client/api.ts';
import { Discovery } from '../../src/client/discovery.ts';
import { Registration } from '../../src/client/registration.ts';
import { fakeClock } from '../helpers/clock.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

async function fakeAgent(t: { teardown(fn: () => unknown): void }, handler: Handler): Promise<{ addr: string; log: string[] }> {
  const log: string[] = [];
  const s = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    log.push(`${req.method} ${url.pathname}${url.search}`);
    handler(req, res, url);
  });
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r));
  t.teardown(() => { s.closeAllConnections(); s.close(); });
  return { addr: `127.0.0.1:${(s.address() as { port: number }).port}`, log };
}

const entry = (id: string, port: number) => ({ Node: { Node: 'n1', Address: '10.0.0.1' }, Service: { ID: id, Service: 'web', Address: '', Port: port, Tags: [], Meta: {} }, Checks: [] });

test.serial('watch: blocking queries carry the last index; an index going backwards resets to a plain read', async t => {
  const clock = fakeClock(t);
  const answers = [{ index: 10, list: [entry('a', 1)] }, { index: 12, list: [entry('a', 1), entry('b', 2)] }, { index: 5, list: [entry('c', 3)] }];
  let n = 0;
  const agent = await fakeAgent(t, (_req, res) => {
    const a = answers[Math.min(n++, answers.length - 1)]!;
    if (n > answers.length + 3) { setTimeout(() => res.end('[]'), 5000); return; }
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-consul-index', String(a.index));
    res.end(JSON.stringify(a.list));
  });
  const d = new Discovery('web', { api: new AgentApi(agent.addr) }, { waitMs: 1000, dnsFallback: false });
  t.teardown(() => d.close());
  const seen: string[] = [];
  d.on('change', l => seen.push(l.map((i: { id: string }) => i.id).join(',')));
  await d.ready();
  // Within 700 fake ms (the blocking reads answer at once): the plain read, two blocking ones, and the reset.
  await clock.until(() => agent.log.length >= 4 && seen.length >= 3, 700, () => `4 reads (${agent.log.join(' | ')})`);
  const q = agent.log.map(l => l.replace(/^GET \/v1\/health\/service\/web/, ''));
  // 1st plain; 2nd blocks on 10; 3rd blocks on 12 and gets 5 < 12 → the next read is plain again.
  t.is(q[0], '?passing');
  t.is(q[1], '?passing&index=10&wait=1000ms');
  t.is(q[2], '?passing&index=12&wait=1000ms');
  t.is(q[3], '?passing', q.join(' | '));
  t.deepEqual(seen.slice(0, 3), ['a', 'a,b', 'c']);
});

test('watch: ?tag and passingOnly=false are passed through', async t => {
  const agent = await fakeAgent(t, (_req, res) => { res.setHeader('content-type', 'application/json'); res.setHeader('x-consul-index', '3'); res.end('[]'); });
  const d = new Discovery('web', { api: new AgentApi(agent.addr) }, { tag: 'v1', passingOnly: false, waitMs: 300, dnsFallback: false });
  t.teardown(() => d.close());
  await d.ready();
  t.is(agent.log[0], 'GET /v1/health/service/web?tag=v1');
  await t.throwsAsync(d.pick(), { message: 'no healthy instances of service "web"' });
});

test.serial('registration: TTL heartbeats every TTL/3; a 404 on a heartbeat re-registers', async t => {
  const { advance } = fakeClock(t); // 1 ms steps, real I/O (the fake agent's HTTP) in between
  let lost = false;
  const agent = await fakeAgent(t, (req, res, url) => {
    if (url.pathname.startsWith('/v1/agent/check/pass/') && lost) { lost = false; res.statusCode = 404; res.end('Unknown check ID'); return; }
    res.end();
  });
  const reg = new Registration(new AgentApi(agent.addr), { name: 'web', id: 'w1', port: 80, check: { ttl: '600ms' } });
  t.teardown(() => reg.abandon());
  await reg.start();
  t.deepEqual(agent.log.slice(0, 2), ['PUT /v1/agent/service/register', 'PUT /v1/agent/check/pass/service%3Aw1']);
  await advance(700);
  const beats = agent.log.filter(l => l.startsWith('PUT /v1/agent/check/pass/')).length;
  t.true(beats >= 3 && beats <= 5, `${beats} heartbeats in 700 ms with TTL 600 ms`);
  t.is(beats, 4, 'the first at registration, then every 200 ms ±10 %: 3 more in 700 ms');
  lost = true;
  await advance(400);
  t.is(reg.registrations, 2);
  t.is(agent.log.filter(l => l === 'PUT /v1/agent/service/register').length, 2);
});

test('registration: a probe failure reports fail with the reason as the note', async t => {
  const agent = await fakeAgent(t, (_req, res) => res.end());
  const reg = new Registration(new AgentApi(agent.addr), { name: 'web', check: { ttl: '10s' }, probe: async () => 'db down' });
  t.teardown(() => reg.abandon());
  await reg.start();
  t.is(agent.log[1], 'PUT /v1/agent/check/fail/service%3Aweb?note=db+down');
});

test('registration: close() deregisters (404 tolerated) and is idempotent', async t => {
  const agent = await fakeAgent(t, (req, res, url) => { if (url.pathname.includes('deregister')) res.statusCode = 404; res.end(); });
  const reg = new Registration(new AgentApi(agent.addr), { name: 'web', port: 1 });
  await reg.start();
  await reg.close();
  await reg.close();
  t.deepEqual(agent.log, ['PUT /v1/agent/service/register', 'PUT /v1/agent/service/deregister/web']);
});

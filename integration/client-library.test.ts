/**
 * Integration: the client library against a real agent — register + heartbeat, TTL expiry when
 * heartbeats stop, re-registration after the agent lost its data, discover/pick/fetch across real
 * backends with one killed, the DNS SRV fallback, deregisterOnExit, an agent-run HTTP check.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { startAgent, ROOT, type TestAgent } from './helpers/agent.ts';
import { connect } from '../src/index.ts';

import { sleep, until as untilMs } from './helpers/wait.ts';

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 8000) => untilMs(what, fn, timeoutMs);

async function backend(t: { teardown(fn: () => unknown): void }, name: string): Promise<{ port: number; server: Server; kill(): Promise<void> }> {
  const server = createServer((req, res) => { res.end(`${name} ${req.url}`); });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const kill = () => new Promise<void>(r => { server.closeAllConnections(); server.close(() => r()); });
  t.teardown(() => { if (server.listening) return kill(); });
  return { port: (server.address() as { port: number }).port, server, kill };
}

/** An agent on a given HTTP port with a fresh data dir (as if the agent had been replaced). */
async function agentOnPort(t: { teardown(fn: () => unknown): void }, httpPort: number): Promise<void> {
  await startAgent(t, { httpPort, node: `n-${httpPort}` });
}

async function health(a: TestAgent, svc: string): Promise<{ id: string; status: string[] }[]> {
  const r = await a.req('GET', `/v1/health/service/${svc}`);
  return (r.json as { Service: { ID: string }; Checks: { Status: string; ServiceID: string }[] }[]).map(e => ({ id: e.Service.ID, status: e.Checks.filter(c => c.ServiceID).map(c => c.Status) }));
}

test('client: register → passing in /v1/health and DNS SRV; heartbeats outlive the TTL; stopping them turns it critical', async t => {
  const a = await startAgent(t);
  const c = connect({ httpAddr: a.http });
  t.teardown(() => c.close());
  const reg = await c.register({ name: 'web', id: 'web-1', address: '127.0.0.1', port: 8123, tags: ['v1'], meta: { team: 'a' }, check: { ttl: '1500ms' } });
  t.deepEqual(await health(a, 'web'), [{ id: 'web-1', status: ['passing'] }]);
  const srv = execFileSync('dig', ['@127.0.0.1', '-p', String(a.dnsPort), 'v1.web.service.consul', 'SRV', '+short']).toString();
  t.regex(srv, /^1 1 8123 /m);
  await sleep(3000); // two TTLs: only the heartbeats keep it passing
  t.deepEqual(await health(a, 'web'), [{ id: 'web-1', status: ['passing'] }]);
  reg.abandon();
  const t0 = Date.now();
  await until('critical', async () => (await health(a, 'web'))[0]?.status[0] === 'critical', 5000);
  t.true(Date.now() - t0 < 3000);
  t.is((await a.req('GET', '/v1/health/service/web?passing')).json.length, 0);
});

test('client: reg.close() deregisters; client.close() releases the rest', async t => {
  const a = await startAgent(t);
  const c = connect({ httpAddr: a.http });
  const r1 = await c.register({ name: 'svc', id: 's1', port: 1, check: { ttl: '10s' } });
  await c.register({ name: 'svc', id: 's2', port: 2 });
  t.is((await health(a, 'svc')).length, 2);
  await r1.close();
  t.deepEqual((await health(a, 'svc')).map(h => h.id), ['s2']);
  await c.close();
  t.is((await health(a, 'svc')).length, 0);
});

test('client: the agent restarts with a fresh data dir (lost data) → the library re-registers', async t => {
  const a1 = await startAgent(t);
  const c = connect({ httpAddr: a1.http });
  t.teardown(() => c.close());
  const reg = await c.register({ name: 'api', id: 'api-1', address: '127.0.0.1', port: 9000, check: { ttl: '1500ms' } });
  t.is(reg.registrations, 1);
  await a1.stop();
  await sleep(300);
  await agentOnPort(t, a1.httpPort);
  await until('re-registered', async () => (await health(a1, 'api'))[0]?.status[0] === 'passing', 8000);
  t.true(reg.registrations >= 2);
});

test('client: a non-TTL registration is verified and re-registered after the agent lost it', async t => {
  const a = await startAgent(t);
  const c = connect({ httpAddr: a.http });
  t.teardown(() => c.close());
  const reg = await c.register({ name: 'plain', port: 1, verifyIntervalMs: 300 });
  await a.req('PUT', '/v1/agent/service/deregister/plain');
  await until('re-registered', async () => (await health(a, 'plain')).length === 1, 3000);
  t.is(reg.registrations, 2);
});

test('client: discover + pick across 3 backends; one killed → no failed client.fetch', async t => {
  const a = await startAgent(t);
  const bs = [await backend(t, 'b0'), await backend(t, 'b1'), await backend(t, 'b2')];
  for (const [i, b] of bs.entries()) await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: `web-${i}`, Address: '127.0.0.1', Port: b.port });
  const c = connect({ httpAddr: a.http });
  t.teardown(() => c.close());
  const web = c.discover('web', { strategy: 'round-robin' });
  const picks = new Set<number>();
  for (let i = 0; i < 6; i++) picks.add((await web.pick()).port);
  t.deepEqual([...picks].sort(), bs.map(b => b.port).sort());
  for (let i = 0; i < 30; i++) t.is((await c.fetch('web', '/warm')).status, 200);
  await bs[1]!.kill();
  let failures = 0;
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    try {
      const r = await c.fetch('web', `/r${i}`);
      seen.add((await r.text()).split(' ')[0]!);
      if (r.status !== 200) failures++;
    } catch { failures++; }
  }
  t.is(failures, 0);
  t.deepEqual([...seen].sort(), ['b0', 'b2']);
  // The catalog follows a deregistration at once.
  await a.req('PUT', '/v1/agent/service/deregister/web-1');
  await until('list shrinks', async () => web.instances().length === 2, 2000);
  web.close();
});

test('client: a check turning critical removes the instance from discovery within a second', async t => {
  const a = await startAgent(t);
  const c = connect({ httpAddr: a.http });
  t.teardown(() => c.close());
  await c.register({ name: 'db', id: 'db-1', port: 1, check: { ttl: '30s' } });
  await c.register({ name: 'db', id: 'db-2', port: 2, check: { ttl: '30s' } });
  const d = c.discover('db');
  await d.ready();
  t.is(d.instances().length, 2);
  const t0 = Date.now();
  await a.req('PUT', '/v1/agent/check/fail/service:db-2');
  await until('db-2 dropped', async () => d.instances().length === 1, 1000);
  t.true(Date.now() - t0 < 1000);
  t.is(d.instances()[0]!.id, 'db-1');
});

test('client: DNS SRV fallback when the HTTP API is unreachable', async t => {
  const a = await startAgent(t);
  const b = await backend(t, 'dnsb');
  await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-d', Address: '127.0.0.1', Port: b.port });
  const c = connect({ httpAddr: '127.0.0.1:1', dnsAddr: `127.0.0.1:${a.dnsPort}` });
  t.teardown(() => c.close());
  const d = c.discover('web');
  const inst = await d.pick();
  t.is(inst.port, b.port);
  t.is(inst.address, '127.0.0.1');
  t.is(inst.source, 'dns');
  const r = await c.fetch('web', '/via-dns');
  t.is(await r.text(), 'dnsb /via-dns');
});

test('client: deregisterOnExit deregisters on SIGTERM and the process still exits', async t => {
  const a = await startAgent(t);
  const script = `import { connect } from ${JSON.stringify(`${ROOT}/src/index.ts`)};
const c = connect({ httpAddr: ${JSON.stringify(a.http)} });
await c.register({ name: 'exiter', port: 5, check: { ttl: '10s' }, deregisterOnExit: true });
console.log('ready');
setInterval(() => {}, 1000);`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>(r => p.stdout!.on('data', d => { if (String(d).includes('ready')) r(); }));
  t.is((await health(a, 'exiter')).length, 1);
  const exit = new Promise<NodeJS.Signals | null>(r => p.once('exit', (_c, s) => r(s)));
  p.kill('SIGTERM');
  t.is(await exit, 'SIGTERM');
  t.is((await health(a, 'exiter')).length, 0);
});

test('client: an HTTP check run by the agent turns the registration passing', async t => {
  const a = await startAgent(t);
  const b = await backend(t, 'hc');
  const c = connect({ httpAddr: a.http });
  t.teardown(() => c.close());
  await c.register({ name: 'hc', port: b.port, address: '127.0.0.1', check: { http: `http://127.0.0.1:${b.port}/health`, interval: '1s' } });
  await until('passing', async () => (await health(a, 'hc'))[0]?.status[0] === 'passing', 5000);
  await b.kill();
  await until('critical', async () => (await health(a, 'hc'))[0]?.status[0] === 'critical', 5000);
  t.pass();
});

/**
 * One check target must not hurt the others (issue 11 item 9): targets that never answer hold no
 * slot healthy checks need, and a check whose runs are overdue is marked critical, not left "passing".
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket, type AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, ROSTER } from './helpers/agent.ts';
import { waitFor } from '../test/checks/helpers.ts';

async function listen<T extends Server | TcpServer>(s: T): Promise<number> {
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

for (const conc of [50, 2]) test(`checks-isolation: 60 HTTP targets that never answer (10 s timeout) do not delay 20 healthy 1 s checks (-checks-concurrency ${conc})`, async t => {
  // Never answers: accepts the connection and holds it (HTTP checks wait for headers until their timeout).
  const held: Socket[] = [];
  const black = createTcpServer(s => { held.push(s); s.on('error', () => {}); });
  const blackPort = await listen(black);
  const hits = new Map<string, number[]>();
  const healthy = createServer((req, res) => { const k = req.url!; (hits.get(k) ?? hits.set(k, []).get(k)!).push(Date.now()); res.end('ok'); });
  const healthyPort = await listen(healthy);
  t.teardown(() => { for (const s of held) s.destroy(); black.close(); healthy.closeAllConnections(); healthy.close(); });

  const a = await startAgent(t, { args: ['-checks-concurrency', String(conc)] });
  for (let i = 0; i < 60; i++) {
    const r = await a.req('PUT', '/v1/agent/check/register', { ID: `slow${i}`, Name: `slow${i}`, HTTP: `http://127.0.0.1:${blackPort}/slow${i}`, Interval: '1s', Timeout: '10s' });
    t.is(r.status, 200, r.text);
  }
  for (let i = 0; i < 20; i++) {
    const r = await a.req('PUT', '/v1/agent/check/register', { ID: `ok${i}`, Name: `ok${i}`, HTTP: `http://127.0.0.1:${healthyPort}/ok${i}`, Interval: '1s', Timeout: '10s' });
    t.is(r.status, 200, r.text);
  }
  // The first runs are staggered within one interval; measure a 10 s window after 3 s.
  await new Promise(r => setTimeout(r, 3000));
  const from = Date.now();
  await new Promise(r => setTimeout(r, 10_000));
  const to = Date.now();
  let total = 0, worstGap = 0;
  for (let i = 0; i < 20; i++) {
    const ts = (hits.get(`/ok${i}`) ?? []).filter(x => x >= from - 1500 && x <= to);
    total += ts.filter(x => x >= from).length;
    for (let j = 1; j < ts.length; j++) worstGap = Math.max(worstGap, ts[j]! - ts[j - 1]!);
  }
  t.log(`healthy runs in 10 s: ${total} (ideal 200), worst gap between runs of one check: ${worstGap} ms; slow connections held: ${held.length}`);
  t.true(total >= 180, `healthy runs: ${total}`);
  t.true(worstGap <= 2500, `worst gap ${worstGap} ms (interval 1 s)`);
  t.true(held.length >= 60, 'every slow target was being probed at the same time');
  const checks = (await a.req('GET', '/v1/agent/checks')).json;
  t.is(checks.ok0.Status, 'passing');
  t.is(checks.slow0.Status, 'critical');
});

test('checks-isolation: a check nobody runs goes critical with an output saying it is overdue, and recovers when a worker runs it', async t => {
  const healthy = createServer((_req, res) => res.end('fine'));
  const port = await listen(healthy);
  t.teardown(() => { healthy.closeAllConnections(); healthy.close(); });
  // No in-process worker: nobody runs the check.
  const a = await startAgent(t, { args: ['-checks-workers', '0'] });
  t.is((await a.req('PUT', '/v1/agent/check/register', { ID: 'web', Name: 'web', HTTP: `http://127.0.0.1:${port}/`, Interval: '1s', Timeout: '1s', Status: 'passing' })).status, 200);
  const check = async () => (await a.req('GET', '/v1/agent/checks')).json.web;
  t.is((await check()).Status, 'passing');
  // Bound: first-run stagger (1 interval) + interval + timeout + 3 s grace = 6 s, plus the watchdog's 1 s tick.
  const t0 = Date.now();
  await waitFor(async () => (await check()).Status === 'critical', 10_000);
  const took = Date.now() - t0;
  const c = await check();
  t.regex(c.Output, /^Check is overdue: not run since it was scheduled \d+(\.\d)?s ago \(interval 1s, timeout 1s\); are the check workers running\?$/);
  t.true(took >= 4000, `marked after ${took} ms`);
  t.regex(a.log(), /check is overdue; marking it critical/);
  // A `roster worker` on the agent's embedded Redis (password from its data dir) runs it: the real result replaces the mark at once.
  const conf = readFileSync(join(a.dataDir, 'redis', 'redis.conf'), 'utf8');
  const redisPort = /^port (\d+)$/m.exec(conf)![1];
  const w = spawn(ROSTER, ['worker', '-redis', `redis://127.0.0.1:${redisPort}`, '-redis-password-file', join(a.dataDir, 'redis', 'password')], { stdio: 'ignore' });
  t.teardown(() => { if (w.exitCode === null) w.kill('SIGKILL'); });
  await waitFor(async () => (await check()).Status === 'passing', 6000);
  t.is((await check()).Output, `HTTP GET http://127.0.0.1:${port}/: 200 OK Output: fine`);
});

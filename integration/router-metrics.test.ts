/**
 * `roster router -metrics ADDR` (issue 16): the router's requests, upstream errors and ejections in
 * Prometheus text on its own port, from one process and summed over several workers.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import { startAgent, ROSTER } from './helpers/agent.ts';
import { freePort } from '../src/store/embedded-redis.ts';
import { until } from './helpers/wait.ts';

function get(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: '/', headers: { host } }, res => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
    r.on('error', reject);
    r.end();
  });
}

const value = (text: string, series: string): number => {
  const m = new RegExp(`^${series.replace(/[{}"]/g, c => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

for (const workers of [1, 2]) {
  test(`router metrics with ${workers} worker(s): requests by service and code, upstream errors, ejections`, async t => {
    const a = await startAgent(t);
    const backend = createServer((_q, s) => s.end('ok')).listen(0, '127.0.0.1');
    t.teardown(() => backend.close());
    await new Promise(r => backend.once('listening', r));
    const dead = await freePort(); // nothing listens there: connection refused
    t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Address: '127.0.0.1', Port: (backend.address() as { port: number }).port })).status, 200);
    t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-dead', Address: '127.0.0.1', Port: dead })).status, 200);
    const [port, mport] = [await freePort(), await freePort()];
    const p = spawn(ROSTER, ['router', '-listen', `127.0.0.1:${port}`, '-http-addr', a.http, '-metrics', `127.0.0.1:${mport}`, '-workers', String(workers), '-access-log=false'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', d => { out += String(d); });
    p.stderr!.on('data', d => { out += String(d); });
    t.teardown(() => { p.kill('SIGKILL'); });
    // Up = every worker routes web: ten answers in a row (each request a new connection, spread over the workers).
    let streak = 0, warm200 = 0;
    await until('router up', async () => {
      const code = await get(port, 'web.service.consul');
      if (code === 200) warm200++;
      streak = code === 200 ? streak + 1 : 0;
      return streak >= 10;
    }, 15_000).catch(e => { throw new Error(`${(e as Error).message}\n${out}`); });
    let ok = 0;
    for (let i = 0; i < 20; i++) if ((await get(port, 'web.service.consul')) === 200) ok++;
    t.is(ok, 20); // retries hide the dead instance
    t.is(await get(port, 'nosuch.service.consul'), 503);
    const res = await fetch(`http://127.0.0.1:${mport}/metrics`);
    t.is(res.status, 200);
    t.regex(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    t.is(value(text, 'roster_router_requests{service="web",code="200"}'), warm200 + ok);
    t.is(value(text, 'roster_router_requests{service="nosuch",code="503"}'), 1);
    t.true(value(text, 'roster_router_upstream_errors{service="web"}') >= 1, text);
    t.true(value(text, 'roster_router_ejections{service="web"}') >= 1);
    t.regex(text, /^# TYPE roster_router_requests counter$/m);
    t.regex(text, /^process_cpu_user_seconds_total /m);
    t.is((await fetch(`http://127.0.0.1:${mport}/nope`)).status, 404);
  });
}

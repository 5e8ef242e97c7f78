/**
 * Checks run by `roster worker` processes against a shared Redis: the agents only schedule
 * (-checks-workers 0). A worker SIGKILLed mid-run loses no check and doubles no run; a check never
 * runs twice at once; each agent keeps exactly its own node's schedulers in Redis.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { startAgent, ROSTER } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { waitFor } from '../test/checks/helpers.ts';
import { keysFor } from '../src/store/keys.ts';

function startWorker(t: { teardown(fn: () => unknown): void }, url: string): ChildProcess {
  const p = spawn(ROSTER, ['worker', '-redis', url, '-concurrency', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', d => { out += String(d); });
  p.stderr!.on('data', d => { out += String(d); });
  (p as ChildProcess & { out: () => string }).out = () => out;
  t.teardown(() => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });
  return p;
}

test('checks-worker: SIGKILL of the worker mid-run: the check keeps running, no run is doubled, runs never overlap', async t => {
  const redis = await testRedis();
  t.teardown(() => redis.stop());
  const agent = await startAgent(t, { redis: redis.url, args: ['-checks-workers', '0'] });
  // Target: every request takes 1.5 s (longer than the 1 s interval).
  const starts: number[] = [];
  let inflight = 0, maxInflight = 0;
  const target: Server = createServer((req, res) => {
    starts.push(Date.now());
    inflight++; maxInflight = Math.max(maxInflight, inflight);
    let done = false;
    const end = () => { if (!done) { done = true; inflight--; } };
    res.on('close', end);
    setTimeout(() => { res.writeHead(200); res.end('slow ok'); }, 1500);
  });
  await new Promise<void>(r => target.listen(0, '127.0.0.1', r));
  t.teardown(() => { target.closeAllConnections(); target.close(); });
  const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;

  const a = startWorker(t, redis.url);
  const r = await agent.req('PUT', '/v1/agent/service/register', { Name: 'slow', Port: 80, Check: { HTTP: url, Interval: '1s', Timeout: '5s' } });
  t.is(r.status, 200);
  await waitFor(() => inflight === 1, 6000, 10);
  const b = startWorker(t, redis.url);
  await new Promise(res => setTimeout(res, 500));
  t.is(inflight, 1, 'a run is in flight on worker A');
  a.kill('SIGKILL');
  const killedAt = Date.now();
  const before = starts.length;
  // Picked up again: runs continue on worker B.
  await waitFor(() => starts.length >= before + 2, 8000, 20);
  const resumedAfter = starts[before]! - killedAt;
  t.log(`first run after the SIGKILL started ${resumedAfter} ms later`);
  t.true(resumedAfter < 3500, 'the check is picked up within heartbeat TTL + one interval');
  // Wait past BullMQ's stalled-job recovery (lockDuration 8 s + stalledInterval 4 s): should an
  // iteration come back to B, B must skip it (already claimed), not run it again.
  await new Promise(res => setTimeout(res, 13_000));
  const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
  t.log(`runs: ${starts.length}, gaps between run starts (ms): ${gaps.join(' ')}`);
  t.is(maxInflight, 1, 'the same check never runs twice at once');
  t.true(gaps.every(g => g >= 900), 'no doubled run (every run start is at least ~one interval after the previous)');
  t.true(starts.length - before >= 6, 'the check keeps running on the surviving worker');
  const c = (await agent.req('GET', '/v1/health/checks/slow')).json[0];
  t.is(c.Status, 'passing');
  t.true((await dig(agent.dnsPort, 'slow.service.consul', 'A')).answer.length > 0);
  t.is(b.exitCode, null);
  // (Probes longer than 200 ms run detached from their BullMQ jobs, so the killed run's job had already completed: there is
  // nothing for BullMQ to redeliver, and the no-double-run guarantee rests on the claim, asserted above.)
  const window = Date.now() - starts[0]!;
  t.true(starts.length <= Math.ceil(window / 1000) + 1, `at most one run per interval (${starts.length} runs in ${window} ms)`);
});

test('checks-worker: two agents on one Redis each schedule exactly their own node\'s checks', async t => {
  const redis = await testRedis();
  t.teardown(() => redis.stop());
  const a1 = await startAgent(t, { redis: redis.url, node: 'alpha', args: ['-checks-workers', '0'] });
  const a2 = await startAgent(t, { redis: redis.url, node: 'beta', args: ['-checks-workers', '0'] });
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const q = new Queue('checks', { connection: conn, prefix: keysFor('dc1').bullPrefix });
  t.teardown(async () => { await q.close(); conn.disconnect(); });
  const keys = async () => (await q.getJobSchedulers(0, -1, true)).map(s => s.key).sort();
  const reg = (ag: typeof a1, name: string, every: string) => ag.req('PUT', '/v1/agent/service/register', { Name: name, Port: 1, Check: { TCP: '127.0.0.1:1', Interval: every } });
  await reg(a1, 'svc-a', '2s');
  await reg(a2, 'svc-b', '3s');
  await waitFor(async () => (await keys()).length === 2, 3000);
  t.deepEqual(await keys(), ['alpha/service%3Asvc-a', 'beta/service%3Asvc-b']);
  const s = await q.getJobScheduler('beta/service%3Asvc-b');
  t.is(s?.every, 3000);
  // a changed interval is re-upserted; a removed check is unscheduled
  await reg(a2, 'svc-b', '5s');
  await waitFor(async () => (await q.getJobScheduler('beta/service%3Asvc-b'))?.every === 5000, 3000);
  await a1.req('PUT', '/v1/agent/service/deregister/svc-a');
  await waitFor(async () => (await keys()).length === 1, 3000);
  t.deepEqual(await keys(), ['beta/service%3Asvc-b']);
  // A check removed while its agent was down is unscheduled when the agent starts again.
  await a2.stop();
  const raw = new Redis(redis.url);
  t.teardown(() => raw.disconnect());
  const { CatalogStore } = await import('../src/store/catalog-store.ts');
  await new CatalogStore(raw, keysFor('dc1')).deregister('beta', 'service', 'svc-b');
  t.deepEqual(await keys(), ['beta/service%3Asvc-b'], 'still scheduled while the agent is down');
  await startAgent(t, { redis: redis.url, node: 'beta', args: ['-checks-workers', '0'], dataDir: a2.dataDir });
  await waitFor(async () => (await keys()).length === 0, 5000);
  t.pass();
});

test('checks-worker: claim runs an iteration once, refuses overlap on a live worker, takes over from a dead one; prune drops dead workers', async t => {
  const redis = await testRedis();
  t.teardown(() => redis.stop());
  const conn = new Redis(redis.url);
  t.teardown(() => conn.disconnect());
  const { CatalogStore } = await import('../src/store/catalog-store.ts');
  const { StatusHandler } = await import('../src/checks/status-handler.ts');
  const h = new StatusHandler(new CatalogStore(conn, keysFor('dc1')));
  await h.heartbeat('w-live', 10_000);
  await h.heartbeat('w-dead', 50);
  t.is(await h.claim('n1', 'c1', 1000, 5000, 'w-live'), 1, 'first claim of an iteration runs');
  t.is(await h.claim('n1', 'c1', 1000, 5000, 'w-dead'), 0, 'the same iteration again (a redelivered job) is refused');
  t.is(await h.claim('n1', 'c1', 2000, 5000, 'w-dead'), -1, 'the next iteration while the run is in flight on a live worker is skipped');
  await h.report('n1', 'c1', { successBeforePassing: 1, failuresBeforeWarning: 1, failuresBeforeCritical: 1 }, { status: 'passing', output: '' }, 0);
  await new Promise(r => setTimeout(r, 50));
  t.is(await h.claim('n1', 'c1', 3000, 5000, 'w-dead'), 1, 'after the run finished the next iteration runs');
  await new Promise(r => setTimeout(r, 100));
  t.is(await h.claim('n1', 'c1', 4000, 5000, 'w-live'), 1, 'a run lock held by a worker whose heartbeat lapsed is taken over');
  t.is(await h.pruneWorkers(), 1);
  t.deepEqual((await conn.hkeys(keysFor('dc1').checkState)).filter(k => k.startsWith('~w|')), ['~w|w-live']);
});

/**
 * Several real agents on one Redis, concurrent writers, and reloads forced during the writes (every
 * change-log reader connection killed every 500 ms, so each agent reconnects and catches up; and
 * every other time the log is trimmed to its last entry, so each agent finds entries gone and
 * reloads the whole catalog while registrations keep landing; the safety net runs every 250 ms):
 * every acknowledged registration becomes visible on every agent, and none disappears afterwards
 * (issue 19 §1; the forcing adapted to the change log of issue 12 §3, which replaced pub/sub).
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { testRedis } from './helpers/redis.ts';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { sleep } from './helpers/wait.ts';
import { CatalogStore } from '../src/store/catalog-store.ts';
import { keysFor } from '../src/store/keys.ts';
import { CHANGE_LOG_CLIENT } from '../src/store/change-log.ts';

const AGENTS = 4;
const WRITERS = 2;
const PER_WRITER = 60;
const PRELOAD_NODES = 1000; // 5,000 instances: a resync takes long enough for writes to land during it
const RESYNC = '250ms'; // the periodic safety net, far more often than the 30 s default
const KILL_EVERY_MS = 500; // every 500 ms each agent's change-log reader is dropped; every other time the log is trimmed too

test('views: every acknowledged registration reaches every agent and never disappears, with resyncs forced during the writes', async t => {
  const r = await testRedis();
  const redis = new Redis(r.url);
  t.teardown(async () => { redis.disconnect(); await r.stop(); });
  const store = new CatalogStore(redis, keysFor('dc1'));
  const pipe: Promise<unknown>[] = [];
  for (let i = 0; i < PRELOAD_NODES; i++) {
    pipe.push(store.register({
      nodeName: `pre${i}`, node: { ID: '', Node: `pre${i}`, Address: `10.1.${i >> 8}.${i & 255}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} },
      services: Array.from({ length: 5 }, (_, k) => ({ ID: `s${k}`, Service: `bulk${k}`, Tags: [], Address: '', Meta: {}, Port: 8000 + k, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false })),
      checks: [],
    }));
    if (pipe.length >= 200) await Promise.all(pipe.splice(0));
  }
  await Promise.all(pipe);

  const agents: TestAgent[] = [];
  for (let i = 0; i < AGENTS; i++) agents.push(await startAgent(t, { redis: r.url, node: `agent${i}`, args: ['-hcl', `catalog_resync_interval = "${RESYNC}"`] }));

  // Reloads during the writes: drop every change-log reader connection (each agent reconnects and
  // catches up), and every other time trim the log first, so that what they missed is gone (a full reload).
  let stop = false;
  const admin = new Redis(r.url);
  t.teardown(() => admin.disconnect());
  let kills = 0;
  const killer = (async () => {
    while (!stop) {
      const list = String(await admin.call('CLIENT', 'LIST'));
      for (const line of list.split('\n')) if (line.includes(` name=${CHANGE_LOG_CLIENT} `)) await admin.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!).catch(() => 0);
      // While the readers are away (they reconnect after ≥ 50 ms), writes land; trimming now takes them out of the log.
      if (kills % 2 === 1) { await sleep(30); await admin.xtrim(keysFor('dc1').stream, 'MAXLEN', 1); }
      kills++;
      await sleep(KILL_EVERY_MS);
    }
  })();

  let lastAck = 0;
  // Which registrations each agent shows, polled continuously.
  const acked = new Map<string, number>(); // service name → ack time
  const firstSeen = new Map<string, number>(); // `${agent}\0${name}` → time
  const vanished: string[] = [];
  const watcher = (async () => {
    while (!stop || firstSeen.size < acked.size * AGENTS) {
      await Promise.all(agents.map(async (a, ai) => {
        const res = await a.req('GET', '/v1/catalog/services?stale').catch(() => null);
        if (!res || res.status !== 200) return;
        const now = Date.now();
        for (const name of acked.keys()) {
          const key = `${ai}\0${name}`;
          const has = Object.hasOwn(res.json, name);
          if (has && !firstSeen.has(key)) firstSeen.set(key, now);
          if (!has && firstSeen.has(key)) vanished.push(`${name} vanished from agent${ai}`);
        }
      }));
      if (stop && Date.now() - lastAck > 10_000) break;
      await sleep(5);
    }
  })();

  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 0; i < PER_WRITER; i++) {
      const name = `reg-${w}-${i}`;
      const via = agents[(w + i) % AGENTS]!;
      const res = await via.req('PUT', '/v1/catalog/register', { Node: `writer${w}`, Address: `10.2.0.${w}`, Service: { ID: name, Service: name, Port: 9000 + i } });
      t.is(res.status, 200, res.text);
      lastAck = Date.now();
      acked.set(name, lastAck);
      await sleep(10);
    }
  }));
  stop = true;
  await killer;
  await watcher;
  // Settle, then a last look at every agent: everything acknowledged is there.
  for (const [ai, a] of agents.entries()) {
    const res = await a.req('GET', '/v1/catalog/services?stale');
    const missing = [...acked.keys()].filter(n => !Object.hasOwn(res.json, n));
    t.deepEqual(missing, [], `agent${ai} is missing acknowledged registrations`);
  }
  t.deepEqual(vanished, [], 'a registration seen on an agent must never disappear from it');
  const reloads = agents.map(a => (a.log().match(/catalog reload reason="change log entries trimmed/g) ?? []).length);
  t.true(reloads.some(n => n > 0), `the trims forced full reloads during the writes (per agent: ${reloads.join(', ')})`);
  const lags = [...firstSeen].map(([key, at]) => at - acked.get(key.split('\0')[1]!)!).sort((a, b) => a - b);
  t.is(lags.length, acked.size * AGENTS);
  const p = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))]!;
  t.log(`${acked.size} registrations × ${AGENTS} agents, resyncs every ${RESYNC} and ${kills} forced reconnects: visible after p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${lags.at(-1)} ms (includes the poll interval)`);
  // The latency target (p99 < 100 ms) is measured by bench/scale on a quiet machine; here, with tests running in
  // parallel, the bound only says that nothing waited for a later resync to show up.
  t.true(lags.at(-1)! < 2000, `every registration visible on every agent within 2 s (max ${lags.at(-1)} ms)`);
});

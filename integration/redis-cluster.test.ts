/**
 * Redis Cluster (issue 12 §1): agents and a `roster worker` run on a cluster of 3 primaries. A
 * datacenter's keys (catalog, KV, sessions and the BullMQ check queue) share one hash slot, `{dc}`,
 * so every multi-key script runs on one shard: registrations, KV, DNS, blocking reads and checks work
 * as on one Redis. The agents' Cluster command connections are instrumented as single ones are:
 * `roster_redis_command{role="command"}` counts their commands, `roster_redis_reconnects` a lost primary.
 */
import test from 'ava';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { Cluster } from 'ioredis';
import { startCluster } from './helpers/cluster.ts';
import { startAgent, ROSTER, type TestAgent } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { sleep, until } from './helpers/wait.ts';

/** A series of the agent's Prometheus exposition (`name{role="command"}`), or undefined when it has none. */
async function promValue(a: TestAgent, name: string): Promise<number | undefined> {
  const text = (await a.req('GET', '/v1/agent/metrics?format=prometheus')).text;
  const m = new RegExp(`^${name}\\{role="command"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

test('cluster: two agents and a roster worker on a 3-primary Redis Cluster: writes, KV, DNS and health checks work; every key is in the {dc1} slot', async t => {
  const c = await startCluster(t, 3);
  const env = { ROSTER_REDIS_PASSWORD: c.password };
  // The agents run no check workers: the checks are run by `roster worker`, on the cluster too.
  const a = await startAgent(t, { redis: c.url, env, args: ['-checks-workers', '0'] });
  const b = await startAgent(t, { redis: c.url, env, args: ['-checks-workers', '0'] });
  const worker = spawn(ROSTER, ['worker', '-redis', c.url, '-concurrency', '5'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let wlog = '';
  worker.stdout!.on('data', d => { wlog += String(d); });
  worker.stderr!.on('data', d => { wlog += String(d); });
  t.teardown(() => { worker.kill('SIGKILL'); });

  const commandsBefore = await promValue(a, 'roster_redis_command_count');
  t.is(typeof commandsBefore, 'number', 'the Cluster command connection is instrumented');

  let healthy = true;
  const target = createServer((_req, res) => { res.statusCode = healthy ? 200 : 500; res.end(healthy ? 'ok' : 'down'); });
  await new Promise<void>(r => target.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => { target.close(); });
  const port = (target.address() as { port: number }).port;

  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 80, Address: '127.0.0.21', Check: { HTTP: `http://127.0.0.1:${port}/`, Interval: '1s', Timeout: '500ms' } })).status, 200);
  t.is((await b.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web2', Port: 80, Address: '127.0.0.22' })).status, 200);
  // Both instances on both agents, through DNS; the check is run by the worker and turns passing.
  for (const ag of [a, b]) {
    await until('check passing, both instances in DNS', async () => {
      const r = await dig(ag.dnsPort, 'web.service.consul', 'A');
      return r.answer.map(x => x.data).sort().join(',') === '127.0.0.21,127.0.0.22';
    }, 20_000);
  }
  const checks = (await a.req('GET', '/v1/health/checks/web')).json as { Status: string; Output: string }[];
  t.is(checks[0]!.Status, 'passing');
  t.regex(checks[0]!.Output, /HTTP GET .*: 200 OK/);
  healthy = false;
  await until('the failing check takes web1 out of DNS on the other agent', async () => {
    const r = await dig(b.dnsPort, 'web.service.consul', 'A');
    return r.answer.map(x => x.data).join(',') === '127.0.0.22';
  }, 20_000);

  // KV: a write on one agent, a blocking read on the other woken by it.
  t.is((await a.req('PUT', '/v1/kv/cfg/x', 'one')).status, 200);
  const first = await b.req('GET', '/v1/kv/cfg/x');
  t.is(first.status, 200);
  const idx = first.headers.get('x-consul-index')!;
  const blocked = b.req('GET', `/v1/kv/cfg/x?index=${idx}&wait=10s`);
  await new Promise(r => setTimeout(r, 200));
  t.is((await a.req('PUT', '/v1/kv/cfg/x', 'two')).status, 200);
  const woke = await blocked;
  t.is(Buffer.from(woke.json[0].Value, 'base64').toString(), 'two');
  // The writes above went through agent a's Cluster command connection: its latency summary counted them.
  const commandsAfter = (await promValue(a, 'roster_redis_command_count'))!;
  t.true(commandsAfter >= commandsBefore! + 3, `roster_redis_command_count{role="command"}: ${commandsBefore} -> ${commandsAfter}`);
  t.true((await promValue(a, 'roster_redis_command_sum'))! > 0);

  // Every key the agents and the worker wrote hashes to the slot of {dc1}: one shard holds the datacenter.
  const cl = new Cluster(c.ports.map(p => ({ host: '127.0.0.1', port: p })), { redisOptions: { password: c.password } });
  t.teardown(() => cl.disconnect());
  const slot = Number(await cl.call('CLUSTER', 'KEYSLOT', '{dc1}'));
  const keys: string[] = [];
  for (const node of cl.nodes('master')) keys.push(...await node.keys('*'));
  t.true(keys.length > 10, keys.join(' '));
  t.true(keys.some(k => k.includes(':bull:')), 'the check queue lives in the cluster too');
  for (const k of keys) t.is(Number(await cl.call('CLUSTER', 'KEYSLOT', k)), slot, k);
  t.false(wlog.includes(c.password));
  t.is(worker.exitCode, null);
  // Durable acknowledgements asked of a cluster without replicas: WAIT (on the {dc1} slot's primary) finds none, so
  // a write is applied but not acknowledged: a 500 that says so, within the deadline.
  const strict = await startAgent(t, { redis: c.url, env, args: ['-hcl', 'redis_min_replicas_acked = 1', '-checks-workers', '0'] });
  const t0 = Date.now();
  const res = await strict.req('PUT', '/v1/kv/strict', 'x');
  t.is(res.status, 500);
  t.regex(res.text, /not confirmed by Redis replicas: 0 of 1/);
  t.true(Date.now() - t0 < 5000);
});

/** The port of the primary that holds `slot`, from CLUSTER SLOTS. */
async function primaryOfSlot(cl: Cluster, slot: number): Promise<number> {
  const ranges = await cl.call('CLUSTER', 'SLOTS') as [number, number, [string, number, string]][];
  const r = ranges.find(([a, b]) => slot >= a && slot <= b);
  if (!r) throw new Error(`no node serves slot ${slot}`);
  return Number(r[2][1]);
}

test('cluster: with a replica per primary, writes are acknowledged once the {dc1} shard\'s replica holds them; SIGKILL of that primary under load loses none', async t => {
  const c = await startCluster(t, 3, 1);
  const env = { ROSTER_REDIS_PASSWORD: c.password };
  const agents = [
    await startAgent(t, { redis: c.url, env, args: ['-checks-workers', '0', '-hcl', 'redis_timeout = "2s"'] }),
    await startAgent(t, { redis: c.url, env, args: ['-checks-workers', '0', '-hcl', 'redis_timeout = "2s"'] }),
  ];
  // Auto mode found the replica of the datacenter's shard (INFO sent to that slot's primary, not any node).
  for (const a of agents) await until('auto durable acks: 1', async () => /redis_min_replicas_acked=1/.test(a.log()), 10_000);
  const cl = new Cluster(c.ports.map(p => ({ host: '127.0.0.1', port: p })), { redisOptions: { password: c.password } });
  t.teardown(() => cl.disconnect());
  const slot = Number(await cl.call('CLUSTER', 'KEYSLOT', '{dc1}'));
  const victimPort = await primaryOfSlot(cl, slot);

  let running = true;
  const acked: { agent: number; id: string; at: number }[] = [];
  const failed: string[] = [];
  const writers = agents.map(async (a, ai) => {
    for (let n = 0; running; n++) {
      const id = `c${ai}-${n}`;
      const at = Date.now();
      const res = await a.req('PUT', '/v1/catalog/register', { Node: `load-${ai}`, Address: `127.0.2.${ai + 1}`, Service: { ID: id, Service: 'load', Port: 1000 + n } })
        .catch(err => ({ status: 0, text: String(err) }));
      if (res.status === 200) acked.push({ agent: ai, id, at });
      else { failed.push(`${res.status} ${res.text.slice(0, 120)}`); await sleep(50); }
    }
  });
  let killedAt = 0;
  try {
    await sleep(1500);
    killedAt = Date.now();
    c.byPort.get(victimPort)!.kill('SIGKILL');
    // As an operator does (and as auto mode requires: the promoted replica has no replica of its own until then),
    // the killed node is started again; it rejoins as the new primary's replica.
    await until('the replica took over', async () => (await primaryOfSlot(cl, slot).catch(() => victimPort)) !== victimPort, 30_000);
    c.restart(victimPort);
    await until('writes resume on both agents after the replica took over', async () => [0, 1].every(ai => acked.some(a => a.agent === ai && a.at > killedAt + 100)), 40_000);
    await sleep(500);
  } finally {
    running = false;
    await Promise.all(writers);
  }
  t.not(await primaryOfSlot(cl, slot), victimPort, 'the replica was promoted');
  // Each agent's Cluster command connection lost the killed primary: a reconnect, and the writes that failed meanwhile.
  for (const a of agents) t.true((await promValue(a, 'roster_redis_reconnects'))! >= 1, `agent ${a.node}: roster_redis_reconnects{role="command"}`);
  t.log(`acknowledged ${acked.length}, failed ${failed.length} (${[...new Set(failed.map(f => f.slice(0, 60)))].slice(0, 3).join(' | ')}); writes resumed ${Math.max(...[0, 1].map(ai => acked.find(a => a.agent === ai && a.at > killedAt + 100)!.at)) - killedAt} ms after the kill`);
  for (const e of failed) t.regex(e, /^500 /, 'a write during the failover fails with a 500, never hangs');
  const want = acked.map(a => a.id);
  for (const a of agents) {
    const got = await until(`agent ${a.node} holds every acknowledged registration`, async () => {
      const res = await a.req('GET', '/v1/catalog/service/load?consistent');
      if (res.status !== 200) return false;
      const ids = new Set((res.json as { ServiceID: string }[]).map(x => x.ServiceID));
      return want.every(id => ids.has(id)) && ids;
    }, 20_000).catch(() => null);
    t.truthy(got, `agent ${a.node} lost acknowledged registrations`);
  }
});

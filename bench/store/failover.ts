/**
 * Sentinel failover benchmark (issue 12): 1 primary + 2 replicas + 3 sentinels (README's recipe), two
 * agents on `redis-sentinel://`, a registration writer per agent (sequential, 5 ms pause after each
 * acknowledgement) and a DNS prober on both (every 20 ms); the primary is SIGKILLed N times, the killed
 * node coming back as a replica each time. Reports per run: time from the kill until writes resume on
 * both agents, acknowledged registrations missing afterwards, DNS errors, failed writes.
 * Bounded: N failovers, each given at most 30 s, then everything is stopped by PID.
 *   node bench/store/failover.ts [failovers=10] [redis_min_replicas_acked=auto|0|1] [tls]
 * `tls`: README's redis-tls recipe on every process (TLS only, client certificates), agents on `rediss-sentinel://`.
 * Needs redis-server and redis-sentinel (Debian: redis-server redis-sentinel) and a built bin/roster.
 */
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSentinels } from '../../integration/helpers/sentinel.ts';
import { startAgent, type TestAgent } from '../../integration/helpers/agent.ts';
import { sleep, until } from '../../integration/helpers/wait.ts';

const N = Number(process.argv[2] ?? 10);
const ACKED = process.argv[3] ?? 'auto';
const TLS = process.argv[4] === 'tls';
const cleanups: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => { cleanups.push(fn); } };

function queryA(port: number, name: string): Promise<{ rcode: number; answers: number }> {
  const id = Math.floor(Math.random() * 65535);
  const q = Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...name.split('.').map(l => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const tm = setTimeout(() => { s.close(); reject(new Error('timeout')); }, 1000);
    s.on('message', m => { clearTimeout(tm); s.close(); resolve({ rcode: m[3]! & 15, answers: m.readUInt16BE(6) }); });
    s.send(q, port, '127.0.0.1');
  });
}

try {
  const topo = await startSentinels(t, { replicas: 2, tls: TLS });
  const pwFile = join(topo.nodes[0]!.dir, '..', 'redis-password');
  writeFileSync(pwFile, topo.password + '\n', { mode: 0o600 });
  const extra = [...ACKED === 'auto' ? [] : ['-hcl', `redis_min_replicas_acked = ${ACKED}`], ...topo.pki ? ['-hcl', topo.pki.hcl] : []];
  const agents: TestAgent[] = [];
  for (let i = 0; i < 2; i++) {
    const a = await startAgent(null, { redis: topo.url, args: ['-redis-password-file', pwFile, '-hcl', 'redis_timeout = "2s"', ...extra] });
    cleanups.push(() => a.stop('SIGKILL'));
    agents.push(a);
  }
  for (const [i, a] of agents.entries()) await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: `web${i}`, Port: 80, Address: `127.0.0.${10 + i}` });
  for (const a of agents) await until('dns', async () => (await queryA(a.dnsPort, 'web.service.consul')).answers === 2, 10_000);
  let running = true;
  const acked: { agent: number; id: string; at: number }[] = [];
  let failed = 0;
  const writers = agents.map(async (a, ai) => {
    for (let n = 0; running; n++) {
      const id = `a${ai}-${n}`;
      const at = Date.now();
      const res = await a.req('PUT', '/v1/catalog/register', { Node: `load-${ai}`, Address: `127.0.1.${ai + 1}`, Service: { ID: id, Service: 'load', Port: 1000 + (n % 50000) } }).catch(() => ({ status: 0 }));
      if (res.status === 200) { acked.push({ agent: ai, id, at }); await sleep(5); } else { failed++; await sleep(50); }
    }
  });
  let dnsOk = 0, dnsBad = 0;
  const dns = (async () => {
    while (running) {
      for (const a of agents) { const r = await queryA(a.dnsPort, 'web.service.consul').catch(() => ({ rcode: -1, answers: 0 })); if (r.rcode === 0 && r.answers === 2) dnsOk++; else dnsBad++; }
      await sleep(20);
    }
  })();
  const resumed: number[] = [];
  const kills: number[] = [];
  await sleep(1500);
  for (let f = 0; f < N; f++) {
    const old = await topo.primaryPort();
    const victim = topo.nodes.find(n => n.port === old)!;
    const killedAt = Date.now();
    kills.push(killedAt);
    await victim.kill('SIGKILL');
    await until('writes resume', async () => [0, 1].every(ai => acked.some(a => a.agent === ai && a.at > killedAt)), 30_000);
    resumed.push(Date.now() - killedAt);
    await topo.restartAsReplica(victim);
    await topo.settled(2);
    await sleep(1000);
  }
  running = false;
  await Promise.all([...writers, dns]);
  const want = acked.map(a => a.id);
  let lost = 0;
  for (const a of agents) {
    const res = await a.req('GET', '/v1/catalog/service/load?consistent');
    const got = new Set((res.json as { ServiceID: string }[]).map(s => s.ServiceID));
    lost = Math.max(lost, want.filter(id => !got.has(id)).length);
  }
  if (process.env.DEBUG) {
    const fresh = await startAgent(null, { redis: topo.url, args: ['-redis-password-file', pwFile, ...extra] });
    cleanups.push(() => fresh.stop('SIGKILL'));
    const res = await fresh.req('GET', '/v1/catalog/service/load?consistent');
    const inRedis = new Set((res.json as { ServiceID: string }[]).map(x => x.ServiceID));
    for (const [i, a] of agents.entries()) {
      const r2 = await a.req('GET', '/v1/catalog/service/load?consistent');
      const got = new Set((r2.json as { ServiceID: string }[]).map(x => x.ServiceID));
      const missing = acked.filter(x => !got.has(x.id));
      process.stderr.write(`agent ${i}: missing ${missing.length}; of them in Redis (fresh agent): ${missing.filter(x => inRedis.has(x.id)).length}\n`);
      for (const m of missing.slice(0, 5)) process.stderr.write(`  ${m.id} acked at kill${kills.findLastIndex(k => k <= m.at)}+${m.at - (kills.findLast(k => k <= m.at) ?? 0)} ms\n`);
    }
    for (const [i, a] of agents.entries()) writeFileSync(`/tmp/topo-agent${i}.log`, a.log());
    process.stderr.write(`topology in ${join(topo.nodes[0]!.dir, '..')}\n`);
    cleanups.length = 0; // keep the processes' files for a look (processes are killed below)
    for (const p of [...topo.sentinels, ...topo.nodes]) await p.kill('SIGKILL');
    for (const a of [...agents, fresh]) await a.stop('SIGKILL');
    process.stderr.write(`fresh agent lacks ${acked.filter(x => !inRedis.has(x.id)).length} of ${acked.length}\n`);
  }
  // Failovers Sentinel made beyond the kills (a live primary judged down on a busy machine): a write
  // acknowledged by one replica can be lost in one of those (the other replica may be promoted).
  const switches = (readFileSync(join(topo.sentinels[0]!.dir, 'sentinel.log'), 'utf8').match(/\+switch-master/g) ?? []).length;
  const s = [...resumed].sort((x, y) => x - y);
  const out = { failovers: N, redis_min_replicas_acked: ACKED, tls: TLS, resumeMs: { min: s[0], p50: s[Math.floor(s.length / 2)], max: s[s.length - 1] }, acked: acked.length, ackedLost: lost, sentinelSwitches: switches, failedWrites: failed, dnsOk, dnsErrors: dnsBad };
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
}
process.exit(0);

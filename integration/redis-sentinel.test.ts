/**
 * Redis Sentinel (issue 12 §1): 1 primary + 2 replicas + 3 redis-sentinel, two agents started with
 * `-redis redis-sentinel://…/roster`, a continuous registration load on both, and the primary
 * SIGKILLed several times in one test. Throughout: DNS on both agents answers; after each failover
 * writes resume on both by themselves (no restart); afterwards every acknowledged registration is
 * present on both agents, and a health check run by `roster worker` (also on Sentinel) is neither lost nor run
 * twice: it runs again after each failover, never two runs at once, and once a second afterwards.
 */
import test from 'ava';
import { createSocket } from 'node:dgram';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSentinels } from './helpers/sentinel.ts';
import { startAgent, ROSTER, type TestAgent } from './helpers/agent.ts';
import { sleep, until } from './helpers/wait.ts';

const FAILOVERS = 3;

/** One A query over UDP; resolves with the rcode and the answer count (or rejects after 1 s). */
function queryA(port: number, name: string): Promise<{ rcode: number; answers: number }> {
  const id = Math.floor(Math.random() * 65535);
  const q = Buffer.concat([
    Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...name.split('.').map(l => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0, 0, 1, 0, 1]),
  ]);
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); reject(new Error('DNS timeout')); }, 1000);
    s.on('message', m => { clearTimeout(t); s.close(); resolve({ rcode: m[3]! & 15, answers: m.readUInt16BE(6) }); });
    s.send(q, port, '127.0.0.1');
  });
}

test('sentinel: SIGKILL of the primary under load, several times: DNS answers throughout, writes resume, no acknowledged registration is lost', async t => {
  const topo = await startSentinels(t, { replicas: 2 });
  // As README's recipe: the password from a file (0600), never on the command line.
  const pwFile = join(topo.nodes[0]!.dir, '..', 'redis-password');
  writeFileSync(pwFile, topo.password + '\n', { mode: 0o600 });
  const agents: TestAgent[] = [];
  // Checks are run by a `roster worker` on the same Sentinel URL: its BullMQ connections must follow the failovers too.
  for (let i = 0; i < 2; i++) agents.push(await startAgent(t, { redis: topo.url, args: ['-redis-password-file', pwFile, '-hcl', 'redis_timeout = "2s"', '-checks-workers', '0'] }));
  const worker = spawn(ROSTER, ['worker', '-redis', topo.url, '-redis-password-file', pwFile, '-concurrency', '5'], { stdio: 'ignore' });
  t.teardown(() => { worker.kill('SIGKILL'); });
  let healthy = true;
  /** When the check's target was hit (each hit is one run of the check). */
  const hits: number[] = [];
  const target = createServer((_req, res) => { hits.push(Date.now()); res.statusCode = healthy ? 200 : 500; res.end(); });
  await new Promise<void>(r => target.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => { target.close(); });
  const hcPort = (target.address() as { port: number }).port;
  const hcStatus = async () => ((await agents[0]!.req('GET', '/v1/health/checks/hc')).json as { Status: string }[])[0]?.Status;
  await until('the agent logs where its Redis is', async () => /Roster agent running version/.test(agents[0]!.log()), 5000);
  t.regex(agents[0]!.log(), /redis=redis-sentinel:\/\/:\[redacted\]@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/roster/);
  for (const [i, a] of agents.entries()) {
    t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: `web${i}`, Port: 80, Address: `127.0.0.${10 + i}` })).status, 200);
  }
  t.is((await agents[0]!.req('PUT', '/v1/agent/service/register', { Name: 'hc', ID: 'hc1', Port: 1, Check: { HTTP: `http://127.0.0.1:${hcPort}/`, Interval: '1s', Timeout: '500ms' } })).status, 200);
  await until('the worker runs the check', async () => (await hcStatus()) === 'passing', 15_000);
  for (const a of agents) await until('both web instances in DNS', async () => (await queryA(a.dnsPort, 'web.service.consul')).answers === 2, 10_000);

  // Load: each agent's writer registers one new instance after another; 200 = acknowledged.
  let running = true;
  /** `at`: when the acknowledged request was sent. */
  const acked: { agent: number; id: string; at: number }[] = [];
  const failedWrites: string[] = [];
  const writers = agents.map(async (a, ai) => {
    for (let n = 0; running; n++) {
      const id = `a${ai}-${n}`;
      const startedAt = Date.now();
      const res = await a.req('PUT', '/v1/catalog/register', { Node: `load-${ai}`, Address: `127.0.1.${ai + 1}`, Service: { ID: id, Service: 'load', Port: 1000 + (n % 50000) } })
        .catch(err => ({ status: 0, text: String(err) }));
      if (res.status === 200) { acked.push({ agent: ai, id, at: startedAt }); await sleep(5); }
      else { failedWrites.push(`${res.status} ${res.text.slice(0, 120)}`); await sleep(50); }
    }
  });
  // DNS: both agents queried every 20 ms for the whole test; every reply must be NOERROR with both instances.
  const dnsBad: string[] = [];
  let dnsOk = 0;
  const dnsLoop = (async () => {
    while (running) {
      for (const a of agents) {
        const r = await queryA(a.dnsPort, 'web.service.consul').catch(err => ({ rcode: -1, answers: 0, err }));
        if (r.rcode === 0 && r.answers === 2) dnsOk++;
        else dnsBad.push(`agent ${a.node}: rcode ${r.rcode}, ${r.answers} answers`);
      }
      await sleep(20);
    }
  })();

  const resumed: number[] = [];
  const killTimes: number[] = [];
  try {
    await sleep(1500);
    for (let f = 0; f < FAILOVERS; f++) {
      const oldPort = await topo.primaryPort();
      const victim = topo.nodes.find(n => n.port === oldPort)!;
      const before = acked.length;
      const killedAt = Date.now();
      killTimes.push(killedAt);
      await victim.kill('SIGKILL');
      // Writes resume on both agents by themselves: each gets an acknowledgement after the kill.
      await until(`failover ${f + 1}: writes resume on both agents`, async () => [0, 1].every(ai => acked.some(a => a.agent === ai && a.at > killedAt)), 30_000);
      resumed.push(Date.now() - killedAt);
      t.not(await topo.primaryPort(), oldPort, 'a replica was promoted');
      t.true(acked.length > before);
      // The killed node comes back as a replica of the new primary, so the next failover again has two replicas.
      await topo.restartAsReplica(victim);
      await topo.settled(2);
      await sleep(1000);
    }
  } finally {
    running = false;
    await Promise.all([...writers, dnsLoop]);
  }
  t.log(`failovers: ${FAILOVERS}, writes resumed after (ms): ${resumed.join(' ')}; acknowledged: ${acked.length}, failed: ${failedWrites.length}; DNS answers ok: ${dnsOk}`);
  t.true(acked.length > 50, `only ${acked.length} writes acknowledged`);
  t.deepEqual(dnsBad, [], 'every DNS query on both agents answered with both instances');
  for (const e of failedWrites) t.regex(e, /^500 /, 'writes during a failover fail with a 500, never hang or crash');

  // Every acknowledged registration is in Redis and on both agents.
  const want = new Set(acked.map(a => a.id));
  for (const a of agents) {
    const ids = await until(`agent ${a.node} holds every acknowledged registration`, async () => {
      const res = await a.req('GET', '/v1/catalog/service/load?consistent');
      if (res.status !== 200) return false;
      const got = new Set((res.json as { ServiceID: string }[]).map(s => s.ServiceID));
      return [...want].every(id => got.has(id)) && got;
    }, 15_000).catch(() => null);
    if (!ids) {
      const res = await a.req('GET', '/v1/catalog/service/load?consistent');
      const got = new Set((res.json as { ServiceID: string }[] | undefined ?? []).map(s => s.ServiceID));
      t.fail(`agent ${a.node} lacks ${[...want].filter(id => !got.has(id)).slice(0, 20).join(', ')}`);
    }
  }
  // No check lost or run twice across the failovers (issue 12 §2): the 1 s check ran after each failover, never
  // twice at once (two runs < 50 ms apart), and after the last one it runs once a second again (one scheduler, not two).
  const gaps = hits.slice(1).map((h, i) => h - hits[i]!);
  // (BullMQ schedules on the interval grid: a duplicated scheduler fires the same slot twice within a few ms. A run
  // delayed by a failover may be followed by the next slot soon after: 104 ms apart was seen on a loaded machine.
  // The rate check below catches a second scheduler whatever the spacing.)
  t.deepEqual(gaps.filter(g => g < 50), [], `the check ran twice at once (runs: ${hits.length})`);
  for (const [f, at] of killTimes.entries()) t.true(hits.some(h => h > at + 1000), `the check ran again after failover ${f + 1}`);
  const settledAt = Date.now();
  await sleep(6000);
  const recent = hits.filter(h => h > settledAt).length;
  t.true(recent >= 4 && recent <= 7, `after the failovers the check runs once a second: ${recent} runs in 6 s`);
  t.log(`check runs: ${hits.length}; longest gap ${Math.max(...gaps)} ms (failovers included); shortest ${Math.min(...gaps)} ms`);
  // The check schedule (agent's queue) and the worker (roster worker) survived the failovers: a failing target is seen.
  healthy = false;
  await until('the check turns critical after the failovers', async () => (await hcStatus()) === 'critical', 20_000);
  t.is(worker.exitCode, null, 'roster worker stayed up');
  for (const a of agents) {
    t.is(a.proc.exitCode, null, 'the agent stayed up');
    t.false(a.log().includes(topo.password), 'the password never reaches a log line');
  }
});

/**
 * Many datacenters: two Roster datacenters (one agent and one embedded redis-server each) joined
 * over the WAN pool, on loopback. Measures
 *   1. cross-datacenter DNS answer time, `svcN.service.dc2.consul A` asked of dc1: cold (first
 *      question for that name: dc1 asks dc2) and cached (asked again within dns_config.dc_cache_ttl),
 *      against the same question asked locally of dc2;
 *   2. `?dc=dc2` overhead: GET /v1/catalog/service/web asked of dc1 with ?dc=dc2, against the same
 *      request made to dc2 directly, sequential keep-alive requests;
 *   3. prepared-query failover time: from the PUT that turns dc1's last instance critical until
 *      /v1/query/q/execute (polled every 2 ms) answers from dc2, and until `q.query.consul` does;
 *      and back.
 *
 *   node bench/multidc/run.ts [names=300] [requests=2000] [flips=10]
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';
import { startAgent, type TestAgent } from '../../integration/helpers/agent.ts';

const NAMES = Number(process.argv[2] ?? 300);
const REQS = Number(process.argv[3] ?? 2000);
const FLIPS = Number(process.argv[4] ?? 10);

const a = await startAgent(null, { node: 'a1', args: ['-datacenter', 'dc1', '-log-level', 'warn'] });
const b = await startAgent(null, { node: 'b1', args: ['-datacenter', 'dc2', '-log-level', 'warn', '-retry-join-wan', `127.0.0.1:${a.wanPort}`] });
const cleanup = async () => { await a.stop(); await b.stop(); };
try {
  for (let i = 0; ; i++) {
    if (((await a.req('GET', '/v1/catalog/datacenters')).json as string[]).includes('dc2')) break;
    if (i > 200) throw new Error('dc2 never joined');
    await new Promise(r => setTimeout(r, 50));
  }

  const sock = dgram.createSocket('udp4');
  await new Promise<void>(r => sock.bind(0, '127.0.0.1', () => r()));
  const waiters = new Map<number, (b: Buffer) => void>();
  sock.on('message', m => waiters.get(m.readUInt16BE(0))?.(m));
  let nextId = 1;
  const ask = (port: number, name: string, type: 'A' | 'SRV' = 'A'): Promise<{ ms: number; answers: string[] }> => new Promise((resolve, reject) => {
    const id = nextId = (nextId + 1) & 0xffff;
    const t0 = performance.now();
    const timer = setTimeout(() => { waiters.delete(id); reject(new Error(`timeout ${name}`)); }, 5000);
    waiters.set(id, buf => {
      clearTimeout(timer); waiters.delete(id);
      const p = dnsPacket.decode(buf);
      resolve({ ms: performance.now() - t0, answers: (p.answers ?? []).map(x => String((x as { data: unknown }).data)) });
    });
    sock.send(dnsPacket.encode({ type: 'query', id, questions: [{ type, name }] }), port, '127.0.0.1');
  });

  // --- 1. cross-datacenter DNS ---
  for (let i = 0; i < NAMES; i++) {
    const r = await b.req('PUT', '/v1/agent/service/register', { Name: `svc${i}`, Address: `10.0.${i >> 8}.${i & 255}`, Port: 80 });
    if (r.status !== 200) throw new Error(r.text);
  }
  const cold: number[] = []; const cached: number[] = []; const local: number[] = [];
  for (let i = 0; i < NAMES; i++) {
    const c = await ask(a.dnsPort, `svc${i}.service.dc2.consul`);
    if (c.answers.length !== 1) throw new Error(`no answer for svc${i}: ${JSON.stringify(c)}`);
    cold.push(c.ms);
    cached.push((await ask(a.dnsPort, `svc${i}.service.dc2.consul`)).ms);
    local.push((await ask(b.dnsPort, `svc${i}.service.dc2.consul`)).ms);
  }

  // --- 2. ?dc= overhead ---
  await b.req('PUT', '/v1/agent/service/register', { Name: 'web', Address: '10.9.0.2', Port: 80, Check: { CheckID: 'web', TTL: '600s', Status: 'passing' } });
  await a.req('PUT', '/v1/agent/service/register', { Name: 'web', Address: '10.9.0.1', Port: 80, Check: { CheckID: 'web', TTL: '600s', Status: 'passing' } });
  const time = async (agent: TestAgent, path: string): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < REQS; i++) {
      const t0 = performance.now();
      const r = await fetch(agent.http + path);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
      out.push(performance.now() - t0);
    }
    return out;
  };
  await time(a, '/v1/catalog/service/web?dc=dc2'); // warm both paths
  await time(b, '/v1/catalog/service/web');
  const direct = await time(b, '/v1/catalog/service/web');
  const forwarded = await time(a, '/v1/catalog/service/web?dc=dc2');
  const stale = await time(a, '/v1/catalog/service/web?dc=dc2&stale');

  // --- 3. prepared-query failover ---
  const q = await a.req('POST', '/v1/query', { Name: 'q', Service: { Service: 'web', Failover: { NearestN: 1 } } });
  if (q.status !== 200) throw new Error(q.text);
  await new Promise(r => setTimeout(r, 1200)); // the DNS copy of the queries
  const until = async (cond: () => Promise<boolean>): Promise<number> => {
    const t0 = performance.now();
    while (!(await cond())) {
      if (performance.now() - t0 > 10_000) throw new Error('failover not seen within 10 s');
      await new Promise(r => setTimeout(r, 2));
    }
    return performance.now() - t0;
  };
  const dcOf = async () => ((await a.req('GET', '/v1/query/q/execute')).json as { Datacenter: string }).Datacenter;
  const httpFail: number[] = []; const dnsFail: number[] = []; const httpBack: number[] = []; const execRemote: number[] = [];
  for (let i = 0; i < FLIPS; i++) {
    const t0 = performance.now();
    await a.req('PUT', '/v1/agent/check/fail/web');
    await until(async () => (await dcOf()) === 'dc2');
    httpFail.push(performance.now() - t0);
    dnsFail.push(await until(async () => (await ask(a.dnsPort, 'q.query.consul')).answers[0] === '10.9.0.2'));
    for (let k = 0; k < 20; k++) {
      const t1 = performance.now();
      await a.req('GET', '/v1/query/q/execute');
      execRemote.push(performance.now() - t1);
    }
    const t2 = performance.now();
    await a.req('PUT', '/v1/agent/check/pass/web');
    await until(async () => (await dcOf()) === 'dc1');
    httpBack.push(performance.now() - t2);
  }
  sock.close();

  const pct = (xs: number[], p: number) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!; };
  const row = (what: string, xs: number[]) => console.log(`| ${what} | ${xs.length} | ${pct(xs, 50).toFixed(3)} | ${pct(xs, 90).toFixed(3)} | ${pct(xs, 99).toFixed(3)} | ${Math.max(...xs).toFixed(3)} |`);
  console.log(`# bench/multidc — ${new Date().toISOString()}, load ${(await import('node:os')).loadavg().map(x => x.toFixed(2)).join(' ')}`);
  console.log('| what | n | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|');
  row('DNS `svcN.service.dc2.consul` asked of dc1, cold (dc1 asks dc2)', cold);
  row('… cached (within dc_cache_ttl)', cached);
  row('… asked of dc2 itself (local)', local);
  row('HTTP `/v1/catalog/service/web` asked of dc2 directly', direct);
  row('… asked of dc1 with `?dc=dc2` (forwarded)', forwarded);
  row('… with `?dc=dc2&stale` (1 s forward cache)', stale);
  row('prepared query `execute` answered by failover to dc2', execRemote);
  row('failover: check fail PUT → execute answers from dc2', httpFail);
  row('failover: then `q.query.consul` answers dc2\'s address', dnsFail);
  row('back: check pass PUT → execute answers from dc1', httpBack);
} finally {
  await cleanup();
}

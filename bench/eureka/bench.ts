/**
 * Eureka benchmark against a real `roster agent -dev` (embedded redis-server):
 *   1. registrations/s of N Eureka instances (POST /eureka/v2/apps/{app}, 100 apps)
 *   2. full registry fetches/s (GET /eureka/v2/apps, Accept JSON, Accept-Encoding gzip), and the cost of the
 *      first fetch after a change (the registry is re-grouped and re-encoded once per change)
 *   3. delta fetches/s (GET /eureka/v2/apps/delta) with the N registrations still in the 3-minute queue, and
 *      with a small queue (a fresh agent's view of a few changes is the common case, measured on a second agent)
 *   4. renewals/s (PUT /eureka/v2/apps/{app}/{id}: one Lua call each)
 *   5. register → DNS answer: POST of a new instance until a UDP DNS query for its app answers with it (median of 20)
 * Writes bench/eureka/RESULTS.md.   node bench/eureka/bench.ts [instances] [seconds-per-phase]
 */
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { gunzipSync } from 'node:zlib';
import { ROOT, startAgent } from '../../integration/helpers/agent.ts';
import { testRedis } from '../../integration/helpers/redis.ts';

const N = Number(process.argv[2] ?? 10_000);
const SECS = Number(process.argv[3] ?? 10);
const CONC = 16;
const APPS = 100;

const redis = await testRedis();
const agent = await startAgent(null, { redis: redis.url, args: ['-log-level', 'warn', '-hcl', 'limits { http_max_conns_per_client = 0 }'] });
const port = agent.httpPort;
const ka = new http.Agent({ keepAlive: true, maxSockets: CONC * 2 });

function request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: ka, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, res => {
      const chunks: Buffer[] = [];
      res.on('data', d => chunks.push(d));
      res.on('end', () => { const b = Buffer.concat(chunks); resolve({ status: res.statusCode ?? 0, bytes: b.length, body: b }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const JSONH = { 'content-type': 'application/json', accept: 'application/json' };
const GZ = { accept: 'application/json', 'accept-encoding': 'gzip' };
const body = (i: number) => JSON.stringify({ instance: {
  instanceId: `i-${i}`, hostName: `h-${i}`, app: `APP${i % APPS}`, ipAddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, vipAddress: `app${i % APPS}.vip`, status: 'UP',
  port: { $: 8080, '@enabled': 'true' }, dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
  leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 3600 }, metadata: { zone: 'z1', 'management.port': '8081' },
} });

async function closedLoop(n: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONC }, async () => { for (let i = next++; i < n; i = next++) await op(i); }));
  return n / ((performance.now() - t0) / 1000);
}
/** Runs `op` from `conc` loops for `secs`; ops/s. */
async function timed(secs: number, conc: number, op: (i: number) => Promise<void>): Promise<number> {
  let n = 0;
  const end = performance.now() + secs * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => { while (performance.now() < end) await op(n++); }));
  return n / ((performance.now() - t0) / 1000);
}
const ok = (r: { status: number }, what: string, want = 200) => { if (r.status !== want) throw new Error(`${what}: ${r.status}`); };

const regRate = await closedLoop(N, async i => ok(await request('POST', `/eureka/v2/apps/APP${i % APPS}`, body(i), JSONH), 'register', 204));
console.log(`registrations: ${regRate.toFixed(0)}/s (${N})`);

const full = await request('GET', '/eureka/v2/apps', undefined, GZ);
const fullJson = JSON.parse(gunzipSync(full.body).toString());
const count = fullJson.applications.application.reduce((n: number, a: { instance: unknown[] }) => n + a.instance.length, 0);
console.log(`full registry: ${count} instances, ${(full.bytes / 1024).toFixed(0)} KiB gzip, ${(gunzipSync(full.body).length / 1024).toFixed(0)} KiB JSON`);
// The first fetch after a change re-groups and re-encodes: one metadata write, then one fetch, timed (median of 5).
const firstAfter: number[] = [];
for (let k = 0; k < 5; k++) {
  ok(await request('PUT', `/eureka/v2/apps/APP1/i-1/metadata?k=${k}`), 'metadata');
  const t0 = performance.now();
  ok(await request('GET', '/eureka/v2/apps', undefined, GZ), 'full');
  firstAfter.push(performance.now() - t0);
}
firstAfter.sort((a, b) => a - b);
const fullRate = await timed(SECS, 4, async () => ok(await request('GET', '/eureka/v2/apps', undefined, GZ), 'full'));
console.log(`full fetches: ${fullRate.toFixed(0)}/s (gzip JSON, cached between changes); first after a change ${firstAfter[2]!.toFixed(0)} ms`);

const bigDelta = await request('GET', '/eureka/v2/apps/delta', undefined, GZ);
const bigDeltaRate = await timed(SECS, 4, async () => ok(await request('GET', '/eureka/v2/apps/delta', undefined, GZ), 'delta'));
console.log(`delta fetches with ${N} changes queued: ${bigDeltaRate.toFixed(0)}/s (${(bigDelta.bytes / 1024).toFixed(0)} KiB gzip)`);

// A second agent on the same Redis: its delta queue holds only what changed since it started.
const redisUrl = redis.url;
let smallDeltaRate = NaN; let smallBytes = 0;
if (redisUrl) {
  const b = await startAgent(null, { redis: redisUrl, args: ['-log-level', 'warn'] });
  const pb = b.httpPort;
  for (let i = 0; i < 10; i++) ok(await request('PUT', `/eureka/v2/apps/APP${i % APPS}/i-${i}/metadata?small=${i}`), 'metadata');
  const ka2 = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const get = () => new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: pb, path: '/eureka/v2/apps/delta', agent: ka2, headers: GZ }, res => { let n = 0; res.on('data', d => { n += d.length; }); res.on('end', () => { smallBytes = n; resolve(res.statusCode ?? 0); }); }).on('error', reject);
  });
  await new Promise(r => setTimeout(r, 500));
  smallDeltaRate = await timed(SECS, 4, async () => { if (await get() !== 200) throw new Error('delta'); });
  console.log(`delta fetches with 10 changes queued: ${smallDeltaRate.toFixed(0)}/s (${smallBytes} bytes)`);
  await b.stop();
}

let ri = 0;
const renewRate = await timed(SECS, CONC, async () => { const i = ri++ % N; ok(await request('PUT', `/eureka/v2/apps/APP${i % APPS}/i-${i}`), 'renew'); });
console.log(`renewals: ${renewRate.toFixed(0)}/s`);

const resolver = new Resolver({ timeout: 1000, tries: 1 });
resolver.setServers([`127.0.0.1:${agent.dnsPort}`]);
const toDns: number[] = [];
for (let k = 0; k < 20; k++) {
  const i = N + 1000 + k;
  const t0 = performance.now();
  ok(await request('POST', `/eureka/v2/apps/FRESH${k}`, body(i).replace(`APP${i % APPS}`, `FRESH${k}`), JSONH), 'register', 204);
  for (;;) {
    const a = await resolver.resolve4(`fresh${k}.service.consul`).catch(() => [] as string[]);
    if (a.length) break;
  }
  toDns.push(performance.now() - t0);
}
toDns.sort((a, b) => a - b);
console.log(`register → DNS answer: median ${toDns[10]!.toFixed(1)} ms, max ${toDns[19]!.toFixed(1)} ms`);

const cpu = cpus();
const machine = `${cpu.length} × ${cpu[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, embedded redis-server on loopback; agent, Redis and this driver on the same machine`;
const md = `# Eureka benchmark

\`bench/eureka/run.sh ${N} ${SECS}\` (${new Date().toISOString()}).
Machine: ${machine}. Shared with other engineers' work (load average at the end ${loadavg().map(x => x.toFixed(1)).join(' ')}): numbers vary between runs.

| What | Result |
|---|---|
| Eureka registrations (POST, ${CONC} concurrent) | ${regRate.toFixed(0)}/s |
| Full registry, ${count} instances in ${APPS} apps | ${(full.bytes / 1024).toFixed(0)} KiB gzip JSON (${(gunzipSync(full.body).length / 1024).toFixed(0)} KiB plain) |
| Full fetches (JSON, gzip; 4 concurrent) | ${fullRate.toFixed(0)}/s |
| First full fetch after a change (re-group + encode + gzip) | ${firstAfter[2]!.toFixed(0)} ms (median of 5) |
| Delta fetches, ${N} registrations in the 3-min queue (gzip) | ${bigDeltaRate.toFixed(0)}/s, ${(bigDelta.bytes / 1024).toFixed(0)} KiB |
| Delta fetches, 10 changes queued (second agent on the same Redis) | ${smallDeltaRate.toFixed(0)}/s, ${smallBytes} bytes |
| Renewals (PUT, ${CONC} concurrent) | ${renewRate.toFixed(0)}/s |
| Register → DNS answer (POST until an A query answers) | median ${toDns[10]!.toFixed(1)} ms, max ${toDns[19]!.toFixed(1)} ms (20 runs) |
`;
writeFileSync(join(ROOT, 'bench/eureka/RESULTS.md'), md);
console.log(md);
await agent.stop();
await redis.stop();
process.exit(0);

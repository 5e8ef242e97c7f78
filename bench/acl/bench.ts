/**
 * ACL cost, side by side in one run: two real `roster agent -dev` processes with the same catalog
 * (100 services × 3 instances on 30 nodes), one with ACLs off, one with `default_policy = "deny"`
 * and a token of ten `service_prefix` rules (+ `node_prefix ""` read) used both as the agent's
 * default token (DNS) and as the X-Consul-Token of every HTTP read. Rounds alternate off/on.
 *   DNS: dnsperf (1 client, 1 thread) over A queries for every service.
 *   HTTP: wrk (1 thread, 16 connections) on GET /v1/health/service/svc-42 and /v1/catalog/services.
 * Agents are pinned to SERVER_CPU, load generators to CLIENT_CPU. Writes bench/acl/RESULTS.md.
 *   node bench/acl/bench.ts            (ROUNDS=3 DUR=5 by default)
 */
import { execFileSync, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT, startAgent, type TestAgent } from '../../integration/helpers/agent.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DUR = Number(process.env.DUR ?? 5);
const SERVER_CPU = process.env.SERVER_CPU ?? '1';
const CLIENT_CPU = process.env.CLIENT_CPU ?? '0';
const LOAD = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const MGMT = '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

for (const t of ['dnsperf', 'wrk', 'taskset']) {
  try { execFileSync('sh', ['-c', `command -v ${t}`]); } catch { throw new Error(`missing ${t} (apt-get install dnsperf wrk util-linux)`); }
}

const dir = mkdtempSync(join(tmpdir(), 'roster-bench-acl-'));
const cfg = join(dir, 'acl.json');
writeFileSync(cfg, JSON.stringify({ acl: { enabled: true, default_policy: 'deny', tokens: { initial_management: MGMT } } }));
const quiet = ['-log-level', 'warn', '-hcl', 'limits { http_max_conns_per_client = 0 }'];
const off = await startAgent(null, { args: quiet });
const on = await startAgent(null, { args: [...quiet, '-config-file', cfg] });
const pin = (pid: number) => {
  const all = [String(pid), ...execFileSync('sh', ['-c', `pgrep -P ${pid} || true`]).toString().split('\n').filter(Boolean)];
  for (const p of all) execFileSync('taskset', ['-apc', SERVER_CPU, p], { stdio: 'ignore' });
};
pin(off.proc.pid!);
pin(on.proc.pid!);

async function put(a: TestAgent, path: string, body: unknown, token = ''): Promise<any> {
  const res = await fetch(a.http + path, { method: 'PUT', headers: token ? { 'X-Consul-Token': token } : {}, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

for (const a of [off, on]) {
  for (let s = 0; s < 100; s++) {
    for (let i = 0; i < 3; i++) {
      const node = `node-${(s * 3 + i) % 30}`;
      await put(a, '/v1/catalog/register', { Node: node, Address: `10.0.${(s * 3 + i) % 30}.1`, Service: { ID: `svc-${String(s).padStart(2, '0')}-${i}`, Service: `svc-${String(s).padStart(2, '0')}`, Port: 8000 + i }, Check: { CheckID: `c-${s}-${i}`, Name: 'c', Status: 'passing', ServiceID: `svc-${String(s).padStart(2, '0')}-${i}` } }, a === on ? MGMT : '');
    }
  }
}
const rules = [...Array(10).keys()].map(d => `service_prefix "svc-${d}" { policy = "read" }`).join('\n') + '\nnode_prefix "" { policy = "read" }';
await put(on, '/v1/acl/policy', { Name: 'bench', Rules: rules }, MGMT);
const TOKEN: string = (await put(on, '/v1/acl/token', { Policies: [{ Name: 'bench' }] }, MGMT)).SecretID;
await put(on, '/v1/agent/token/default', { Token: TOKEN }, MGMT);
await new Promise(r => setTimeout(r, 1500)); // the DNS server polls its token every second

const queries = join(dir, 'queries.txt');
writeFileSync(queries, [...Array(100).keys()].map(s => `svc-${String(s).padStart(2, '0')}.service.consul A`).join('\n') + '\n');

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile('taskset', ['-c', CLIENT_CPU, cmd, ...args], { maxBuffer: 1 << 24 }, (err, out, errOut) => (err ? reject(new Error(`${cmd}: ${errOut || err.message}`)) : resolve(out))));
}
/** CPU time (ms) the agent process has used: on a shared machine, CPU per request is steadier than throughput. */
const HZ = Number(execFileSync('getconf', ['CLK_TCK']).toString());
function cpuMs(a: TestAgent): [number, number] {
  const f = readFileSync(`/proc/${a.proc.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return [(Number(f[11]) + Number(f[12])) / HZ * 1000, Number(f[11]) / HZ * 1000];
}
/** rate: ops/s; usPerOp: agent CPU (user+system) per op; userUsPerOp: user CPU only (where ACL work runs; syscalls are the same either way). */
type Sample = { rate: number; usPerOp: number; userUsPerOp: number };
async function measure(a: TestAgent, go: () => Promise<{ rate: number; n: number }>): Promise<Sample> {
  const c0 = cpuMs(a);
  const r = await go();
  const c1 = cpuMs(a);
  return { rate: r.rate, usPerOp: (c1[0] - c0[0]) * 1000 / r.n, userUsPerOp: (c1[1] - c0[1]) * 1000 / r.n };
}
function dns(a: TestAgent): Promise<Sample> {
  return measure(a, async () => {
    const out = await run('dnsperf', ['-s', '127.0.0.1', '-p', String(a.dnsPort), '-d', queries, '-c', '1', '-T', '1', '-l', String(DUR), '-q', '200']);
    return { rate: Number(/Queries per second:\s+([\d.]+)/.exec(out)![1]), n: Number(/Queries completed:\s+(\d+)/.exec(out)![1]) };
  });
}
function http(a: TestAgent, path: string, token: string): Promise<Sample> {
  return measure(a, async () => {
    const args = ['-t1', '-c16', `-d${DUR}s`, ...(token ? ['-H', `X-Consul-Token: ${token}`] : []), a.http + path];
    const out = await run('wrk', args);
    if (/Non-2xx/.test(out)) throw new Error(`wrk saw errors on ${path}:\n${out}`);
    return { rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]), n: Number(/(\d+) requests in/.exec(out)![1]) };
  });
}

// Sanity: the ACL agent really filters and answers.
const check = await fetch(`${on.http}/v1/catalog/services`, { headers: { 'X-Consul-Token': TOKEN } });
if (check.headers.get('x-consul-results-filtered-by-acls') !== 'true') throw new Error('expected the ACL agent to filter (consul service hidden)');

type Row = { what: string; off: Sample[]; on: Sample[] };
const rows: Row[] = [
  { what: 'DNS A queries/s (dnsperf)', off: [], on: [] },
  { what: 'HTTP GET /v1/health/service/svc-42 req/s (wrk)', off: [], on: [] },
  { what: 'HTTP GET /v1/catalog/services req/s (wrk)', off: [], on: [] },
];
for (let r = 1; r <= ROUNDS; r++) {
  // The order alternates per round: the machine's other load then favours neither side.
  const sides = [['off', off, ''], ['on', on, TOKEN]] as const;
  for (const [side, a, tok] of r % 2 ? sides : [...sides].reverse()) {
    rows[0]![side].push(await dns(a));
    rows[1]![side].push(await http(a, '/v1/health/service/svc-42', tok));
    rows[2]![side].push(await http(a, '/v1/catalog/services', tok));
  }
  console.log(`round ${r}: ${rows.map(x => `${x.what.split(' (')[0]}: off ${x.off.at(-1)!.rate.toFixed(0)}/s ${x.off.at(-1)!.usPerOp.toFixed(1)} µs, on ${x.on.at(-1)!.rate.toFixed(0)}/s ${x.on.at(-1)!.usPerOp.toFixed(1)} µs`).join(' | ')}`);
}
await off.stop();
await on.stop();

const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
const lines = [
  '# ACL cost: ACLs off vs on (default deny, ten prefix rules), one run',
  '',
  `Machine: ${cpus().length} vCPU ${cpus()[0]?.model ?? ''}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared with other engineers' jobs (busy; numbers are noisy). Agents pinned to CPU ${SERVER_CPU}, dnsperf/wrk to CPU ${CLIENT_CPU}. ${ROUNDS} rounds × ${DUR} s, off/on order alternating per round; medians. Load average at start: ${LOAD}.`,
  `Catalog: 100 services × 3 instances on 30 nodes. Command: \`node bench/acl/bench.ts\` (ROUNDS=${ROUNDS} DUR=${DUR}).`,
  '',
  'Throughput swings with the other jobs on the machine; the agent\'s CPU time per request (utime+stime of the agent process / requests served) is the steadier measure of what ACLs add.',
  '',
  '| measure | off: rate | on: rate | on/off | off: CPU µs/op | on: CPU µs/op | on/off (CPU/op) | off: user µs/op | on: user µs/op | on/off (user/op) | rounds off (rate) | rounds on (rate) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ...rows.map(x => {
    const ro = median(x.off.map(v => v.rate)), rn = median(x.on.map(v => v.rate));
    const co = median(x.off.map(v => v.usPerOp)), cn = median(x.on.map(v => v.usPerOp));
    const uo = median(x.off.map(v => v.userUsPerOp)), un = median(x.on.map(v => v.userUsPerOp));
    return `| ${x.what} | ${ro.toFixed(0)} | ${rn.toFixed(0)} | ${(rn / ro * 100).toFixed(1)} % | ${co.toFixed(1)} | ${cn.toFixed(1)} | ${(cn / co * 100).toFixed(1)} % | ${uo.toFixed(1)} | ${un.toFixed(1)} | ${(un / uo * 100).toFixed(1)} % | ${x.off.map(v => v.rate.toFixed(0)).join(', ')} | ${x.on.map(v => v.rate.toFixed(0)).join(', ')} |`;
  }),
  '',
  ...(process.env.MICRO ? ['In-process, the guard\'s own cost per request (`node bench/acl/micro.ts`: token resolution from the cache, the route\'s check, the reply filter on a shared rendered body):', '', ...process.env.MICRO.trim().split('\n').map(l => `- ${l}`), ''] : []),
];
writeFileSync(join(ROOT, 'bench/acl/RESULTS.md'), lines.join('\n'));
console.log(lines.join('\n'));

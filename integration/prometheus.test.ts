/**
 * Prometheus scrapes the agent (issue 16): a real `prometheus` (Debian package) with a generated
 * config on loopback ports scrapes /v1/agent/metrics?format=prometheus every second; everything is
 * asserted through Prometheus's own HTTP API (/api/v1/query): the target is up, the DNS query count
 * rises after `dig`, and a check turning critical shows in the checks-by-status gauge.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';
import { freePort } from '../src/store/embedded-redis.ts';

async function startPrometheus(t: { teardown(fn: () => unknown): void }, target: string): Promise<{ query(q: string): Promise<number | null>; log(): string }> {
  const dir = mkdtempSync(join(tmpdir(), 'roster-prom-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:', '  scrape_interval: 1s', '  scrape_timeout: 900ms', '  evaluation_interval: 1s',
    'scrape_configs:', '  - job_name: roster', '    metrics_path: /v1/agent/metrics', '    params:', '      format: [prometheus]',
    '    static_configs:', `      - targets: ['${target}']`, '',
  ].join('\n'));
  const proc = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', d => { out += String(d); });
  proc.stderr!.on('data', d => { out += String(d); });
  t.teardown(() => { proc.kill('SIGKILL'); });
  const base = `http://127.0.0.1:${port}`;
  await until('prometheus ready', async () => proc.exitCode === null && (await fetch(`${base}/-/ready`)).ok, 30_000).catch(err => { throw new Error(`${(err as Error).message}\n${out}`); });
  return {
    log: () => out,
    /** The value of a scalar-like instant query (first series), null when it has none. */
    async query(q: string) {
      const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
      const j = await r.json() as { status: string; data: { result: { value: [number, string] }[] } };
      if (j.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(j)}`);
      return j.data.result.length ? Number(j.data.result[0]!.value[1]) : null;
    },
  };
}

test('prometheus: the agent is up, a DNS query count rises after dig, a check status change shows', async t => {
  const agent = await startAgent(t);
  const prom = await startPrometheus(t, `127.0.0.1:${agent.httpPort}`);
  const up = await until('up == 1', async () => (await prom.query('up{job="roster"}')) === 1 || undefined, 30_000).catch(err => { throw new Error(`${(err as Error).message}\n${prom.log()}`); });
  t.true(up);

  const q = `sum(consul_dns_domain_query_count{job="roster",node="${agent.node}"})`;
  const before = await until('a first DNS count scraped', async () => {
    const v = await prom.query(`count(consul_runtime_alloc_bytes{job="roster"})`);
    return v === 1 ? (await prom.query(q)) ?? 0 : undefined;
  }, 15_000).then(v => v as number).catch(() => 0);
  for (let i = 0; i < 5; i++) t.is((await dig(agent.dnsPort, 'consul.service.consul')).status, 'NOERROR');
  const after = await until('the DNS query count rose by 5', async () => { const v = await prom.query(q); return v !== null && v >= before + 5 ? v : undefined; }, 20_000);
  t.true(after >= before + 5);
  t.true((await prom.query('sum(roster_dns_responses{job="roster",rcode="NOERROR"})'))! >= 5);

  const critical = 'roster_catalog_checks{job="roster",status="critical"}';
  const reg = await agent.req('PUT', '/v1/agent/check/register', { ID: 'gate', Name: 'gate', TTL: '10m', Status: 'passing' });
  t.is(reg.status, 200, reg.text);
  await until('the passing check scraped', async () => (await prom.query('roster_catalog_checks{job="roster",status="passing"}'))! >= 2 || undefined, 20_000);
  const c0 = (await prom.query(critical)) ?? 0;
  t.is((await agent.req('PUT', '/v1/agent/check/fail/gate?note=down')).status, 200);
  const c1 = await until('the critical check scraped', async () => { const v = await prom.query(critical); return v !== null && v > c0 ? v : undefined; }, 20_000);
  t.is(c1, c0 + 1);
  // The HTTP timer of that very call, under Consul's name and labels.
  const fails = await until('consul_api_http for the check update', async () => prom.query('sum(consul_api_http_count{job="roster",method="PUT",path="v1_agent_check_fail_"})'), 20_000);
  t.true(fails! >= 1);
});

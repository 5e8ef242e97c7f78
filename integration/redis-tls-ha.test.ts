/**
 * TLS for Sentinel and Cluster (issue 12 §1): `rediss-sentinel://` and `rediss-cluster://` topologies
 * built from README's recipes plus its redis-tls recipe — plaintext ports off (`port 0`), client
 * certificates required, TLS replication, sentinel links and cluster bus — so every connection an
 * agent and a `roster worker` hold (command, subscribers, BullMQ queue and workers) must speak TLS.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSentinels } from './helpers/sentinel.ts';
import { startCluster } from './helpers/cluster.ts';
import { startAgent, ROSTER } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';

/** An HTTP check target on loopback; `hits` records when it was asked. */
async function target(t: { teardown(fn: () => unknown): void }) {
  const s = { healthy: true, hits: [] as number[], port: 0 };
  const srv = createServer((_req, res) => { s.hits.push(Date.now()); res.statusCode = s.healthy ? 200 : 500; res.end(); });
  await new Promise<void>(r => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => { srv.close(); });
  s.port = (srv.address() as { port: number }).port;
  return s;
}

test('tls: an agent and roster worker on a TLS-only Sentinel topology: DNS answers, the primary is SIGKILLed, writes and checks resume', async t => {
  const topo = await startSentinels(t, { replicas: 2, tls: true });
  const pki = topo.pki!;
  t.regex(topo.url, /^rediss-sentinel:\/\//);
  // Plaintext is off on the data nodes (asked over TLS): nothing but TLS can reach them.
  const probe = topo.client(await topo.primaryPort());
  await probe.connect();
  t.deepEqual(await probe.config('GET', 'port'), ['port', '0']);
  probe.disconnect();
  const pwFile = join(pki.dir, 'redis-password');
  writeFileSync(pwFile, topo.password + '\n', { mode: 0o600 });
  const agent = await startAgent(t, { redis: topo.url, args: ['-redis-password-file', pwFile, '-hcl', `${pki.hcl}\nredis_timeout = "2s"`, '-checks-workers', '0'] });
  const worker = spawn(ROSTER, ['worker', '-redis', topo.url, '-redis-password-file', pwFile, ...pki.workerFlags, '-concurrency', '5'], { stdio: 'ignore' });
  t.teardown(() => { worker.kill('SIGKILL'); });
  const hc = await target(t);
  t.is((await agent.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 80, Address: '127.0.0.41', Check: { HTTP: `http://127.0.0.1:${hc.port}/`, Interval: '1s', Timeout: '500ms' } })).status, 200);
  await until('the worker runs the check over TLS', async () => ((await agent.req('GET', '/v1/health/checks/web')).json as { Status: string }[])[0]?.Status === 'passing', 20_000);
  t.deepEqual((await dig(agent.dnsPort, 'web.service.consul', 'A')).answer.map(x => x.data), ['127.0.0.41']);

  const oldPort = await topo.primaryPort();
  const killedAt = Date.now();
  await topo.nodes.find(n => n.port === oldPort)!.kill('SIGKILL');
  // Writes resume by themselves (no restart): a new registration is acknowledged once a replica is promoted.
  let n = 0;
  await until('writes resume after the failover', async () => (await agent.req('PUT', '/v1/agent/service/register', { Name: 'after', ID: `after${n++}`, Port: 81, Address: '127.0.0.42' })).status === 200, 30_000);
  const resumedMs = Date.now() - killedAt;
  t.not(await topo.primaryPort(), oldPort, 'a replica was promoted');
  t.deepEqual((await dig(agent.dnsPort, 'web.service.consul', 'A')).answer.map(x => x.data), ['127.0.0.41'], 'DNS answers after the failover');
  await until('the new registration is in DNS', async () => (await dig(agent.dnsPort, 'after.service.consul', 'A')).answer.length > 0, 10_000);
  // The check schedule and the worker (BullMQ, over TLS) followed the failover: it runs again and sees a failure.
  await until('the check runs again after the failover', async () => hc.hits.some(h => h > killedAt + 1000), 20_000);
  hc.healthy = false;
  await until('the check turns critical after the failover', async () => ((await agent.req('GET', '/v1/health/checks/web')).json as { Status: string }[])[0]?.Status === 'critical', 20_000);
  t.log(`writes resumed ${resumedMs} ms after the primary was killed`);
  t.is(worker.exitCode, null, 'roster worker stayed up');
  t.is(agent.proc.exitCode, null);
  t.false(agent.log().includes(topo.password));
});

test('tls: two agents and a roster worker on a TLS-only Redis Cluster: writes, DNS and an HTTP check', async t => {
  const c = await startCluster(t, 3, 0, { tls: true });
  const pki = c.pki!;
  t.regex(c.url, /^rediss-cluster:\/\//);
  const env = { ROSTER_REDIS_PASSWORD: c.password };
  const a = await startAgent(t, { redis: c.url, env, args: ['-hcl', pki.hcl, '-checks-workers', '0'] });
  const b = await startAgent(t, { redis: c.url, env, args: ['-hcl', pki.hcl, '-checks-workers', '0'] });
  const worker = spawn(ROSTER, ['worker', '-redis', c.url, ...pki.workerFlags, '-concurrency', '5'], { stdio: 'ignore', env: { ...process.env, ...env } });
  t.teardown(() => { worker.kill('SIGKILL'); });
  const hc = await target(t);
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web1', Port: 80, Address: '127.0.0.51', Check: { HTTP: `http://127.0.0.1:${hc.port}/`, Interval: '1s', Timeout: '500ms' } })).status, 200);
  t.is((await b.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web2', Port: 80, Address: '127.0.0.52' })).status, 200);
  for (const ag of [a, b]) {
    await until('check passing, both instances in DNS', async () => (await dig(ag.dnsPort, 'web.service.consul', 'A')).answer.map(x => x.data).sort().join(',') === '127.0.0.51,127.0.0.52', 20_000);
  }
  hc.healthy = false;
  await until('the failing check takes web1 out of DNS on the other agent', async () => (await dig(b.dnsPort, 'web.service.consul', 'A')).answer.map(x => x.data).join(',') === '127.0.0.52', 20_000);
  t.is((await a.req('PUT', '/v1/kv/tls', 'cluster')).status, 200);
  t.is((await b.req('GET', '/v1/kv/tls?raw')).text, 'cluster');
  t.is(worker.exitCode, null, 'roster worker stayed up');
});

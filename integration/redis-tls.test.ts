/**
 * `rediss://` (issue 12 §1): an agent and `roster worker` reach a Redis that speaks only TLS and
 * requires client certificates, with the CA, certificate and key given as config keys / flags.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/store/embedded-redis.ts';
import { startAgent, ROSTER } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';
import { makePki } from './helpers/tls.ts';

test('tls: an agent and roster worker on a TLS-only Redis that requires client certificates', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-tls-'));
  makePki(dir);
  const port = await freePort();
  const password = 'tls-test-pw';
  writeFileSync(join(dir, 'redis.conf'), [
    'port 0', `tls-port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'save ""', `requirepass ${password}`,
    `tls-cert-file ${dir}/server.crt`, `tls-key-file ${dir}/server.key`, `tls-ca-cert-file ${dir}/ca.crt`, 'tls-auth-clients yes', '',
  ].join('\n'), { mode: 0o600 });
  const redis = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: 'ignore' });
  t.teardown(() => { redis.kill('SIGKILL'); });
  const url = `rediss://127.0.0.1:${port}`;
  const tlsHcl = `redis_tls_ca_file = "${dir}/ca.crt"\nredis_tls_cert_file = "${dir}/client.crt"\nredis_tls_key_file = "${dir}/client.key"`;
  const env = { ROSTER_REDIS_PASSWORD: password };
  const agent = await startAgent(t, { redis: url, env, args: ['-hcl', tlsHcl, '-checks-workers', '0'] });
  const worker = spawn(ROSTER, ['worker', '-redis', url, '-redis-tls-ca-file', `${dir}/ca.crt`, '-redis-tls-cert-file', `${dir}/client.crt`, '-redis-tls-key-file', `${dir}/client.key`], { stdio: 'ignore', env: { ...process.env, ...env } });
  t.teardown(() => { worker.kill('SIGKILL'); });
  t.is((await agent.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'w1', Port: 80, Address: '127.0.0.31', Check: { TCP: `127.0.0.1:${agent.httpPort}`, Interval: '1s' } })).status, 200);
  // The TCP check is run by the worker over TLS and turns passing (registered critical until then).
  await until('the worker ran the check', async () => {
    const c = (await agent.req('GET', '/v1/health/checks/web')).json as { Status: string }[];
    return c[0]?.Status === 'passing';
  }, 20_000);
  const a = await dig(agent.dnsPort, 'web.service.consul', 'A');
  t.deepEqual(a.answer.map(x => x.data), ['127.0.0.31']);
  t.is((await agent.req('PUT', '/v1/kv/tls', 'yes')).status, 200);
  t.is((await agent.req('GET', '/v1/kv/tls?raw')).text, 'yes');
});

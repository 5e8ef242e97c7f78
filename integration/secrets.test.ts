/**
 * Secrets and the data dir (issue 11 items 12, 13): the embedded Redis requires a random password
 * kept 0600 in a 0700 data dir; no log line, and no process's argv, shows the Redis password or
 * the gossip key; both can come from files or the environment.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { connect } from 'node:net';
import { startAgent, ROSTER } from './helpers/agent.ts';
import { testRedis } from './helpers/redis.ts';
import { waitFor } from '../test/checks/helpers.ts';
import { keysFor } from '../src/store/keys.ts';
import { until } from './helpers/wait.ts';

const mode = (p: string) => statSync(p).mode & 0o777;
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

function walk(d: string, out: string[] = []): string[] {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    out.push(p);
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

test('secrets: the embedded Redis needs a password kept 0600 in a 0700 data dir; no log line or argv shows it', async t => {
  const a = await startAgent(t, { args: ['-log-level', 'debug'] });
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 })).status, 200);
  await new Promise(r => setTimeout(r, 1500)); // AOF fsync (everysec) and the local-state snapshot
  const redisDir = join(a.dataDir, 'redis');
  const pw = readFileSync(join(redisDir, 'password'), 'utf8').trim();
  t.regex(pw, /^[0-9a-f]{64}$/);
  t.is(mode(a.dataDir), 0o700);
  const entries = walk(a.dataDir);
  t.true(entries.some(p => p.includes(join('redis', 'aof'))), 'the AOF is there');
  for (const p of entries) t.is(mode(p), statSync(p).isDirectory() ? 0o700 : 0o600, p);
  t.false(readFileSync(join(redisDir, 'redis.conf'), 'utf8').includes('\n\n'));

  const port = Number(/^port (\d+)$/m.exec(readFileSync(join(redisDir, 'redis.conf'), 'utf8'))![1]);
  // Without the password: refused (raw RESP, as any local user's redis-cli would send it).
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write('CONFIG GET requirepass\r\n'));
    s.once('data', d => { s.destroy(); resolve(String(d)); });
    s.once('error', reject);
  });
  t.regex(reply, /^-NOAUTH Authentication required/);
  const authed = new Redis({ port, host: '127.0.0.1', password: pw, maxRetriesPerRequest: 1 });
  t.is(await authed.ping(), 'PONG');
  authed.disconnect();

  const redisPid = Number(readFileSync(join(redisDir, 'roster-redis.pid'), 'utf8'));
  t.false(cmdline(redisPid).includes(pw), 'redis-server argv');
  t.false(cmdline(a.proc.pid!).includes(pw), 'agent argv');
  // The start-up line naming the Redis URL comes once the checks engine runs (just after HTTP answers).
  await until('the agent logs where its Redis is', async () => /Roster agent running version/.test(a.log()), 10_000);
  t.false(a.log().includes(pw), 'agent log');
  t.regex(a.log(), /redis=redis:\/\/:\[redacted\]@127\.0\.0\.1:\d+/);
});

test('secrets: an external Redis password and the gossip key from files; the worker from the environment; none in logs or argv', async t => {
  const redis = await testRedis();
  t.teardown(() => redis.stop());
  const dir = mkdtempSync(join(tmpdir(), 'roster-secrets-'));
  const pwFile = join(dir, 'redis-password');
  writeFileSync(pwFile, redis.password + '\n', { mode: 0o600 });
  const key = randomBytes(32).toString('base64');
  const keyFile = join(dir, 'gossip.key');
  writeFileSync(keyFile, key + '\n', { mode: 0o600 });
  const bare = `redis://127.0.0.1:${redis.port}`;

  const a = await startAgent(t, { redis: bare, args: ['-redis-password-file', pwFile, '-encrypt-file', keyFile, '-log-level', 'debug', '-checks-workers', '0'] });
  t.is((await a.req('PUT', '/v1/agent/service/register', { Name: 'web', Port: 80 })).status, 200);
  t.regex(a.log(), /gossip listening .*encrypted=true/);

  // The gossip key from the environment (Consul-style variable name) works the same.
  const b = await startAgent(t, { redis: bare, node: 'envnode', args: ['-redis-password-file', pwFile, '-log-level', 'debug', '-checks-workers', '0'], env: { CONSUL_ENCRYPT: key } });
  t.regex(b.log(), /gossip listening .*encrypted=true/);

  const w = spawn(ROSTER, ['worker', '-redis', bare, '-log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROSTER_REDIS_PASSWORD: redis.password } });
  let wout = '';
  w.stdout!.on('data', d => { wout += String(d); });
  w.stderr!.on('data', d => { wout += String(d); });
  t.teardown(() => { if (w.exitCode === null) w.kill('SIGKILL'); });
  await waitFor(() => wout.includes('Roster check worker running'), 10_000);
  // The worker is really connected: it heartbeats into Redis (the agents run no in-process worker).
  const raw = new Redis(redis.url);
  t.teardown(() => raw.disconnect());
  await waitFor(async () => (await raw.hkeys(keysFor('dc1').checkState)).some(k => k.startsWith('~w|')), 5000);

  for (const [who, log, pid] of [['agent', a.log(), a.proc.pid!], ['env agent', b.log(), b.proc.pid!], ['worker', wout, w.pid!]] as const) {
    t.false(log.includes(redis.password), `${who} log shows the Redis password`);
    t.false(log.includes(key), `${who} log shows the gossip key`);
    t.false(cmdline(pid).includes(redis.password), `${who} argv shows the Redis password`);
    t.false(cmdline(pid).includes(key), `${who} argv shows the gossip key`);
  }
  // A password given inside the URL (the old way) is still accepted, and still never logged.
  const c = await startAgent(t, { redis: redis.url, node: 'urlnode', args: ['-checks-workers', '0'] });
  await until('the agent logs where its Redis is', async () => /Roster agent running version/.test(c.log()), 10_000);
  t.false(c.log().includes(redis.password));
  t.regex(c.log(), /redis=redis:\/\/:\[redacted\]@127\.0\.0\.1:\d+/);
});

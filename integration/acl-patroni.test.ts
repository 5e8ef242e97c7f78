/**
 * Patroni 3.0.2 (Debian `patroni`, PostgreSQL 15) on an ACL-enabled agent (`default_policy = "deny"`)
 * with a token limited to its own key prefix, sessions and its service (`consul: token:` in its
 * YAML): two members elect a leader and fail over when the leader is killed, as without ACLs.
 * The same Patroni with a token lacking `key_prefix` write never takes the leader lock.
 * Patroni and PostgreSQL run as the `postgres` user (PostgreSQL refuses root) via `runuser`.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { freePort } from '../src/store/embedded-redis.ts';
import { sleep, until } from './helpers/wait.ts';

const MGMT = '6e5d4c3b-2a19-4f08-b7c6-d5e4f3a2b1c0';
const PG_BIN = '/usr/lib/postgresql/15/bin';
let agent: TestAgent;
let dir: string;
const members: { name: string; proc: ChildProcess; dataDir: string; log: () => string; api: number }[] = [];

async function put(path: string, body: unknown): Promise<any> {
  const r = await fetch(agent.http + path, { method: 'PUT', headers: { 'X-Consul-Token': MGMT }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}
async function tokenFor(name: string, rules: string): Promise<string> {
  await put('/v1/acl/policy', { Name: name, Rules: rules });
  return (await put('/v1/acl/token', { Description: name, Policies: [{ Name: name }] })).SecretID;
}
async function leaderKey(scope: string): Promise<string | null> {
  const r = await fetch(`${agent.http}/v1/kv/service/${scope}/leader?raw`, { headers: { 'X-Consul-Token': MGMT } });
  return r.status === 200 ? await r.text() : null;
}

const pgUid = Number(execFileSync('id', ['-u', 'postgres']).toString());
const pgGid = Number(execFileSync('id', ['-g', 'postgres']).toString());

async function startMember(scope: string, name: string, token: string) {
  const [api, pg] = [await freePort(), await freePort()];
  const home = join(dir, name);
  mkdirSync(home, { mode: 0o700 });
  chownSync(home, pgUid, pgGid);
  const yml = join(dir, `${name}.yml`);
  writeFileSync(yml, [
    `scope: ${scope}`, `name: ${name}`,
    'restapi:', `  listen: 127.0.0.1:${api}`, `  connect_address: 127.0.0.1:${api}`,
    'consul:', `  host: 127.0.0.1:${agent.httpPort}`, `  token: ${token}`, '  register_service: true',
    'bootstrap:', '  dcs:', '    ttl: 20', '    loop_wait: 2', '    retry_timeout: 5',
    '  initdb:', '  - encoding: UTF8',
    '  pg_hba:', '  - host replication replicator 127.0.0.1/32 trust', '  - host all all 127.0.0.1/32 trust', '  - local all all trust',
    'postgresql:', `  listen: 127.0.0.1:${pg}`, `  connect_address: 127.0.0.1:${pg}`, `  data_dir: ${home}/data`, `  bin_dir: ${PG_BIN}`, `  pgpass: ${home}/pgpass`,
    '  authentication:', '    replication: {username: replicator, password: rep}', '    superuser: {username: postgres, password: pg}',
    '  parameters:', `    unix_socket_directories: '${home}'`, '',
  ].join('\n'), { mode: 0o644 });
  // cwd: the member's own folder. Patroni runs as postgres and its multiprocessing children chdir to the inherited
  // cwd, which (a checkout in a 0700 mktemp folder, as CI makes) postgres may not enter: bootstrap would hang.
  const proc = spawn('runuser', ['-u', 'postgres', '--', 'patroni', yml], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: home });
  let out = '';
  proc.stdout!.on('data', d => { out += String(d); });
  proc.stderr!.on('data', d => { out += String(d); });
  const m = { name, proc, dataDir: join(home, 'data'), log: () => out, api };
  members.push(m);
  return m;
}

/** Kills a member hard: Patroni's process group, then its postmaster (Patroni starts it in a session of its own). */
function kill9(m: (typeof members)[number]): void {
  try { process.kill(-m.proc.pid!, 'SIGKILL'); } catch { /* gone */ }
  const pidFile = join(m.dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

test.before(async () => {
  for (const p of ['/usr/bin/patroni', `${PG_BIN}/postgres`, '/usr/sbin/runuser']) if (!existsSync(p) && !existsSync(p.replace('/usr/sbin', '/sbin'))) throw new Error(`${p} is missing: apt-get install patroni postgresql util-linux (make test-deps)`);
  dir = mkdtempSync(join(tmpdir(), 'roster-patroni-'));
  chmodSync(dir, 0o755);
  const cfg = join(dir, 'acl.json');
  writeFileSync(cfg, JSON.stringify({ acl: { enabled: true, default_policy: 'deny', tokens: { initial_management: MGMT } } }));
  agent = await startAgent(null, { args: ['-config-file', cfg] });
});
test.after.always(async () => {
  for (const m of members) kill9(m);
  await sleep(300);
  await agent?.stop();
});

test.serial('acl patroni: two members on a limited token elect a leader and fail over', async t => {
  const token = await tokenFor('patroni-pgacl', 'key_prefix "service/pgacl/" { policy = "write" }\nsession_prefix "" { policy = "write" }\nservice "pgacl" { policy = "write" }');
  const pg1 = await startMember('pgacl', 'pg1', token);
  const first = await until('pg1 leads', async () => (await leaderKey('pgacl')) === 'pg1' || undefined, 90_000).catch(err => {
    throw new Error(`${(err as Error).message}\n--- pg1 (first 6 KB) ---\n${pg1.log().slice(0, 6144)}\n--- pg1 (last 1 KB) ---\n${pg1.log().slice(-1024)}\n--- agent (last 4 KB) ---\n${agent.log().slice(-4096)}`);
  });
  t.true(first);
  await startMember('pgacl', 'pg2', token);
  await until('pg2 streams from pg1', async () => {
    const r = await fetch(`http://127.0.0.1:${pg1.api}/cluster`).then(x => x.json()).catch(() => null) as { members?: { name: string; role: string; state: string }[] } | null;
    return r?.members?.some(x => x.name === 'pg2' && x.role === 'replica' && (x.state === 'running' || x.state === 'streaming')) || undefined;
  }, 90_000);
  // both members registered their service through the ACL-checked agent API
  const svc = await fetch(`${agent.http}/v1/health/service/pgacl`, { headers: { 'X-Consul-Token': MGMT } }).then(x => x.json()) as { Service: { ID: string } }[];
  t.deepEqual(svc.map(s => s.Service.ID).sort(), ['pgacl/pg1', 'pgacl/pg2']);
  t.false(/ACLPermissionDenied|Permission denied/.test(pg1.log() + members[1]!.log()), 'no permission errors with the right token');
  // fail over: the leader dies hard; its session expires and pg2 takes the lock
  kill9(pg1);
  const t0 = Date.now();
  await until('pg2 leads', async () => (await leaderKey('pgacl')) === 'pg2' || undefined, 90_000);
  t.log(`failover took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const role = await until('pg2 promoted', async () => {
    const r = await fetch(`http://127.0.0.1:${members[1]!.api}/patroni`).then(x => x.json()).catch(() => null) as { role?: string } | null;
    return r?.role === 'master' || r?.role === 'primary' ? r.role : undefined;
  }, 60_000);
  t.truthy(role);
});

test.serial('acl patroni: a token without key_prefix write cannot take the leader lock', async t => {
  const token = await tokenFor('patroni-nolock', 'key_prefix "service/pgnolock/" { policy = "read" }\nsession_prefix "" { policy = "write" }\nservice "pgnolock" { policy = "write" }');
  const m = await startMember('pgnolock', 'pgx', token);
  await until('Patroni meets the refusal', async () => /Permission denied|ACLPermissionDenied|403/.test(m.log()) || undefined, 60_000);
  // give it several HA loops (loop_wait 2 s) to try
  await sleep(10_000);
  t.is(await leaderKey('pgnolock'), null);
  t.is(await fetch(`${agent.http}/v1/kv/service/pgnolock/initialize?raw`, { headers: { 'X-Consul-Token': MGMT } }).then(r => r.status), 404, 'nothing written under its prefix');
  t.regex(m.log(), /Permission denied: token with AccessorID '[0-9a-f-]{36}' lacks permission 'key:write' on "service\/pgnolock\//);
});

test.serial('acl patroni: a token without session:write gets 403 on session create; Patroni logs it and keeps retrying', async t => {
  const token = await tokenFor('patroni-nosession', 'key_prefix "service/pgnosess/" { policy = "write" }\nservice "pgnosess" { policy = "write" }');
  const m = await startMember('pgnosess', 'pgs', token);
  await until('the refusal is logged', async () => /lacks permission 'session:write'/.test(m.log()) || undefined, 60_000);
  const n1 = (m.log().match(/lacks permission 'session:write'/g) ?? []).length;
  await sleep(8000);
  t.true((m.log().match(/lacks permission 'session:write'/g) ?? []).length > n1, 'it retries');
  t.is(await leaderKey('pgnosess'), null);
  t.is(m.proc.exitCode, null, 'still running');
});

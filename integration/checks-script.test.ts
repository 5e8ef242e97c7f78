/**
 * Script checks (`Args`, issue 15 item 9) on real agents: refused unless enable_script_checks /
 * enable_local_script_checks; run by the registering agent with real /bin/sh processes: exit 0
 * passing, 1 warning, anything else critical; output captured up to 4 KB; on timeout the whole
 * process group is killed (a grandchild too).
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { sleep, until } from './helpers/wait.ts';

let on: TestAgent;
let off: TestAgent;
test.before(async () => {
  [on, off] = await Promise.all([startAgent(null, { args: ['-enable-script-checks'] }), startAgent(null)]);
});
test.after.always(async () => { await Promise.all([on?.stop(), off?.stop()]); });

const status = async (a: TestAgent, id: string) => ((await a.req('GET', '/v1/agent/checks')).json[id] ?? {}) as { Status?: string; Output?: string };

test('scripts disabled (the default): a check with Args is refused with Consul\'s message', async t => {
  const r = await off.req('PUT', '/v1/agent/check/register', { Name: 'sh', Args: ['/bin/true'], Interval: '10s' });
  t.is(r.status, 400);
  t.is(r.text, "Invalid check: Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true");
  const s = await off.req('PUT', '/v1/agent/service/register', { Name: 'svc', Check: { Args: ['/bin/true'], Interval: '10s' } });
  t.is(s.status, 400);
  t.deepEqual((await off.req('GET', '/v1/agent/checks')).json, {});
});

test('exit 0 passing, 1 warning, 2 critical; output captured', async t => {
  for (const [id, code, want] of [['s0', 0, 'passing'], ['s1', 1, 'warning'], ['s2', 2, 'critical']] as const) {
    const r = await on.req('PUT', '/v1/agent/check/register', { ID: id, Name: id, Args: ['/bin/sh', '-c', `echo out-${id}; echo err-${id} >&2; exit ${code}`], Interval: '1s', Status: code === 2 ? 'passing' : 'critical' });
    t.is(r.status, 200, r.text);
    const c = await until(`${id} ${want}`, async () => { const c = await status(on, id); return c.Status === want && c.Output ? c : undefined; }, 15_000);
    t.regex(c.Output!, new RegExp(`out-${id}`));
    t.regex(c.Output!, new RegExp(`err-${id}`));
  }
  const def = (await on.req('GET', '/v1/agent/checks')).json.s0;
  t.is(def.Type, 'script');
});

test('a service check with Args runs too (service definition, script_args alias)', async t => {
  t.is((await on.req('PUT', '/v1/agent/service/register', { Name: 'scripted', Check: { script_args: ['/bin/sh', '-c', 'exit 0'], Interval: '1s' } })).status, 200);
  await until('service check passing', async () => (await status(on, 'service:scripted')).Status === 'passing', 15_000);
  // (the node's own script checks s1/s2 may be failing: health/checks looks at the service's check alone)
  t.deepEqual((await on.req('GET', '/v1/health/checks/scripted')).json.map((c: { Status: string; Type: string }) => [c.Type, c.Status]), [['script', 'passing']]);
});

test('output is capped at 4 KB', async t => {
  t.is((await on.req('PUT', '/v1/agent/check/register', { ID: 'big', Name: 'big', Args: ['/bin/sh', '-c', 'head -c 20000 /dev/zero | tr "\\0" x'], Interval: '1s' })).status, 200);
  const c = await until('big output', async () => { const c = await status(on, 'big'); return c.Status === 'passing' ? c : undefined; }, 15_000);
  const xs = c.Output!.match(/x+/)![0].length;
  t.is(xs, 4096);
  t.regex(c.Output!, /truncated/);
});

test('timeout: critical, and the process group (a grandchild too) is killed', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-script-'));
  const pidFile = join(dir, 'pid');
  // The shell starts a background sleep (a grandchild of the agent), records its pid, then waits.
  const cmd = `sleep 30 & echo $! > ${pidFile}; wait`;
  t.is((await on.req('PUT', '/v1/agent/check/register', { ID: 'slow', Name: 'slow', Args: ['/bin/sh', '-c', cmd], Interval: '30s', Timeout: '1s', Status: 'passing' })).status, 200);
  const c = await until('timed out', async () => { const c = await status(on, 'slow'); return c.Status === 'critical' ? c : undefined; }, 15_000);
  t.is(c.Output, 'Timed out (1s) running check');
  await until('pid file', async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5000);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
  await until('grandchild killed', async () => !alive(), 5000);
  t.false(alive());
});

test('a deregistered script check stops running', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-script-'));
  const f = join(dir, 'runs');
  t.is((await on.req('PUT', '/v1/agent/check/register', { ID: 'count', Name: 'count', Args: ['/bin/sh', '-c', `echo x >> ${f}`], Interval: '1s' })).status, 200);
  await until('ran', async () => existsSync(f) && readFileSync(f, 'utf8').length >= 2, 15_000);
  t.is((await on.req('PUT', '/v1/agent/check/deregister/count')).status, 200);
  await sleep(1500);
  const n = readFileSync(f, 'utf8').length;
  await sleep(2500);
  t.is(readFileSync(f, 'utf8').length, n);
});

test('enable_local_script_checks: a loopback client may register a script check, a client on another address may not', async t => {
  const ip = Object.values(networkInterfaces()).flat().find(i => i && i.family === 'IPv4' && !i.internal)?.address;
  if (!ip) throw new Error('this test needs a non-loopback IPv4 address on the machine');
  const local = await startAgent(null, { args: ['-enable-local-script-checks', '-client', '0.0.0.0'] });
  try {
    const body = JSON.stringify({ Name: 'loc', Args: ['/bin/true'], Interval: '10s' });
    const remote = await fetch(`http://${ip}:${local.httpPort}/v1/agent/check/register`, { method: 'PUT', body });
    t.is(remote.status, 400);
    t.regex(await remote.text(), /Scripts are disabled on this agent/);
    const ok = await fetch(`http://127.0.0.1:${local.httpPort}/v1/agent/check/register`, { method: 'PUT', body });
    t.is(ok.status, 200);
    t.is((await local.req('GET', '/v1/agent/checks')).json.loc.Type, 'script');
  } finally {
    await local.stop();
  }
});

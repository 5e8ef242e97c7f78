/**
 * Integration: `roster run` with a real child server — registered only once its port accepts
 * connections, the check follows the child's own health, signals are forwarded, and it
 * deregisters and exits with the child's exit code.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { startAgent, ROSTER, type TestAgent } from './helpers/agent.ts';
import { freePort } from '../src/store/embedded-redis.ts';

import { sleep, until as untilMs } from './helpers/wait.ts';

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5000) => untilMs(what, fn, timeoutMs);

/** A child server: listens after `delay` ms; /exit?code=N exits with N; /sick makes /health answer 500; SIGTERM exits 7. */
const CHILD = `
const http = require('node:http');
let sick = false;
const port = Number(process.argv[1]);
const s = http.createServer((q, r) => {
  const u = new URL(q.url, 'http://x');
  if (u.pathname === '/exit') { r.end('bye'); setTimeout(() => process.exit(Number(u.searchParams.get('code'))), 50); return; }
  if (u.pathname === '/sick') { sick = true; r.end('ok'); return; }
  if (u.pathname === '/health') { r.statusCode = sick ? 500 : 200; r.end(sick ? 'sick' : 'ok'); return; }
  r.end('child ' + port);
});
process.on('SIGTERM', () => { console.log('child got SIGTERM'); process.exit(7); });
setTimeout(() => s.listen(port, '127.0.0.1'), Number(process.argv[2]));
`;

function run(t: { teardown(fn: () => unknown): void }, a: TestAgent, port: number, flags: string[], delay = 800) {
  const p = spawn(ROSTER, ['run', '-service', 'kid', '-port', String(port), '-http-addr', a.http, ...flags, '--', process.execPath, '-e', CHILD, String(port), String(delay)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', d => { out += String(d); });
  p.stderr!.on('data', d => { out += String(d); });
  const exit = new Promise<number | null>(r => p.once('exit', code => r(code)));
  t.teardown(() => { p.kill('SIGKILL'); });
  return { p, exit, out: () => out };
}

async function entries(a: TestAgent): Promise<{ id: string; port: number; status: string }[]> {
  const j = (await a.req('GET', '/v1/health/service/kid')).json as { Service: { ID: string; Port: number }; Checks: { ServiceID: string; Status: string }[] }[];
  return j.map(e => ({ id: e.Service.ID, port: e.Service.Port, status: e.Checks.find(c => c.ServiceID)?.Status ?? '' }));
}

test('run: registers once the port opens, follows the child health, deregisters and exits with its code', async t => {
  const a = await startAgent(t);
  const port = await freePort();
  const r = run(t, a, port, ['-tag', 'v1', '-check-http', '/health', '-ttl', '1500ms'], 1000);
  await sleep(500);
  t.deepEqual(await entries(a), [], 'not registered before the port accepts connections');
  await until('registered and passing', async () => (await entries(a))[0]?.status === 'passing');
  t.is((await entries(a))[0]!.port, port);
  await fetch(`http://127.0.0.1:${port}/sick`);
  await until('critical from our own probe', async () => (await entries(a))[0]?.status === 'critical', 4000);
  await fetch(`http://127.0.0.1:${port}/exit?code=3`);
  t.is(await r.exit, 3);
  t.deepEqual(await entries(a), []);
});

test('run: SIGTERM is forwarded to the child; the exit code is the child\'s', async t => {
  const a = await startAgent(t);
  const port = await freePort();
  const r = run(t, a, port, ['-check-tcp'], 100);
  await until('registered', async () => (await entries(a))[0]?.status === 'passing');
  r.p.kill('SIGTERM');
  t.is(await r.exit, 7);
  t.regex(r.out(), /child got SIGTERM/);
  t.deepEqual(await entries(a), []);
});

test('run: -agent-check makes the agent run the HTTP check', async t => {
  const a = await startAgent(t);
  const port = await freePort();
  const r = run(t, a, port, ['-check-http', '/health', '-agent-check', '-interval', '1s'], 100);
  await until('passing via the agent check', async () => (await entries(a))[0]?.status === 'passing', 6000);
  const checks = (await a.req('GET', '/v1/agent/checks')).json as Record<string, { Type: string }>;
  t.is(checks['service:kid']?.Type, 'http');
  await fetch(`http://127.0.0.1:${port}/exit?code=0`);
  t.is(await r.exit, 0);
  t.deepEqual(await entries(a), []);
});

test('run: a command that cannot start exits 127', async t => {
  const a = await startAgent(t);
  const p = spawn(ROSTER, ['run', '-service', 'x', '-port', '1', '-http-addr', a.http, '--', '/nonexistent/binary'], { stdio: 'ignore' });
  t.is(await new Promise<number | null>(r => p.once('exit', c => r(c))), 127);
});

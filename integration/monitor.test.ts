/**
 * Log streaming (issue 16): /v1/agent/monitor over a real HTTP connection (chunked, headers at once,
 * lines as they are logged, text or JSON), its errors, connections that go away, and the
 * `roster monitor` CLI following the log until interrupted.
 */
import test from 'ava';
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { startAgent, ROSTER } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';

/** Opens a monitor stream; collects what arrives. */
function openMonitor(base: string, query: string): Promise<{ status: number; headers: Record<string, unknown>; text(): string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/agent/monitor${query}`, res => {
      let buf = '';
      res.on('data', d => { buf += String(d); });
      res.on('error', () => {});
      resolve({ status: res.statusCode!, headers: res.headers, text: () => buf, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

test('monitor: debug lines stream as they are logged, text and JSON; bad level is refused', async t => {
  const agent = await startAgent(t);
  // Headers come at once, before any line (the agent may be quiet for long).
  const text = await openMonitor(agent.http, '?loglevel=debug');
  t.is(text.status, 200);
  t.is(text.headers['transfer-encoding'], 'chunked');
  t.regex(String(text.headers['content-type']), /^text\/plain/);
  const json = await openMonitor(agent.http, '?loglevel=INFO&logjson');
  t.is((await agent.req('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 80 })).status, 200);
  await until('the text line', async () => /\[INFO\]  agent: Synced service service=web-1\n/.test(text.text()), 10_000);
  // The agent logs at info; a debug monitor still gets debug lines (the HTTP request log, ...).
  await until('a JSON line', async () => json.text().includes('Synced service'), 10_000);
  t.regex(text.text(), /\[DEBUG\] agent\.http: Request finished method=PUT url=\/v1\/agent\/service\/register from=127\.0\.0\.1:\d+ latency=[\d.]+ms\n/);
  const lines = json.text().trim().split('\n').map(l => JSON.parse(l) as Record<string, string>);
  const synced = lines.find(l => l['@message'] === 'Synced service')!;
  t.is(synced['@level'], 'info');
  t.is(synced['@module'], 'agent');
  t.is(synced.service, 'web-1');
  t.regex(synced['@timestamp']!, /^\d{4}-\d\d-\d\dT/);
  t.false(lines.some(l => l['@level'] === 'debug'));
  text.close(); json.close();

  const bad = await agent.req('GET', '/v1/agent/monitor?loglevel=bogus');
  t.is(bad.status, 400);
  t.is(bad.text, 'Unknown log level: bogus');

  // Many monitors opened and dropped: the agent stays healthy and answers.
  for (let i = 0; i < 50; i++) (await openMonitor(agent.http, '?loglevel=trace')).close();
  t.is((await agent.req('GET', '/v1/agent/self')).status, 200);
});

test('roster monitor follows the log until interrupted', async t => {
  const agent = await startAgent(t);
  const run = (args: string[]) => {
    const p = spawn(ROSTER, ['monitor', '-http-addr', `127.0.0.1:${agent.httpPort}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', d => { out += String(d); });
    p.stderr!.on('data', d => { out += String(d); });
    const exited = new Promise<number | null>(r => p.once('exit', c => r(c)));
    t.teardown(() => p.kill('SIGKILL'));
    return { p, out: () => out, exited };
  };
  const text = run(['-log-level', 'debug']);
  const json = run(['-log-level', 'info', '-log-json']);
  // Both are attached once a line written after their start reaches them.
  await until('monitors attached', async () => {
    await agent.req('PUT', '/v1/agent/service/register', { Name: 'probe', ID: `probe`, Port: 1 });
    return text.out().includes('service=probe') && json.out().includes('"service":"probe"');
  }, 15_000);
  t.is((await agent.req('PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-1', Port: 81 })).status, 200);
  await until('the text line', async () => text.out().includes('agent: Synced service service=api-1'), 10_000);
  await until('the JSON line', async () => json.out().includes('"service":"api-1"'), 10_000);
  for (const l of json.out().trim().split('\n')) t.truthy(JSON.parse(l)['@message']);
  text.p.kill('SIGINT'); json.p.kill('SIGINT');
  t.is(await text.exited, 0);
  t.is(await json.exited, 0);

  const bad = run(['-log-level', 'loud']);
  t.is(await bad.exited, 1);
  t.regex(bad.out(), /Unknown log level: loud/);

  // The agent goes away: the CLI says so and exits 1.
  const orphan = run([]);
  await until('attached', async () => {
    await agent.req('PUT', '/v1/agent/service/register', { Name: 'probe2', ID: 'probe2', Port: 1 });
    return orphan.out().includes('service=probe2');
  }, 15_000);
  await agent.stop('SIGKILL');
  t.is(await orphan.exited, 1);
  t.regex(orphan.out(), /Remote side ended the monitor/);
});

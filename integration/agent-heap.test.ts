/** The launcher caps the agent's heap (issue 11 item 8): bin/roster passes V8 heap flags to `agent` only, overridable. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startAgent } from './helpers/agent.ts';

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

test('agent heap: bin/roster starts the agent with --max-old-space-size=1536 and --max-semi-space-size=8', async t => {
  const a = await startAgent(t);
  const args = cmdline(a.proc.pid!);
  t.true(args.includes('--max-old-space-size=1536'), args.join(' '));
  t.true(args.includes('--max-semi-space-size=8'));
});

test('agent heap: ROSTER_AGENT_NODE_FLAGS replaces the flags', async t => {
  const a = await startAgent(t, { env: { ROSTER_AGENT_NODE_FLAGS: '--max-old-space-size=300' } });
  const args = cmdline(a.proc.pid!);
  t.true(args.includes('--max-old-space-size=300'));
  t.false(args.some(x => x.startsWith('--max-semi-space-size')));
});

test('agent heap: bin/roster exposes gc, and once 1,500 parked watchers hang up the agent runs one memory-reducing GC', async t => {
  const a = await startAgent(t, { args: ['-log-level', 'debug', '-hcl', 'limits { http_max_conns_per_client = 0 \n http_max_blocking_queries_per_client = 0 }'] });
  t.true(cmdline(a.proc.pid!).includes('--expose-gc'));
  const first = await a.req('GET', '/v1/health/service/watched');
  const index = first.headers.get('x-consul-index');
  const socks: net.Socket[] = [];
  let connected = 0, answered = 0;
  for (let i = 0; i < 1500; i++) {
    const s = net.connect({ host: '127.0.0.1', port: a.httpPort, localAddress: `127.0.0.${2 + (i % 4)}` });
    s.on('connect', () => { connected++; s.write(`GET /v1/health/service/watched?index=${index}&wait=60s HTTP/1.1\r\nHost: x\r\n\r\n`); });
    s.once('data', () => answered++);
    s.on('error', () => {});
    socks.push(s);
    if (i % 250 === 249) await new Promise(r => setTimeout(r, 20));
  }
  for (let i = 0; i < 200 && connected < 1500; i++) await new Promise(r => setTimeout(r, 50));
  await new Promise(r => setTimeout(r, 2000)); // generous: every request parsed and parked
  t.is(connected, 1500);
  t.is(answered, 0, 'all parked');
  t.false(/memory-reducing GC/.test(a.log()), 'no trim while they wait');
  for (const s of socks) s.destroy();
  for (let i = 0; i < 400 && !/memory-reducing GC/.test(a.log()); i++) await new Promise(r => setTimeout(r, 50));
  const line = a.log().split('\n').find(l => l.includes('memory-reducing GC'));
  t.truthy(line, a.log().slice(-2000));
  t.regex(line!, /released\W+1[5-9]\d\d\b/);
});

/**
 * Gossip in the agent: a Roster agent and two real `serf agent`s join in every direction, see
 * each other with the right tags, swap user events and queries, and see failures and leaves;
 * three Roster agents sharing one Redis take a killed agent's services out of DNS.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, ROSTER } from './helpers/agent.ts';
import { SerfAgent, eventually } from './helpers/serf-agent.ts';
import { testRedis } from './helpers/redis.ts';
import { dig } from './helpers/dig.ts';

const exec = promisify(execFile);

/** memberlist LAN timing, halved, so that the failure cases stay short; the protocol is unchanged. */
function fastGossipConfig(): string {
  const f = join(mkdtempSync(join(tmpdir(), 'roster-cfg-')), 'gossip.json');
  writeFileSync(f, JSON.stringify({ gossip_lan: { probe_interval: '500ms', probe_timeout: '250ms', gossip_interval: '100ms', suspicion_mult: 3 } }));
  return f;
}

test('gossip: a Roster agent and two serf agents join in every direction, events and queries flow both ways, failures and leaves are seen', async t => {
  const a = await startAgent(t, { node: 'roster-1', args: ['-config-file', fastGossipConfig()] });
  const s1 = await SerfAgent.start({ name: 'serf-1', tags: { role: 'web', zone: 'a' } });
  const s2 = await SerfAgent.start({ name: 'serf-2', tags: { role: 'db' } });
  t.teardown(() => { s1.cleanup(); s2.cleanup(); });

  // serf-1 joins Roster; Roster joins serf-2 through the HTTP API.
  await s1.cli('join', `127.0.0.1:${a.serfPort}`);
  t.is((await a.req('PUT', `/v1/agent/join/127.0.0.1:${s2.bindPort}`)).status, 200);

  const members = async () => (await a.req('GET', '/v1/agent/members')).json as { Name: string; Status: number; Tags: Record<string, string>; Port: number }[];
  t.true(await eventually(async () => (await members()).filter(m => m.Status === 1).length === 3, 10_000), 'Roster sees 3 alive members');
  const ms = await members();
  t.deepEqual(ms.find(m => m.Name === 'serf-1')!.Tags, { role: 'web', zone: 'a' });
  t.is(ms.find(m => m.Name === 'serf-2')!.Port, s2.bindPort);
  t.is(ms.find(m => m.Name === 'roster-1')!.Tags.role, 'consul');
  for (const s of [s1, s2]) {
    t.true(await eventually(async () => (await s.members()).filter(m => m.status === 'alive').length === 3, 10_000), `${s.name} sees 3 alive`);
    const me = await s.member('roster-1');
    t.is(me?.tags.dc, 'dc1');
  }
  const cli = await exec(ROSTER, ['members', '-http-addr', `127.0.0.1:${a.httpPort}`]);
  t.regex(cli.stdout, /serf-2\s+127\.0\.0\.1:\d+\s+alive/);

  // A serf user event reaches Roster's event list; a Roster event reaches the serf agents.
  await s1.cli('event', 'deploy', 'v42');
  t.true(await eventually(async () => ((await a.req('GET', '/v1/event/list?name=deploy')).json as { Payload: string }[]).some(e => Buffer.from(e.Payload, 'base64').toString() === 'v42'), 10_000));
  t.is((await a.req('PUT', '/v1/event/fire/restart', 'now')).status, 200);
  t.true(await eventually(() => s2.userEvents().includes('restart:now'), 10_000), 'serf-2 got the Roster event');
  t.is(((await a.req('GET', '/v1/event/list?name=restart')).json as unknown[]).length, 1, 'recorded once');

  // A serf query is answered by Roster; a Roster query is answered by serf.
  const q = await s1.cli('query', '-format=json', '-timeout=3s', 'services');
  t.true(Object.keys(JSON.parse(q).Responses ?? {}).includes('roster-1'), q);
  const rq = await a.req('PUT', '/v1/roster/query/rostq?timeout=3s&ack', '');
  t.is(rq.status, 200);
  t.is(rq.json.Responses['serf-1']?.trim(), 'pong-from-serf-1');
  t.true(rq.json.Acks.includes('serf-2'));

  // SIGKILL of a serf agent: Roster reports it failed.
  s2.kill('SIGKILL');
  t.true(await eventually(async () => (await members()).find(m => m.Name === 'serf-2')?.Status === 4, 20_000), 'serf-2 failed');

  // SIGINT on Roster: serf reports it left.
  t.is(await a.stop('SIGINT'), 0);
  t.true(await eventually(async () => (await s1.member('roster-1'))?.status === 'left', 10_000), 'serf-1 sees roster-1 left');
});

test('gossip: three Roster agents on one Redis; a killed agent\'s services leave DNS within the failure-detection time, and come back when it returns', async t => {
  const r = await testRedis();
  t.teardown(() => r.stop());
  const cfg = fastGossipConfig();
  const a = await startAgent(t, { node: 'ra', redis: r.url, args: ['-config-file', cfg] });
  const b = await startAgent(t, { node: 'rb', redis: r.url, args: ['-config-file', cfg, '-join', `127.0.0.1:${a.serfPort}`] });
  const c = await startAgent(t, { node: 'rc', redis: r.url, args: ['-config-file', cfg, '-join', `127.0.0.1:${a.serfPort}`] });
  await c.req('PUT', '/v1/agent/service/register', { Name: 'pay', ID: 'pay1', Port: 9000, Address: '127.0.0.44' });
  await b.req('PUT', '/v1/agent/service/register', { Name: 'pay', ID: 'pay2', Port: 9000, Address: '127.0.0.45' });
  t.true(await eventually(async () => ((await a.req('GET', '/v1/agent/members')).json as { Status: number }[]).filter(m => m.Status === 1).length === 3, 10_000));
  t.deepEqual((await dig(a.dnsPort, 'pay.service.consul', 'A')).answer.map(x => x.data).sort(), ['127.0.0.44', '127.0.0.45']);

  const killedAt = Date.now();
  await c.stop('SIGKILL');
  t.true(await eventually(async () => (await dig(a.dnsPort, 'pay.service.consul', 'A')).answer.map(x => x.data).join() === '127.0.0.45', 20_000, 100));
  const detectMs = Date.now() - killedAt;
  t.log(`rc's services left DNS ${detectMs} ms after SIGKILL`);
  t.true(detectMs < 15_000);
  const health = (await b.req('GET', '/v1/health/node/rc')).json as { CheckID: string; Status: string; Output: string }[];
  t.is(health.find(x => x.CheckID === 'serfHealth')?.Status, 'critical');
  // The node stays in the catalog (it failed, it did not leave): its registrations come back with it.
  t.is((await b.req('GET', '/v1/catalog/node/rc')).status, 200);

  // An agent comes back on its own gossip port (memberlist treats a dead node at a new address as a conflict).
  const c2 = await startAgent(t, { node: 'rc', redis: r.url, dataDir: c.dataDir, args: ['-config-file', cfg, '-join', `127.0.0.1:${a.serfPort}`, '-serf-lan-port', String(c.serfPort)] });
  t.true(await eventually(async () => (await dig(a.dnsPort, 'pay.service.consul', 'A')).answer.length === 2, 20_000, 100));

  // A graceful leave (SIGINT) deregisters the node.
  await c2.stop('SIGINT');
  t.true(await eventually(async () => (await a.req('GET', '/v1/catalog/node/rc')).json === null, 10_000));
  t.deepEqual((await dig(a.dnsPort, 'pay.service.consul', 'A')).answer.map(x => x.data), ['127.0.0.45']);
});

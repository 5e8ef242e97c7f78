/**
 * Issue 15: what the official Go client (github.com/hashicorp/consul/api) needs from an agent.
 * The Go client itself is not installable here (no Go module proxy; Debian packages only the
 * deprecated armon/consul-api), so each point is driven by the closest real client: the Go lock
 * and semaphore protocols step for step through Debian's python3-consul (whose JSON keeps 64-bit
 * integers exact), the npm `consul` package, and raw HTTP where the Go client's exact request
 * matters (flags past 2^53, txn bodies, ?hash, ?cached).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ROSTER, startAgent, type TestAgent } from './helpers/agent.ts';
import { until } from './helpers/wait.ts';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Consul = require('consul') as new (o: { host: string; port: number }) => any;
const PY = '/usr/bin/python3';
const LOCKS = join(ROOT, 'integration/helpers/clients/goclient_locks.py');

let agent: TestAgent;
let dir: string;
test.before(async () => {
  if (!existsSync(PY)) throw new Error(`${PY} is missing: install python3-consul (make test-deps)`);
  dir = mkdtempSync(join(tmpdir(), 'roster-goclient-'));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ node_meta: { rack: 'r1' } }));
  writeFileSync(join(dir, 'empty.json'), ''); // Consul skips an empty file; so must start-up and reload
  agent = await startAgent(null, { args: ['-config-file', join(dir, 'meta.json'), '-config-file', join(dir, 'empty.json'), '-node-meta', 'env:prod'] });
});
test.after.always(async () => { await agent?.stop(); });

const raw = async (method: string, path: string, body?: string) => {
  const r = await fetch(agent.http + path, { method, body });
  return { status: r.status, headers: r.headers, text: await r.text() };
};
const b64 = (s: string) => Buffer.from(s).toString('base64');

function py(scenario: string): Promise<{ code: number; out: Record<string, unknown>; stderr: string }> {
  return new Promise(resolve => {
    execFile(PY, [LOCKS, String(agent.httpPort), scenario], { timeout: 60_000 }, (err, stdout, stderr) => {
      let out: Record<string, unknown> = {};
      try { out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'); } catch { out = { raw: stdout }; }
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, stderr });
    });
  });
}

// 1. 64-bit flags
for (const scenario of ['lock', 'semaphore', 'lock-conflict']) {
  test.serial(`Go client ${scenario} protocol (python-consul): flags past 2^53 exact`, async t => {
    const r = await py(scenario);
    t.is(r.code, 0, `${JSON.stringify(r.out)}\n${r.stderr}`);
    t.true(r.out.ok === true);
  });
}

test.serial('KV flags: the largest uint64 is exact through PUT ?flags, txn JSON, GET and recurse; past it refused', async t => {
  t.is((await raw('PUT', '/v1/kv/flags/max?flags=18446744073709551615', 'v')).text, 'true');
  t.regex((await raw('GET', '/v1/kv/flags/max')).text, /"Flags":18446744073709551615,/);
  const tx = await raw('PUT', '/v1/txn', `[{"KV":{"Verb":"set","Key":"flags/tx","Value":"${b64('v')}","Flags":3304740253564472344}},{"KV":{"Verb":"get","Key":"flags/tx"}}]`);
  t.is(tx.status, 200, tx.text);
  t.regex(tx.text, /"Flags":3304740253564472344,[^]*"Flags":3304740253564472344,/);
  t.regex((await raw('GET', '/v1/kv/flags/?recurse')).text, /"Key":"flags\/tx","Flags":3304740253564472344,/);
  t.regex((await raw('GET', '/v1/kv/flags/tx?pretty')).text, /"Flags": 3304740253564472344,/);
  const over = await raw('PUT', '/v1/kv/flags/over?flags=18446744073709551616', 'v');
  t.is(over.status, 500);
  t.regex(over.text, /value out of range/);
  const txOver = await raw('PUT', '/v1/txn', `[{"KV":{"Verb":"set","Key":"flags/o","Flags":18446744073709551616}}]`);
  t.is(txOver.status, 400);
  t.is((await raw('GET', '/v1/kv/flags/o')).status, 404);
});

test.serial('64-bit indexes: cas, txn Index and ?index past 2^53 are parsed whole and compared exactly; past 2^64 refused as Go does', async t => {
  // Indexes are Redis counters (far below 2^53); a client's value past it is still read exactly, never rounded
  // onto a real index, and quoted back as written.
  t.is((await raw('PUT', '/v1/kv/idx/a', 'v')).text, 'true');
  t.is((await raw('PUT', '/v1/kv/idx/a?cas=9007199254740993', 'w')).text, 'false');
  const cas = await raw('PUT', '/v1/kv/idx/a?cas=18446744073709551616', 'w');
  t.is(cas.status, 500);
  t.regex(cas.text, /^strconv\.ParseUint: parsing "18446744073709551616": value out of range/);
  const chk = await raw('PUT', '/v1/txn', '[{"KV":{"Verb":"check-index","Key":"idx/a","Index":18446744073709551615}}]');
  t.is(chk.status, 409);
  t.regex(chk.text, /"What":"current modify index \d+ != 18446744073709551615"/);
  const txCas = await raw('PUT', '/v1/txn', `[{"KV":{"Verb":"cas","Key":"idx/a","Value":"${b64('w')}","Index":9007199254740993}}]`);
  t.is(txCas.status, 409);
  t.regex(txCas.text, /index is stale/);
  t.is((await raw('GET', '/v1/kv/idx/a?raw')).text, 'v', 'nothing written');
  t.is((await raw('GET', '/v1/kv/idx/a?index=18446744073709551616')).status, 400);
  t.is((await raw('GET', '/v1/kv/idx/a?index=18446744073709551616')).text, 'Invalid index');
  // The largest uint64 as ?index is valid: the query blocks for its wait, then answers.
  const big = await raw('GET', '/v1/kv/idx/a?index=18446744073709551615&wait=200ms');
  t.is(big.status, 200);
});

test.serial('roster kv put -flags / kv get -detailed keep a 64-bit flag exact', async t => {
  const run = (args: string[]) => new Promise<{ code: number; out: string; err: string }>(resolve => {
    execFile(ROSTER, ['kv', args[0]!, '-http-addr', `127.0.0.1:${agent.httpPort}`, ...args.slice(1)], { timeout: 20_000 }, (e, out, err) => resolve({ code: e ? 1 : 0, out, err }));
  });
  const put = await run(['put', '-flags', '16210313421097356768', 'flags/cli', 'v']);
  t.is(put.code, 0, put.err);
  t.regex((await run(['get', '-detailed', 'flags/cli'])).out, /^Flags\s+16210313421097356768$/m);
  t.regex((await run(['get', '-format=json', 'flags/cli'])).out, /"Flags": 16210313421097356768,/);
  t.is((await run(['put', '-flags', '18446744073709551616', 'flags/cli', 'v'])).code, 1);
});

// 2. node_meta
test.serial('node_meta from the config file and -node-meta: catalog, health, ?node-meta and ?filter find the agent', async t => {
  const c = new Consul({ host: '127.0.0.1', port: agent.httpPort });
  const nodes = await c.catalog.node.list();
  const me = nodes.find((n: { Node: string }) => n.Node === agent.node);
  t.is(me.Meta.rack, 'r1');
  t.is(me.Meta.env, 'prod');
  t.deepEqual((await agent.req('GET', '/v1/catalog/nodes?node-meta=rack:r1&node-meta=env:prod')).json.map((n: { Node: string }) => n.Node), [agent.node]);
  t.deepEqual((await agent.req('GET', '/v1/catalog/nodes?node-meta=rack:r2')).json, []);
  t.is((await agent.req('GET', `/v1/catalog/service/consul?filter=${encodeURIComponent('NodeMeta.rack == "r1"')}`)).json.length, 1);
  t.is((await agent.req('GET', `/v1/health/service/consul?node-meta=env:prod`)).json.length, 1);
  t.is((await agent.req('GET', '/v1/agent/self')).json.Meta.rack, 'r1');
});

// 3. agent/checks
test.serial('agent/checks lists only the agent\'s checks: no serfHealth; maintenance checks come and go', async t => {
  const c = new Consul({ host: '127.0.0.1', port: agent.httpPort });
  t.false('serfHealth' in await c.agent.check.list());
  t.true((await agent.req('GET', `/v1/health/node/${agent.node}`)).json.some((x: { CheckID: string }) => x.CheckID === 'serfHealth'));
  t.is((await agent.req('PUT', '/v1/agent/maintenance?enable=true&reason=patching')).status, 200);
  t.is((await c.agent.check.list())._node_maintenance.Notes, 'patching');
  t.is((await agent.req('PUT', '/v1/agent/maintenance?enable=false')).status, 200);
  t.false('_node_maintenance' in await c.agent.check.list());
});

// 4. service fields and ContentHash
test.serial('service Locality, SocketPath and TaggedAddresses round-trip; ContentHash changes with the definition only; ?hash blocks', async t => {
  const def = { Name: 'loc', ID: 'loc1', Port: 80, SocketPath: '/run/loc.sock', Locality: { Region: 'eu-west', Zone: 'b' }, TaggedAddresses: { lan: { Address: '10.0.0.9', Port: 81 } } };
  t.is((await agent.req('PUT', '/v1/agent/service/register', def)).status, 200);
  const a = (await agent.req('GET', '/v1/agent/service/loc1')).json;
  t.is(a.SocketPath, '/run/loc.sock');
  t.deepEqual(a.Locality, { Region: 'eu-west', Zone: 'b' });
  t.deepEqual(a.TaggedAddresses.lan, { Address: '10.0.0.9', Port: 81 });
  const cat = (await agent.req('GET', '/v1/catalog/service/loc')).json[0];
  t.is(cat.ServiceSocketPath, '/run/loc.sock');
  t.deepEqual(cat.ServiceLocality, { Region: 'eu-west', Zone: 'b' });
  const hs = (await agent.req('GET', '/v1/health/service/loc')).json[0].Service;
  t.is(hs.SocketPath, '/run/loc.sock');
  t.deepEqual(hs.Locality, { Region: 'eu-west', Zone: 'b' });
  t.regex(a.ContentHash, /^[0-9a-f]{16}$/);
  await agent.req('PUT', '/v1/agent/service/register', def); // no-op re-registration
  t.is((await agent.req('GET', '/v1/agent/service/loc1')).json.ContentHash, a.ContentHash);
  const t0 = Date.now();
  const parked = agent.req('GET', `/v1/agent/service/loc1?hash=${a.ContentHash}&wait=10s`);
  await new Promise(r => setTimeout(r, 300));
  await agent.req('PUT', '/v1/agent/service/register', { ...def, Tags: ['v2'] });
  const woke = await parked;
  t.true(Date.now() - t0 < 8000, 'the blocked ?hash query returned on the change');
  t.not(woke.json.ContentHash, a.ContentHash);
  t.deepEqual(woke.json.Tags, ['v2']);
  t.is(woke.headers.get('x-consul-contenthash'), woke.json.ContentHash);
});

// 5. ?dc
test.serial('?dc= an unknown datacenter: 500 No path to datacenter on every endpoint that takes dc', async t => {
  for (const p of ['/v1/status/leader', '/v1/status/peers', '/v1/catalog/services', '/v1/catalog/nodes', `/v1/catalog/node/${agent.node}`, '/v1/health/service/consul',
    `/v1/health/node/${agent.node}`, '/v1/health/state/any', '/v1/kv/x', '/v1/session/list', '/v1/coordinate/nodes', `/v1/catalog/node-services/${agent.node}`]) {
    const r = await raw('GET', `${p}${p.includes('?') ? '&' : '?'}dc=nowhere`);
    t.is(r.status, 500, p);
    t.is(r.text, 'No path to datacenter', p);
    t.is((await raw('GET', `${p}${p.includes('?') ? '&' : '?'}dc=dc1`)).status === 500, false, `${p} with our own dc`);
  }
  t.is((await raw('PUT', '/v1/txn?dc=nowhere', '[]')).status, 500);
  t.is((await raw('GET', '/v1/agent/self?dc=nowhere')).status, 200, 'agent endpoints ignore dc');
});

// 6. sessions
test.serial('a session with only ServiceChecks still gets NodeChecks serfHealth', async t => {
  await agent.req('PUT', '/v1/agent/service/register', { Name: 'sc', Check: { TTL: '60s', Status: 'passing' } });
  // The Go client's SessionEntry body: unset fields marshalled as null / zero values.
  const { ID } = (await agent.req('PUT', '/v1/session/create', { CreateIndex: 0, ID: '', Name: 'go', Node: '', LockDelay: 0, Behavior: '', TTL: '', Checks: null, NodeChecks: null, ServiceChecks: [{ ID: 'service:sc', Namespace: '' }] })).json;
  const info = (await agent.req('GET', `/v1/session/info/${ID}`)).json[0];
  t.deepEqual(info.NodeChecks, ['serfHealth']);
  t.is(info.ServiceChecks[0].ID, 'service:sc');
  const none = (await agent.req('PUT', '/v1/session/create', { NodeChecks: [], ServiceChecks: [{ ID: 'service:sc' }] })).json.ID;
  t.deepEqual((await agent.req('GET', `/v1/session/info/${none}`)).json[0].NodeChecks, []);
});

// 7. txn
test.serial('txn: Node, Service, Check, Session and KV operations together; every failure reported, nothing written', async t => {
  const sid = (await agent.req('PUT', '/v1/session/create', {})).json.ID;
  const ok = await agent.req('PUT', '/v1/txn', [
    { Node: { Verb: 'set', Node: { Node: 'tx-node', Address: '10.1.1.1', Meta: { k: 'v' } } } },
    { Service: { Verb: 'set', Node: 'tx-node', Service: { ID: 'tx-web', Service: 'tx-web', Port: 8080, Tags: ['a'] } } },
    { Check: { Verb: 'set', Check: { Node: 'tx-node', CheckID: 'tx-chk', Name: 'tx check', Status: 'passing', ServiceID: 'tx-web' } } },
    { KV: { Verb: 'set', Key: 'tx/k', Value: b64('v') } },
    { Session: { Verb: 'delete', Session: { ID: sid } } },
  ]);
  t.is(ok.status, 200, ok.text);
  t.deepEqual(ok.json.Results.map((r: object) => Object.keys(r)[0]), ['Node', 'Service', 'Check', 'KV']);
  t.is(ok.json.Results[1].Service.Port, 8080);
  t.is((await agent.req('GET', '/v1/health/service/tx-web?passing')).json[0].Node.Node, 'tx-node');
  t.deepEqual((await agent.req('GET', `/v1/session/info/${sid}`)).json, []);
  const mi = (await agent.req('GET', '/v1/catalog/node/tx-node')).json.Node.ModifyIndex;
  const got = await agent.req('PUT', '/v1/txn', [{ Node: { Verb: 'get', Node: { Node: 'tx-node' } } }, { Service: { Verb: 'get', Node: 'tx-node', Service: { ID: 'tx-web' } } }]);
  t.is(got.json.Results[0].Node.ModifyIndex, mi);
  t.is(got.json.Results[1].Service.ID, 'tx-web');
  const bad = await agent.req('PUT', '/v1/txn', [
    { KV: { Verb: 'set', Key: 'tx/never', Value: b64('x') } },
    { Node: { Verb: 'cas', Node: { Node: 'tx-node', Address: '10.1.1.2', ModifyIndex: mi + 1000 } } },
    { Service: { Verb: 'get', Node: 'tx-node', Service: { ID: 'nope' } } },
    { KV: { Verb: 'get', Key: 'tx/missing' } },
    { Check: { Verb: 'delete-cas', Check: { Node: 'tx-node', CheckID: 'tx-chk', ModifyIndex: 1 } } },
    { Session: { Verb: 'delete', Session: { ID: '00000000-0000-0000-0000-00000000000a' } } },
  ]);
  t.is(bad.status, 409);
  t.is(bad.json.Results, null);
  t.deepEqual(bad.json.Errors.map((e: { OpIndex: number }) => e.OpIndex), [1, 2, 3, 4, 5]);
  t.is(bad.json.Errors[0].What, 'failed to set node "tx-node", index is stale');
  t.is(bad.json.Errors[2].What, 'key "tx/missing" doesn\'t exist');
  t.is((await agent.req('GET', '/v1/kv/tx/never')).status, 404, 'nothing written');
  t.is((await agent.req('GET', '/v1/catalog/node/tx-node')).json.Node.Address, '10.1.1.1');
  const del = await agent.req('PUT', '/v1/txn', [{ Node: { Verb: 'delete', Node: { Node: 'tx-node' } } }]);
  t.is(del.status, 200);
  t.is((await agent.req('GET', '/v1/catalog/node/tx-node')).json, null);
});

// 8. agent endpoints
test.serial('agent/self DebugConfig, agent/host, catalog node-services (npm consul + raw)', async t => {
  const c = new Consul({ host: '127.0.0.1', port: agent.httpPort });
  const self = await c.agent.self();
  t.is(self.DebugConfig.SerfAdvertiseAddrLAN, `tcp://127.0.0.1:${agent.serfPort}`);
  t.is(self.DebugConfig.NodeName, agent.node);
  t.deepEqual(self.DebugConfig.HTTPAddrs, [`tcp://127.0.0.1:${agent.httpPort}`]);
  const host = (await agent.req('GET', '/v1/agent/host')).json;
  t.true(host.Memory.total > 0);
  t.true(host.CPU.length > 0);
  t.is(typeof host.Host.hostname, 'string');
  const ns = (await agent.req('GET', `/v1/catalog/node-services/${agent.node}`)).json;
  t.is(ns.Node.Node, agent.node);
  t.true(Array.isArray(ns.Services) && ns.Services.some((s: { ID: string }) => s.ID === 'consul'));
  t.deepEqual((await agent.req('GET', '/v1/catalog/node-services/ghost')).json, { Node: null, Services: [] });
});

test.serial('coordinate update is stored and read back; bad dimensionality refused', async t => {
  const coord = { Vec: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], Error: 0.25, Adjustment: 0.01, Height: 0.002 };
  t.is((await agent.req('PUT', '/v1/coordinate/update', { Node: agent.node, Segment: '', Coord: coord })).status, 200);
  t.deepEqual((await agent.req('GET', `/v1/coordinate/node/${agent.node}`)).json[0].Coord, coord);
  t.deepEqual((await agent.req('GET', '/v1/coordinate/nodes')).json.find((e: { Node: string }) => e.Node === agent.node).Coord, coord);
  t.is((await agent.req('PUT', '/v1/coordinate/update', { Node: agent.node, Coord: { ...coord, Vec: [1, 2] } })).status, 400);
  t.is((await agent.req('PUT', '/v1/coordinate/update', { Node: 'ghost', Coord: coord })).status, 500);
});

test.serial('?cached: X-Cache MISS then HIT with Age', async t => {
  await agent.req('PUT', '/v1/agent/service/register', { Name: 'cached-svc' });
  const first = await raw('GET', '/v1/health/service/cached-svc?cached');
  t.is(first.headers.get('x-cache'), 'MISS');
  t.is(first.headers.get('age'), null);
  await new Promise(r => setTimeout(r, 1100));
  const second = await raw('GET', '/v1/health/service/cached-svc?cached');
  t.is(second.headers.get('x-cache'), 'HIT');
  t.true(Number(second.headers.get('age')) >= 1);
  t.is(second.text, first.text);
  t.is((await raw('GET', '/v1/catalog/services?cached')).headers.get('x-cache') !== null, true);
  t.is((await raw('GET', '/v1/health/service/cached-svc')).headers.get('x-cache'), null, 'only with ?cached');
});

test.serial('PUT /v1/agent/reload re-reads node_meta (an empty file is skipped); a broken file fails the reload and changes nothing', async t => {
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ node_meta: { rack: 'r9' } }));
  t.is((await agent.req('PUT', '/v1/agent/reload')).status, 200);
  await until('node meta reloaded', async () => (await agent.req('GET', `/v1/catalog/node/${agent.node}`)).json.Node.Meta.rack === 'r9', 10_000);
  t.is((await agent.req('GET', `/v1/catalog/node/${agent.node}`)).json.Node.Meta.env, 'prod', '-node-meta kept');
  writeFileSync(join(dir, 'meta.json'), '{ not json');
  const bad = await agent.req('PUT', '/v1/agent/reload');
  t.is(bad.status, 500);
  t.regex(bad.text, /Failed reloading: Error parsing/);
  t.is((await agent.req('GET', `/v1/catalog/node/${agent.node}`)).json.Node.Meta.rack, 'r9');
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ node_meta: { rack: 'r1' } }));
});

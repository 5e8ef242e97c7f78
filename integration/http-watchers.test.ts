/**
 * Many blocking queries on one service, over real loopback sockets against the real catalog and
 * health routes (in-process: a CatalogView fed directly, wired to the Notifier as the agent wires it).
 */
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CatalogView } from '../src/catalog/view.ts';
import type { CheckRec, NodeState, ServiceRec } from '../src/catalog/model.ts';
import { Notifier } from '../src/http/blocking.ts';
import { Router, listenHttp } from '../src/http/server.ts';
import { defaultHttpLimits } from '../src/config/schema.ts';
import { healthRoutes } from '../src/http/routes/health.ts';
import { catalogRoutes } from '../src/http/routes/catalog.ts';
import type { ApiDeps } from '../src/http/context.ts';
import { wireCheck, wireNode, wireNodeService, wireServiceNode } from '../src/consul/convert.ts';

const svc = (id: string, idx: number): ServiceRec => ({ ID: id, Service: 'web', Tags: ['v1'], Address: '10.0.0.9', Meta: { m: 'x' }, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 2, ModifyIndex: idx });
const chk = (node: string, sid: string, status: 'passing' | 'critical', idx: number): CheckRec => ({ Node: node, CheckID: `service:${sid}`, Name: 'ttl', Status: status, Notes: '', Output: 'ok', ServiceID: sid, ServiceName: 'web', ServiceTags: ['v1'], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 2, ModifyIndex: idx });
function nodeState(i: number, status: 'passing' | 'critical', idx: number): NodeState {
  const name = `n${String(i).padStart(3, '0')}`;
  const s = svc(`web-${i}`, 2);
  return { node: { ID: `id-${i}`, Node: name, Address: `10.0.${i >> 8}.${i & 255}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: { rack: 'r1' }, CreateIndex: 1, ModifyIndex: 1 }, services: new Map([[s.ID, s]]), checks: new Map([[`service:${s.ID}`, chk(name, s.ID, status, idx)]]) };
}

async function setup(t: { teardown(fn: () => unknown): void }) {
  const view = new CatalogView();
  const notifier = new Notifier();
  view.on('change', ch => {
    for (const s of ch.services) notifier.fire(`svc:${s}`);
    for (const n of ch.nodes) notifier.fire(`node:${n}`);
    if (ch.all) for (const s of view.serviceNames()) notifier.fire(`svc:${s}`);
    for (const tb of ['nodes', 'services', 'checks']) notifier.fire(`table:${tb}`);
  });
  view.replaceAll(Array.from({ length: 50 }, (_, i) => nodeState(i, 'passing', 3)), 3);
  view.serviceIndex.set('web', 3);
  view.tableIndex = { nodes: 3, services: 3, checks: 3 };
  // Count every read of the service's instances: what rendering one response costs.
  let reads = 0;
  const instances = view.instances.bind(view);
  view.instances = (name: string) => { reads++; return instances(name); };
  const deps = { config: { datacenter: 'dc1' }, redis: { status: 'ready' }, view, notifier } as unknown as ApiDeps;
  const router = new Router();
  healthRoutes(router, deps);
  catalogRoutes(router, deps);
  // Every watcher comes from 127.0.0.1: lift the per-client connection and blocking-query caps (issue 11).
  const server = await listenHttp(router, '127.0.0.1', 0, { ...defaultHttpLimits(), maxConnsPerClient: 0, maxBlockingPerClient: 0 });
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  return { view, notifier, port: (server.address() as AddressInfo).port, reads: () => reads };
}

function get(port: number, path: string, agent: http.Agent): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  });
}

test('watchers: 2,000 blocking queries on /v1/health/service woken by one check flip read the view once and get the exact JSON', async t => {
  const { view, notifier, port, reads } = await setup(t);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const N = 2000;
  const watchers: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>[] = [];
  for (let i = 0; i < N; i++) watchers.push(get(port, '/v1/health/service/web?index=3&wait=60s', agent));
  for (let i = 0; i < 200 && notifier.waiting < N; i++) await new Promise(r => setTimeout(r, 50));
  t.is(notifier.waiting, N, 'every watcher parked');
  const before = reads();
  view.putNode('n007', nodeState(7, 'critical', 9), 9);
  const got = await Promise.all(watchers);
  t.true(reads() - before <= 1, `the wake read the service ${reads() - before} times for ${N} watchers`);
  const want = JSON.stringify(view.instances('web').map(i => ({ Node: wireNode(i.node), Service: wireNodeService(i.service), Checks: i.checks.map(wireCheck) })));
  for (const g of got) {
    t.is(g.status, 200);
    t.is(g.headers['x-consul-index'], '9');
    t.is(g.headers['content-type'], 'application/json');
    t.is(g.body, want);
  }
  t.is(notifier.waiting, 0);
});

test('watchers: shared bodies are exactly the JSON of the same request answered alone (catalog/service with tag, ?pretty, ?filter)', async t => {
  const { view, port } = await setup(t);
  const agent = new http.Agent({ keepAlive: false });
  const inst = view.instances('web');
  const cases: [string, string][] = [
    ['/v1/catalog/service/web?tag=v1', JSON.stringify(inst.map(i => wireServiceNode(i.node, i.service)))],
    ['/v1/catalog/service/web?tag=v2', '[]'],
    ['/v1/health/service/web?passing&pretty', JSON.stringify(inst.map(i => ({ Node: wireNode(i.node), Service: wireNodeService(i.service), Checks: i.checks.map(wireCheck) })), null, 4) + '\n'],
    ['/v1/health/service/web?filter=' + encodeURIComponent('Node.Node == "n001"'), JSON.stringify(inst.filter(i => i.node.Node === 'n001').map(i => ({ Node: wireNode(i.node), Service: wireNodeService(i.service), Checks: i.checks.map(wireCheck) })))],
    ['/v1/catalog/services', '{"web":["v1"]}'],
  ];
  for (const [path, want] of cases) {
    const a = await get(port, path, agent);
    const b = await get(port, path, agent); // second answer comes from the shared render
    t.is(a.body, want, path);
    t.is(b.body, want, path);
    t.deepEqual(Object.keys(a.headers).filter(h => h !== 'date'), ['x-consul-index', 'x-consul-knownleader', 'x-consul-lastcontact', 'x-consul-effective-consistency', 'content-type', 'vary', 'connection', 'transfer-encoding']);
  }
  // A change to the service drops the shared answer: the next read sees it.
  view.putNode('n001', null, 10);
  view.serviceIndex.set('web', 10);
  const after = await get(port, '/v1/catalog/service/web?tag=v1', agent);
  t.is(after.headers['x-consul-index'], '10');
  t.is(JSON.parse(after.body).length, 49);
});

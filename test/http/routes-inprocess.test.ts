/**
 * Routes checked in-process (src/http/inprocess.ts): request in, response out, no socket, no Redis —
 * a real CatalogView and Notifier behind the real route modules. Milliseconds per test; the same
 * routes are exercised end to end by integration/ (real agent, real Redis).
 */
import test from 'ava';
import { Router } from '../../src/http/server.ts';
import { request } from '../../src/http/inprocess.ts';
import { Notifier } from '../../src/http/blocking.ts';
import { CatalogView } from '../../src/catalog/view.ts';
import { catalogRoutes } from '../../src/http/routes/catalog.ts';
import { healthRoutes } from '../../src/http/routes/health.ts';
import { statusRoutes } from '../../src/http/routes/status.ts';
import type { ApiDeps } from '../../src/http/context.ts';
import type { CheckRec, NodeState, ServiceRec } from '../../src/catalog/model.ts';

const svc = (id: string, name: string): ServiceRec => ({ ID: id, Service: name, Tags: ['v1'], Address: '', Meta: {}, Port: 80, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 2, ModifyIndex: 2 });
const chk = (node: string, sid: string, name: string, status: CheckRec['Status']): CheckRec => ({ Node: node, CheckID: `service:${sid}`, Name: 'ttl', Status: status, Notes: '', Output: '', ServiceID: sid, ServiceName: name, ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 2, ModifyIndex: 2 });
const node = (name: string, addr: string, services: ServiceRec[], checks: CheckRec[]): NodeState => ({
  node: { ID: `id-${name}`, Node: name, Address: addr, Datacenter: 'dc1', TaggedAddresses: {}, Meta: { rack: name === 'a' ? 'r1' : 'r2' }, CreateIndex: 1, ModifyIndex: 1 },
  services: new Map(services.map(s => [s.ID, s])), checks: new Map(checks.map(c => [c.CheckID, c])),
});

function api(redisStatus = 'ready') {
  const view = new CatalogView();
  view.replaceAll([
    node('a', '10.0.0.1', [svc('web-1', 'web')], [chk('a', 'web-1', 'web', 'passing')]),
    node('b', '10.0.0.2', [svc('web-2', 'web'), svc('db-1', 'db')], [chk('b', 'web-2', 'web', 'critical')]),
  ], 7);
  view.raiseIndexes({ nodes: 7, services: 7, checks: 7 }, { web: 7, db: 7 });
  const deps = { config: { datacenter: 'dc1', advertiseAddr: '10.0.0.1', ports: { server: 8300 } }, redis: { status: redisStatus }, view, notifier: new Notifier() } as unknown as ApiDeps;
  const r = new Router();
  statusRoutes(r, deps);
  catalogRoutes(r, deps);
  healthRoutes(r, deps);
  return r;
}

test('in-process: /v1/status/leader answers the server address while Redis is reachable, "" otherwise', async t => {
  t.deepEqual((await request(api(), 'GET', '/v1/status/leader')).json(), '10.0.0.1:8300');
  t.deepEqual((await request(api('reconnecting'), 'GET', '/v1/status/leader')).json(), '');
});

test('in-process: /v1/catalog/services lists services with their tags and X-Consul-Index', async t => {
  const res = await request(api(), 'GET', '/v1/catalog/services');
  t.is(res.status, 200);
  t.is(res.headers['content-type'], 'application/json');
  t.is(res.headers['x-consul-index'], '7');
  t.deepEqual(res.json(), { db: ['v1'], web: ['v1'] });
});

test('in-process: /v1/health/service/web?passing drops the critical instance; ?filter applies', async t => {
  const r = api();
  const all = (await request(r, 'GET', '/v1/health/service/web')).json() as { Node: { Node: string } }[];
  t.deepEqual(all.map(e => e.Node.Node), ['a', 'b']);
  const passing = (await request(r, 'GET', '/v1/health/service/web?passing')).json() as { Node: { Node: string } }[];
  t.deepEqual(passing.map(e => e.Node.Node), ['a']);
  const filtered = (await request(r, 'GET', '/v1/health/service/web?filter=' + encodeURIComponent('Node.Meta.rack == "r2"'))).json() as { Node: { Node: string } }[];
  t.deepEqual(filtered.map(e => e.Node.Node), ['b']);
  t.is((await request(r, 'GET', '/v1/health/service/web?passing=maybe')).status, 400);
});

test('in-process: /v1/health/state/critical and /v1/health/node/:node read the checks', async t => {
  const r = api();
  t.deepEqual(((await request(r, 'GET', '/v1/health/state/critical')).json() as { CheckID: string }[]).map(c => c.CheckID), ['service:web-2']);
  t.deepEqual(((await request(r, 'GET', '/v1/health/node/a')).json() as { CheckID: string }[]).map(c => c.CheckID), ['service:web-1']);
  t.deepEqual((await request(r, 'GET', '/v1/health/node/nope')).json(), []);
});

test("in-process: Consul's 404 for an unknown /v1 path, 405 with Allow for a wrong method", async t => {
  const r = api();
  const nf = await request(r, 'GET', '/v1/nope');
  t.is(nf.status, 404);
  t.is(nf.body, 'Invalid URL path: not a recognized HTTP API endpoint\n');
  const na = await request(r, 'DELETE', '/v1/catalog/services');
  t.is(na.status, 405);
  t.is(na.headers.allow, 'OPTIONS,GET');
});

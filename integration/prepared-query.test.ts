/**
 * Prepared queries on one agent, Consul's checklist (consul-queries-multidc.md §15 items 1–14, 17–18): CRUD shapes
 * and errors, execute and explain, health/tag filters, limit and near, templates, DNS with the query's TTL, and
 * Debian's python3-consul 0.7.1 creating (as a template) and executing a query.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startAgent, type TestAgent } from './helpers/agent.ts';
import { dig } from './helpers/dig.ts';
import { until } from './helpers/wait.ts';

const exec = promisify(execFile);
let a: TestAgent;

test.before(async () => {
  a = await startAgent(null, { node: 'pq1' });
  const reg = async (body: unknown) => { const r = await a.req('PUT', '/v1/catalog/register', body); if (r.status !== 200) throw new Error(r.text); };
  await reg({ Node: 'n1', Address: '10.1.0.1', NodeMeta: { rack: 'a' }, Service: { ID: 'r1', Service: 'redis', Tags: ['Primary'], Port: 6379 }, Checks: [{ CheckID: 'c1', Name: 'c1', Status: 'warning', ServiceID: 'r1' }] });
  await reg({ Node: 'n2', Address: '10.1.0.2', NodeMeta: { rack: 'b' }, Service: { ID: 'r2', Service: 'redis', Tags: ['primary', 'experimental'], Port: 6379 }, Checks: [{ CheckID: 'c1', Name: 'c1', Status: 'critical', ServiceID: 'r2' }] });
  await reg({ Node: 'n3', Address: '10.1.0.3', Service: { ID: 'r3', Service: 'redis', Tags: ['replica'], Port: 6380 } });
  await reg({ Node: 'n4', Address: '10.1.0.4', Service: { ID: 'm1', Service: 'mysql-customer', Tags: ['primary'], Port: 3306 } });
});
test.after.always(async () => { await a?.stop(); });

type Exec = { Service: string; Nodes: { Node: { Node: string; Address: string } }[]; DNS: { TTL: string }; Datacenter: string; Failovers: number };
const nodes = (e: Exec) => e.Nodes.map(n => n.Node.Node).sort();

test.serial('query: create, read (one-element array, top-level indexes), list, update, delete, with Consul\'s errors', async t => {
  const c = await a.req('POST', '/v1/query', { Name: 'redis-q', Service: { Service: 'redis' } });
  t.is(c.status, 200);
  const id = c.json.ID as string;
  t.regex(id, /^[0-9a-f-]{36}$/);
  const g = await a.req('GET', `/v1/query/${id}`);
  t.is(g.json.length, 1);
  t.like(g.json[0], { ID: id, Name: 'redis-q', Template: { Type: '' }, Service: { Service: 'redis', Failover: { NearestN: 0, Datacenters: null } } });
  t.true(g.json[0].CreateIndex > 0 && g.json[0].ModifyIndex === g.json[0].CreateIndex);
  t.deepEqual(Object.keys(g.json[0]), ['ID', 'Name', 'Session', 'Token', 'Template', 'Service', 'DNS', 'CreateIndex', 'ModifyIndex']);
  t.truthy(g.headers.get('x-consul-index'));
  t.true((await a.req('GET', '/v1/query')).json.some((q: { ID: string }) => q.ID === id));

  t.is((await a.req('POST', '/v1/query', { Name: 'x' })).text, 'Invalid prepared query: Must provide a Service name to query');
  t.is((await a.req('POST', '/v1/query', { Name: 'REDIS-Q', Service: { Service: 'redis' } })).text, "name 'REDIS-Q' aliases an existing query name");
  t.is((await a.req('POST', '/v1/query', { Name: id, Service: { Service: 'redis' } })).text, `name '${id}' aliases an existing query ID`);
  t.is((await a.req('POST', '/v1/query', { ID: id, Name: 'y', Service: { Service: 'redis' } })).text, 'ID must be empty when creating a new prepared query');
  t.is((await a.req('POST', '/v1/query', { Name: 'y', Service: { Service: 'redis', Failover: { NearestN: -1 } } })).text, "Invalid prepared query: Bad NearestN '-1', must be >= 0");
  t.regex((await a.req('POST', '/v1/query', { Name: 'y', Service: { Service: 'redis' }, DNS: { TTL: 'abc' } })).text, /^Invalid prepared query: Bad DNS TTL 'abc': /);
  t.is((await a.req('POST', '/v1/query', '{bad')).status, 400);
  const missing = '00000000-0000-4000-8000-000000000000';
  t.is((await a.req('GET', `/v1/query/${missing}`)).status, 404);
  t.is((await a.req('GET', '/v1/query/nosuch/execute')).text, 'Query not found');
  t.is((await a.req('PUT', `/v1/query/${missing}`, { Service: { Service: 'redis' } })).text, `Cannot modify non-existent prepared query: '${missing}'`);
  t.is((await a.req('POST', '/v1/query/redis-q/execute')).status, 405);

  const u = await a.req('PUT', `/v1/query/${id}`, { Name: 'redis-q', Service: { Service: 'redis', OnlyPassing: true }, DNS: { TTL: '10s' } });
  t.is(u.status, 200);
  t.is(u.text, '');
  const after = (await a.req('GET', `/v1/query/${id}`)).json[0];
  t.true(after.ModifyIndex > after.CreateIndex);
  t.is(after.DNS.TTL, '10s');
  const tmp = (await a.req('POST', '/v1/query', { Name: 'tmp', Service: { Service: 'redis' } })).json.ID;
  const d = await a.req('DELETE', `/v1/query/${tmp}`);
  t.is(d.status, 200);
  t.is(d.text, '');
  t.is((await a.req('GET', `/v1/query/${tmp}`)).status, 404);
});

test.serial('query: execute by ID and name; health, tags, node meta, IgnoreCheckIDs; limit and near', async t => {
  const mk = async (Name: string, s: Record<string, unknown>) => (await a.req('POST', '/v1/query', { Name, Service: { Service: 'redis', ...s } })).json.ID as string;
  const all = await mk('all', {});
  const byId = (await a.req('GET', `/v1/query/${all}/execute`)).json as Exec;
  t.like(byId, { Service: 'redis', Datacenter: 'dc1', Failovers: 0, DNS: { TTL: '' } });
  t.deepEqual(nodes(byId), ['n1', 'n3'], 'warning in, critical out');
  t.deepEqual(nodes((await a.req('GET', '/v1/query/redis-q/execute')).json), ['n3'], 'OnlyPassing drops warning');
  await mk('ign', { IgnoreCheckIDs: ['c1'] });
  t.deepEqual(nodes((await a.req('GET', '/v1/query/ign/execute')).json), ['n1', 'n2', 'n3']);
  await mk('tags', { Tags: ['primary', '!experimental'], IgnoreCheckIDs: ['c1'] });
  t.deepEqual(nodes((await a.req('GET', '/v1/query/tags/execute')).json), ['n1']);
  await mk('meta', { NodeMeta: { rack: 'a' } });
  t.deepEqual(nodes((await a.req('GET', '/v1/query/meta/execute')).json), ['n1']);
  t.is((await a.req('GET', '/v1/query/all/execute?limit=1')).json.Nodes.length, 1);
  t.regex((await a.req('GET', '/v1/query/all/execute?limit=abc')).text, /^Bad limit: strconv.Atoi/);
  for (let i = 0; i < 5; i++) t.is((await a.req('GET', '/v1/query/all/execute?near=n3')).json.Nodes[0].Node.Node, 'n3');
});

test.serial('query: templates (Regexp, match, name.*), longest prefix, one catch-all, template by ID refused; explain', async t => {
  const geo = await a.req('POST', '/v1/query', { Name: 'geo-db', Template: { Type: 'name_prefix_match', Regexp: '^geo-db-(.*?)-([^\\-]+?)$' }, Service: { Service: 'mysql-${match(1)}', Tags: ['${match(2)}'] } });
  t.is(geo.status, 200);
  const ex = (await a.req('GET', '/v1/query/geo-db-customer-primary/explain')).json.Query;
  t.like(ex, { Name: 'geo-db', Service: { Service: 'mysql-customer', Tags: ['primary'] } });
  t.deepEqual(nodes((await a.req('GET', '/v1/query/geo-db-customer-primary/execute')).json), ['n4']);
  await a.req('POST', '/v1/query', { Name: 'geo', Template: { Type: 'name_prefix_match' }, Service: { Service: 'x${name.suffix}' } });
  t.is((await a.req('GET', '/v1/query/geo-db-a-b/explain')).json.Query.Name, 'geo-db');
  t.is((await a.req('GET', '/v1/query/geo-zz/explain')).json.Query.Service.Service, 'x-zz');
  t.regex((await a.req('POST', '/v1/query', { Name: 'bad', Template: { Type: 'name_prefix_match', Regexp: '(' }, Service: { Service: 'x' } })).text, /^failed compiling template: Bad Regexp: /);
  t.is((await a.req('GET', `/v1/query/${geo.json.ID}/execute`)).text, 'prepared query templates can only be resolved up by name, not by ID');
  t.is((await a.req('POST', '/v1/query', { Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.full}' } })).status, 200);
  t.is((await a.req('POST', '/v1/query', { Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.full}' } })).text, 'a query template with an empty name already exists');
  t.deepEqual(nodes((await a.req('GET', '/v1/query/redis/execute')).json), ['n1', 'n3']);
});

test.serial('query: DNS <q>.query.consul A/SRV with the query TTL, RFC 2782 form, catch-all, unknown → NXDOMAIN', async t => {
  const p = a.dnsPort;
  const r = await until('redis-q in DNS', async () => { const x = await dig(p, 'redis-q.query.consul'); return x.answer.length ? x : undefined; });
  t.deepEqual(r.answer.map(x => [x.data, x.ttl]), [['10.1.0.3', 10]]);
  t.deepEqual((await dig(p, 'redis-q.query.consul', 'SRV')).answer.map(x => x.data), ['1 1 6380 n3.node.dc1.consul.']);
  t.deepEqual((await dig(p, '_redis-q._tcp.query.consul', 'SRV')).answer.map(x => x.data), ['1 1 6380 n3.node.dc1.consul.']);
  t.deepEqual((await dig(p, 'mysql-customer.query.consul')).answer.map(x => x.data), ['10.1.0.4'], 'the catch-all');
  t.deepEqual((await dig(p, 'geo-db-customer-primary.query.consul')).answer.map(x => x.data), ['10.1.0.4']);
  const none = await dig(p, 'nosuchservice.query.consul');
  t.is(none.status, 'NXDOMAIN');
  t.is(none.authority[0]?.type, 'SOA');
  t.is((await dig(p, 'redis-q.query.consul', 'AAAA')).status, 'NOERROR');
});

test.serial('query: a session-bound query goes when its session is destroyed; an unknown session is refused', async t => {
  t.is((await a.req('POST', '/v1/query', { Name: 'sq', Session: 'no-such-session', Service: { Service: 'redis' } })).text, 'invalid session "no-such-session"');
  const s = (await a.req('PUT', '/v1/session/create', { Node: 'pq1' })).json.ID as string;
  const id = (await a.req('POST', '/v1/query', { Name: 'sq', Session: s, Service: { Service: 'redis' } })).json.ID as string;
  t.is((await a.req('GET', `/v1/query/${id}`)).json[0].Session, s);
  t.is((await a.req('PUT', `/v1/session/destroy/${s}`)).status, 200);
  await until('the query is gone', async () => (await a.req('GET', `/v1/query/${id}`)).status === 404 || undefined, 5000);
  t.is((await a.req('GET', '/v1/query/sq/explain')).json.Query.Name, '', 'the name now falls to the catch-all template');
});

test.serial('query: python-consul 0.7.1 creates a query (a template, lower-case body) and executes it', async t => {
  const script = `
import consul, json
c = consul.Consul(port=${a.httpPort})
r = c.query.create('redis', name='pyq', onlypassing=True)
e = c.query.execute('pyq')
print(json.dumps({'id': r['ID'], 'nodes': sorted(n['Node']['Node'] for n in e['Nodes']), 'type': c.query.get(r['ID'])[0]['Template']['Type'], 'ex': c.query.explain('pyq')['Query']['Name']}))`;
  const { stdout } = await exec('/usr/bin/python3', ['-c', script]);
  const out = JSON.parse(stdout.trim());
  t.deepEqual(out.nodes, ['n3']);
  t.is(out.type, 'name_prefix_match');
  t.is(out.ex, 'pyq');
});

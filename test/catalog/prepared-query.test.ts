/** prepared-query: resolution, name_prefix_match templates, the execution filter and failover order (consul-queries-multidc.md §4–§6). */
import test from 'ava';
import { compileTemplate, failoverDcs, queryFilter, renderTemplate, resolveQuery, type PreparedQuery, type QueryService } from '../../src/catalog/prepared-query.ts';
import { byDistance } from '../../src/catalog/datacenters.ts';
import type { CheckRec, Instance } from '../../src/catalog/model.ts';

const svc = (s: Partial<QueryService> = {}): QueryService => ({
  Service: 'web', SamenessGroup: '', Failover: { NearestN: 0, Datacenters: null, Targets: null }, OnlyPassing: false, IgnoreCheckIDs: null, Near: '',
  Tags: null, NodeMeta: null, ServiceMeta: null, Connect: false, Peer: '', ...s,
});
let n = 0;
const query = (name: string, template = false, s: Partial<QueryService> = {}, regexp = ''): PreparedQuery => ({
  ID: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, Name: name, Session: '', Token: '',
  Template: { Type: template ? 'name_prefix_match' : '', Regexp: regexp, RemoveEmptyTags: false }, Service: svc(s), DNS: { TTL: '' }, CreateIndex: 1, ModifyIndex: 1,
});

test('prepared-query: resolve by ID, exact name (case-insensitive), then the longest template prefix; static beats templates', t => {
  const geo = query('geo', true, { Service: 'g-${name.suffix}' });
  const geoDb = query('geo-db', true, { Service: 'db-${name.suffix}' });
  const exact = query('geo-db-x');
  const all = [geo, geoDb, exact];
  t.is(resolveQuery(all, exact.ID).Name, 'geo-db-x');
  t.is(resolveQuery(all, 'GEO-DB-X').ID, exact.ID);
  t.is(resolveQuery(all, 'geo-db-y').Service.Service, 'db--y');
  t.is(resolveQuery(all, 'geo-zz').Service.Service, 'g--zz');
  t.throws(() => resolveQuery(all, 'other'), { message: 'Query not found' });
  t.throws(() => resolveQuery(all, geo.ID), { message: 'prepared query templates can only be resolved up by name, not by ID' });
  const catchAll = query('', true, { Service: '${name.full}' });
  t.is(resolveQuery([...all, catchAll], 'redis').Service.Service, 'redis');
});

test('prepared-query: templates render name.full/prefix/suffix, match(N) of the Regexp, map values and tags; RemoveEmptyTags', t => {
  const q = query('geo-db', true, { Service: 'mysql-${match(1)}', Tags: ['${match(2)}', '${match(7)}'], NodeMeta: { dc: '${name.prefix}' } }, '^geo-db-(.*?)-([^\\-]+?)$');
  const r = renderTemplate(q, 'geo-db-customer-primary');
  t.is(r.Service.Service, 'mysql-customer');
  t.deepEqual(r.Service.Tags, ['primary', '']);
  t.deepEqual(r.Service.NodeMeta, { dc: 'geo-db' });
  t.deepEqual(renderTemplate({ ...q, Template: { ...q.Template, RemoveEmptyTags: true } }, 'geo-db-customer-primary').Service.Tags, ['primary']);
  t.is(renderTemplate(query('web', true, { Service: '${name.full}|${name.prefix}|${name.suffix}' }), 'web-eu').Service.Service, 'web-eu|web|-eu');
  t.throws(() => compileTemplate(query('x', true, {}, '(')), { message: /^failed compiling template: Bad Regexp: / });
  t.throws(() => compileTemplate({ ...query('x'), Template: { Type: 'nope', Regexp: '', RemoveEmptyTags: false } }), { message: "failed compiling template: Bad Template.Type 'nope'" });
  t.throws(() => compileTemplate(query('x', true, { Service: '${bogus}' })), { message: /Bad format '\$\{bogus\}' in Service\.Service/ });
});

const check = (CheckID: string, Status: CheckRec['Status']): CheckRec => ({ CheckID, Status } as CheckRec);
const inst = (tags: string[], checks: CheckRec[], meta: Record<string, string> = {}): Instance => ({
  node: { Node: 'n', Meta: meta } as Instance['node'], service: { Service: 'web', Tags: tags, Meta: {} } as unknown as Instance['service'], checks,
});

test('prepared-query: filter drops critical, warning only with OnlyPassing, skips IgnoreCheckIDs; tags with ! and NodeMeta', t => {
  const warn = inst([], [check('c1', 'warning')]);
  const crit = inst([], [check('c1', 'critical')]);
  t.true(queryFilter(svc())(warn));
  t.false(queryFilter(svc({ OnlyPassing: true }))(warn));
  t.false(queryFilter(svc())(crit));
  t.true(queryFilter(svc({ IgnoreCheckIDs: ['c1'] }))(crit));
  const f = queryFilter(svc({ Tags: ['Primary', '!experimental'] }));
  t.true(f(inst(['primary'], [])));
  t.false(f(inst(['primary', 'EXPERIMENTAL'], [])));
  t.false(f(inst([], [])));
  t.true(queryFilter(svc({ NodeMeta: { rack: 'a' } }))(inst([], [], { rack: 'a' })));
  t.false(queryFilter(svc({ NodeMeta: { rack: 'a' } }))(inst([], [], { rack: 'b' })));
});

test('prepared-query: failover tries NearestN closest datacenters, then known Datacenters in order; Targets alone', t => {
  const dcs = ['dc1', 'dc3', 'dc2', 'dc4'];
  t.deepEqual(failoverDcs(svc({ Failover: { NearestN: 2, Datacenters: ['dc4', 'nope', 'dc3'], Targets: null } }), 'dc1', dcs), ['dc3', 'dc2', 'dc4']);
  t.deepEqual(failoverDcs(svc({ Failover: { NearestN: 0, Datacenters: ['dc1', 'dc2'], Targets: null } }), 'dc1', dcs), ['dc2']);
  t.deepEqual(failoverDcs(svc({ Failover: { NearestN: 0, Datacenters: null, Targets: [{ Peer: '', Datacenter: 'dc4' }, { Peer: '', Datacenter: 'dc2' }] } }), 'dc1', dcs), ['dc4', 'dc2']);
});

test('datacenters: local first, then by median RTT, unmeasured last, ties by name', t => {
  t.deepEqual(byDistance('dc2', new Map([['dc1', [30, 10, 20]], ['dc3', [5]], ['dc0', []], ['dc9', []]])), ['dc2', 'dc3', 'dc1', 'dc0', 'dc9']);
  t.deepEqual(byDistance('dc1', new Map()), ['dc1']);
});

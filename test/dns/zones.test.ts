/** Static zones: authoritative answers, the overlay inside consul., SIGHUP-style reload. */
import test from 'ava';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeServer, ask, rrs, node, svc, state, has, AA, SOA } from './helpers.ts';

const EX = `$ORIGIN ex.test.
$TTL 300
@ IN SOA ns1 hostmaster 7 3600 600 86400 60
  IN NS ns1
ns1 IN A 192.0.2.53
www IN A 192.0.2.1
    IN AAAA 2001:db8::1
api IN CNAME www
ext IN CNAME www.elsewhere.org.
mail IN MX 10 www
a.b.deep IN A 192.0.2.9
sub IN NS ns.sub
ns.sub IN A 192.0.2.99
`;
const OVERLAY = `$ORIGIN consul.
$TTL 30
@ IN NS ignored.example.
printer.static IN A 192.0.2.50
db.service IN A 192.0.2.77
`;

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(tmpdir(), 'roster-zones-'));
  for (const [f, c] of Object.entries(files)) writeFileSync(path.join(d, f), c);
  return d;
}

async function setup(files: Record<string, string>): Promise<{ server: ReturnType<typeof makeServer>['server']; d: string; r: { zones: string[]; errors: string[] } }> {
  const d = dir(files);
  const { server } = makeServer([state(node('foo', '127.0.0.1'), [svc('db'), svc('web')]), state(node('server1', '127.0.0.9'), [svc('consul')])], { zoneDirs: [d] });
  const r = await server.reloadZones();
  return { server, d, r };
}

test('dns zones: authoritative answers from a standalone zone', async t => {
  const { server, d, r } = await setup({ 'ex.test.zone': EX });
  t.deepEqual(r, { zones: ['ex.test.'], errors: [] });
  const a = await ask(server, 'WWW.ex.test', 'A');
  t.true(has(a.flags, AA)); t.deepEqual(rrs(a.answers), ['WWW.ex.test 300 A 192.0.2.1']);
  t.deepEqual(rrs((await ask(server, 'www.ex.test', 'AAAA')).answers), ['www.ex.test 300 AAAA 2001:db8::1']);
  t.deepEqual(rrs((await ask(server, 'api.ex.test', 'A')).answers), ['api.ex.test 300 CNAME www.ex.test', 'www.ex.test 300 A 192.0.2.1']);
  t.deepEqual(rrs((await ask(server, 'ext.ex.test', 'A')).answers), ['ext.ex.test 300 CNAME www.elsewhere.org']);
  const mx = await ask(server, 'mail.ex.test', 'MX');
  t.deepEqual(rrs(mx.answers), ['mail.ex.test 300 MX 10 www.ex.test']);
  t.deepEqual(rrs(mx.additionals), ['www.ex.test 300 A 192.0.2.1', 'www.ex.test 300 AAAA 2001:db8::1']);
  const nx = await ask(server, 'nope.ex.test', 'A');
  t.is(nx.rcode, 'NXDOMAIN'); t.deepEqual(rrs(nx.authorities), ['ex.test 60 SOA ns1.ex.test hostmaster.ex.test 3600 600 86400 60']);
  const nodata = await ask(server, 'www.ex.test', 'TXT');
  t.is(nodata.rcode, 'NOERROR'); t.is(nodata.answers!.length, 0); t.is(nodata.authorities![0]!.type, 'SOA');
  const ent = await ask(server, 'b.deep.ex.test', 'A');
  t.is(ent.rcode, 'NOERROR', 'empty non-terminal is NODATA');
  const ref = await ask(server, 'host.sub.ex.test', 'A');
  t.false(has(ref.flags, AA)); t.deepEqual(rrs(ref.authorities), ['sub.ex.test 300 NS ns.sub.ex.test']); t.deepEqual(rrs(ref.additionals), ['ns.sub.ex.test 300 A 192.0.2.99']);
  t.is((await ask(server, 'ex.test', 'ANY')).answers!.length, 2);
  rmSync(d, { recursive: true });
});

test('dns zones: the overlay shadows the catalog for exactly its names; apex NS stays dynamic', async t => {
  const { server, d } = await setup({ 'consul.zone': OVERLAY });
  t.deepEqual(rrs((await ask(server, 'printer.static.consul', 'A')).answers), ['printer.static.consul 30 A 192.0.2.50']);
  t.deepEqual(rrs((await ask(server, 'db.service.consul', 'A')).answers), ['db.service.consul 30 A 192.0.2.77']);
  const nodata = await ask(server, 'db.service.consul', 'AAAA');
  t.is(nodata.rcode, 'NOERROR'); t.deepEqual(rrs(nodata.authorities), [SOA()]);
  t.deepEqual(rrs((await ask(server, 'web.service.consul', 'A')).answers), ['web.service.consul 0 A 127.0.0.1']);
  t.deepEqual(rrs((await ask(server, 'consul', 'NS')).answers), ['consul 0 NS server1.node.dc1.consul']);
  t.is((await ask(server, 'nope.static.consul', 'A')).rcode, 'NXDOMAIN');
  rmSync(d, { recursive: true });
});

test('dns zones: reload keeps the last good version of a broken file, reports it, picks up new and removed files', async t => {
  const { server, d } = await setup({ 'ex.test.zone': EX });
  writeFileSync(path.join(d, 'ex.test.zone'), EX.replace('192.0.2.1', '999.0.2.1'));
  writeFileSync(path.join(d, 'two.test.zone'), '$TTL 5\n@ SOA ns hm 1 1 1 1 1\nx A 192.0.2.2\n');
  const r = await server.reloadZones();
  t.deepEqual(r.zones, ['ex.test.', 'two.test.']);
  t.is(r.errors.length, 1); t.regex(r.errors[0]!, /ex\.test\.zone: line 6: bad IPv4 address 999\.0\.2\.1/);
  t.deepEqual(rrs((await ask(server, 'www.ex.test', 'A')).answers), ['www.ex.test 300 A 192.0.2.1']);
  t.deepEqual(rrs((await ask(server, 'x.two.test', 'A')).answers), ['x.two.test 5 A 192.0.2.2']);
  writeFileSync(path.join(d, 'ex.test.zone'), EX.replace('192.0.2.1', '192.0.2.111'));
  rmSync(path.join(d, 'two.test.zone'));
  const r2 = await server.reloadZones();
  t.deepEqual(r2, { zones: ['ex.test.'], errors: [] });
  t.deepEqual(rrs((await ask(server, 'www.ex.test', 'A')).answers), ['www.ex.test 300 A 192.0.2.111']);
  t.is((await ask(server, 'x.two.test', 'A')).rcode, 'REFUSED');
  rmSync(d, { recursive: true });
});

test('dns zones: a zone outside the domain without SOA, and a duplicate origin, are errors', async t => {
  const { r, d } = await setup({ 'a.zone': '$ORIGIN x.test.\n$TTL 5\nh A 192.0.2.1\n', 'b.zone': EX, 'c.zone': EX });
  t.is(r.errors.length, 2);
  t.true(r.errors.some(e => /has no SOA/.test(e)));
  t.true(r.errors.some(e => /already loaded/.test(e)));
  rmSync(d, { recursive: true });
});

test('dns zones: the shipped zones/ folder loads and nsd-checkzone agrees with it', async t => {
  const zdir = new URL('../../zones/', import.meta.url).pathname;
  const { server } = makeServer([], { zoneDirs: [zdir] });
  const r = await server.reloadZones();
  t.deepEqual(r, { zones: ['example.internal.'], errors: [] });
  t.deepEqual(rrs((await ask(server, 'www.example.internal', 'A')).answers), ['www.example.internal 300 A 127.0.0.10']);
  let out = 'zone example.internal is ok';
  try { out = execFileSync('nsd-checkzone', ['example.internal', path.join(zdir, 'example.internal.zone')], { encoding: 'utf8' }); } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  t.regex(out, /is ok/);
});

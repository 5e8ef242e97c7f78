/**
 * Real `dig` against the in-process DnsServer on ephemeral loopback ports: UDP, TCP, EDNS,
 * TC → TCP retry with enable_truncate, pipelined TCP, idle timeout, static zones.
 */
import test from 'ava';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { startDnsFixture } from './helpers/dns-fixture.ts';
import { dig, answers, status, flags } from './helpers/dns.ts';
import { CatalogView } from '../src/catalog/view.ts';
import { defaultConfig } from '../src/config/schema.ts';
import { DnsServer } from '../src/dns/server.ts';

test('dns dig: UDP A, AA set, 3 shuffled answers, question case echoed', async t => {
  const f = await startDnsFixture();
  const out = await dig(f.port, 'WeB.SeRvIcE.CoNsUl', 'A');
  t.is(status(out), 'NOERROR');
  t.true(flags(out).includes('aa'));
  const a = answers(out);
  t.is(a.length, 3);
  t.true(a.every(l => l.startsWith('WeB.SeRvIcE.CoNsUl. 0 IN A 127.0.0.1')));
  await f.close();
});

test('dns dig: SRV over TCP with node targets and additional A + TXT', async t => {
  const f = await startDnsFixture();
  const out = await dig(f.port, '+tcp', '_web._tcp.service.consul', 'SRV');
  t.is(answers(out).length, 3);
  t.regex(out, /web1\.node\.dc1\.consul\.\s+0\s+IN\s+A\s+127\.0\.0\.10/);
  t.regex(out, /web1\.node\.dc1\.consul\.\s+0\s+IN\s+TXT\s+"rack=a"/);
  await f.close();
});

test('dns dig: EDNS 4096 gets all 40 answers and an OPT echoing 4096; plain UDP gets 3', async t => {
  const f = await startDnsFixture();
  const e = await dig(f.port, '+bufsize=4096', 'many.service.consul');
  t.is(answers(e).length, 40);
  t.regex(e, /; EDNS: version: 0, flags:; udp: 4096/);
  const p = await dig(f.port, '+noedns', 'many.service.consul');
  t.is(answers(p).length, 3);
  t.false(flags(p).includes('tc'));
  await f.close();
});

test('dns dig: with enable_truncate a trimmed UDP answer sets TC, dig retries over TCP and gets the full set', async t => {
  const f = await startDnsFixture({ enableTruncate: true });
  const out = await dig(f.port, '+noedns', 'many.service.consul');
  t.regex(out, /Truncated, retrying in TCP mode/);
  t.is(answers(out).length, 40);
  const ignore = await dig(f.port, '+noedns', '+ignore', 'many.service.consul');
  t.true(flags(ignore).includes('tc'));
  t.is(answers(ignore).length, 3);
  await f.close();
});

test('dns dig: NXDOMAIN + SOA, NODATA + SOA, NS with glue, REFUSED out of zone', async t => {
  const f = await startDnsFixture();
  const nx = await dig(f.port, 'nope.service.consul');
  t.is(status(nx), 'NXDOMAIN'); t.regex(nx, /consul\.\s+0\s+IN\s+SOA\s+ns\.consul\. hostmaster\.consul\./);
  const nd = await dig(f.port, 'web.service.consul', 'AAAA');
  t.is(status(nd), 'NOERROR'); t.regex(nd, /AUTHORITY: 1/);
  const ns = await dig(f.port, 'consul', 'NS');
  t.regex(ns, /consul\.\s+0\s+IN\s+NS\s+server1\.node\.dc1\.consul\./);
  t.regex(ns, /server1\.node\.dc1\.consul\.\s+0\s+IN\s+A\s+127\.0\.0\.1/);
  t.is(status(await dig(f.port, 'example.org')), 'REFUSED');
  await f.close();
});

test('dns dig: the shipped example zone is served', async t => {
  const f = await startDnsFixture({ zoneDirs: [new URL('../zones/', import.meta.url).pathname] });
  const out = await dig(f.port, 'api.example.internal', 'A');
  t.deepEqual(answers(out), ['api.example.internal. 60 IN CNAME www.example.internal.', 'www.example.internal. 300 IN A 127.0.0.10']);
  t.true(flags(out).includes('aa'));
  await f.close();
});

function frame(m: Buffer): Buffer { const l = Buffer.alloc(2); l.writeUInt16BE(m.length); return Buffer.concat([l, m]); }

test('dns dig: pipelined TCP queries on one connection are all answered, in order', async t => {
  const f = await startDnsFixture();
  const names = ['web.service.consul', 'db.service.consul', 'nope.service.consul', 'web1.node.consul', 'many.service.consul'];
  const qs = names.map((n, i) => dnsPacket.encode({ id: 100 + i, type: 'query', questions: [{ name: n, type: 'A', class: 'IN' }] }));
  const s = net.connect(f.port, '127.0.0.1');
  const replies = await new Promise<dnsPacket.Packet[]>((resolve, reject) => {
    let buf = Buffer.alloc(0); const got: dnsPacket.Packet[] = [];
    s.on('connect', () => s.write(Buffer.concat(qs.map(frame))));
    s.on('data', d => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { got.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)))); buf = buf.subarray(2 + buf.readUInt16BE(0)); }
      if (got.length === qs.length) resolve(got);
    });
    s.on('error', reject);
  });
  s.destroy();
  t.deepEqual(replies.map(r => r.id), [100, 101, 102, 103, 104]);
  t.deepEqual(replies.map(r => r.answers!.length), [3, 1, 0, 1, 40]);
  await f.close();
});

test('dns dig: an idle TCP connection is closed after the idle timeout', async t => {
  const view = new CatalogView();
  const c = defaultConfig();
  const server = new DnsServer({ view, config: { ...c, ports: { ...c.ports, dns: 0 } }, tcpIdleMs: 300 });
  const { tcpPort } = await server.listen();
  const s = net.connect(tcpPort, '127.0.0.1');
  const t0 = Date.now();
  await new Promise(r => s.on('close', r));
  const dt = Date.now() - t0;
  t.true(dt >= 250 && dt < 3000, `${dt} ms`);
  await server.close();
});

test('dns dig: dig +keepopen reuses one TCP connection for several questions', async t => {
  const f = await startDnsFixture();
  const out = await dig(f.port, '+tcp', '+keepopen', 'web.service.consul', 'db.service.consul', 'web1.node.consul');
  t.is((out.match(/status: NOERROR/g) ?? []).length, 3);
  await f.close();
});

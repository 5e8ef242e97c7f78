/**
 * Response-rate limiting over real UDP sockets on loopback (issue 11 item 7): a flood from one
 * /24 gets its rate, then TC=1 slips and drops, while another /24 is answered in full; with the
 * defaults on a loopback listener nothing is limited.
 */
import test from 'ava';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { CatalogView } from '../src/catalog/view.ts';
import { defaultConfig } from '../src/config/schema.ts';
import type { Config } from '../src/config/schema.ts';
import { DnsServer } from '../src/dns/server.ts';

async function serve(rl: Partial<Config['dns']['rateLimit']> | null): Promise<{ s: DnsServer; port: number }> {
  const c = defaultConfig();
  const view = new CatalogView();
  view.replaceAll([{ node: { ID: '', Node: 'web1', Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: { rack: 'a' }, CreateIndex: 1, ModifyIndex: 1 }, services: new Map(), checks: new Map() }], 1);
  const dns = rl ? { ...c.dns, rateLimit: { ...c.dns.rateLimit, ...rl } } : c.dns;
  const s = new DnsServer({ view, config: { ...c, ports: { ...c.ports, dns: 0 }, dns } });
  return { s, port: (await s.listen()).udpPort };
}

/** Sends n identical queries from `local`; resolves with what came back within 1.5 s of the last send. */
async function flood(port: number, local: string, n: number): Promise<{ full: number; tc: number; bytesIn: number; bytesOut: number }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>(r => sock.bind(0, local, () => r()));
  // Room for every reply: the answer thread answers a burst faster than this thread reads (the default ~200 KiB holds ~256 small datagrams).
  sock.setRecvBufferSize(4 << 20);
  const q = dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'web1.node.consul', type: 'A', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as never] });
  const got = { full: 0, tc: 0, bytesIn: 0, bytesOut: 0 };
  sock.on('message', m => { got.bytesOut += m.length; if (m[2]! & 0x02) got.tc++; else got.full++; });
  for (let i = 0; i < n; i++) { sock.send(q, port, '127.0.0.1'); got.bytesIn += q.length; if (i % 50 === 49) await new Promise(r => setImmediate(r)); }
  await new Promise(r => setTimeout(r, 1500));
  sock.close();
  return got;
}

test('dns rrl: a flood from one /24 is limited (rate, then every 2nd TC=1), another /24 is answered in full', async t => {
  const { s, port } = await serve({ enabled: true, exemptLoopback: false, responsesPerSecond: 20, slip: 2, window: 15 });
  t.teardown(() => s.close());
  const a = await flood(port, '127.0.0.1', 500);
  t.true(a.full >= 20 && a.full <= 80, `${a.full} full answers`);
  t.true(Math.abs(a.tc - (500 - a.full) / 2) <= 2, `${a.tc} TC slips`);
  t.true(a.bytesOut < a.bytesIn, `amplification ${(a.bytesOut / a.bytesIn).toFixed(2)}`);
  const b = await flood(port, '127.0.1.1', 10);
  t.is(b.full, 10, 'another prefix is not limited');
  t.true(s.rateLimitStats().dropped > 0);
});

test('dns rrl: with the defaults a loopback listener limits nothing', async t => {
  const { s, port } = await serve(null);
  t.teardown(() => s.close());
  const a = await flood(port, '127.0.0.1', 300);
  t.is(a.full, 300);
  t.is(a.tc, 0);
  t.false(s.rateLimitStats().on);
});

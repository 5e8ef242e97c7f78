/** remote-dc: which names go to another datacenter, and the cache: fresh, refreshed, stale while unreachable, bounded by max_stale (fake clock, fake forwarder). */
import test from 'ava';
import dnsPacket from 'dns-packet';
import { RemoteDcAnswers } from '../../src/dns/remote-dc.ts';
import { runtimeFrom } from '../../src/dns/runtime.ts';
import { LogThrottle } from '../../src/dns/log-throttle.ts';
import { parseRequest, type Query } from '../../src/dns/request.ts';
import type { DcDirectory, DcServer } from '../../src/catalog/datacenters.ts';
import { config, query } from './helpers.ts';

const server: DcServer = { name: 'b1.dc2', dc: 'dc2', http: '127.0.0.1:1', dns: '127.0.0.1:2', rttMs: 1 };
const dir = (servers: DcServer[] = [server]): DcDirectory => ({
  local: 'dc1', known: dc => dc === 'dc2', servers: dc => (dc === 'dc2' ? servers : []), datacenters: () => ['dc1', 'dc2'], markDown: () => {}, membersByDc: () => [],
});

/** A forwarder whose remote answers with `ip` while `up`, counting exchanges. */
function fakeForwarder() {
  const f = {
    up: true, ip: '10.0.0.1', calls: 0,
    acquire: () => true, release: () => {},
    exchangeUDP: async (msg: Buffer) => {
      f.calls++;
      if (!f.up) return null;
      const q = dnsPacket.decode(msg);
      return dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: q.questions, answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 0, data: f.ip }] });
    },
    exchangeTCP: async () => null,
  };
  return f;
}

function setup(dns: Partial<ReturnType<typeof config>['dns']> = {}, servers?: DcServer[]) {
  let now = 1_000_000;
  const fwd = fakeForwarder();
  const r = new RemoteDcAnswers(() => dir(servers), fwd, new LogThrottle(undefined), () => now);
  const rt = runtimeFrom(config({ dns: { dcCacheTtlMs: 5000, maxStaleMs: 60_000, ...dns } }));
  const ask = async (name = 'web.service.dc2.consul') => {
    const raw = query(name, 'A');
    const q = parseRequest(raw) as Query;
    const buf = await r.answer(rt, q, raw, 'udp', `A|${name}`, 'dc2');
    return buf ? (dnsPacket.decode(buf).answers ?? []).map(a => String((a as { data: unknown }).data)) : null;
  };
  return { r, rt, fwd, ask, advance: (ms: number) => { now += ms; } };
}

test('remote-dc: names of a datacenter the WAN pool knows go there; local, unknown, peer and SOA/NS stay here', t => {
  const { r, rt } = setup();
  t.is(r.target(rt, 'web.service.dc2.consul.', 1), 'dc2');
  t.is(r.target(rt, 'v1.web.service.dc2.consul.', 1), 'dc2');
  t.is(r.target(rt, '_web._tcp.service.dc2.consul.', 33), 'dc2');
  t.is(r.target(rt, 'b1.node.dc2.consul.', 1), 'dc2');
  t.is(r.target(rt, 'q.query.dc2.consul.', 1), 'dc2');
  t.is(r.target(rt, 'web.service.dc2.dc.consul.', 1), 'dc2');
  t.is(r.target(rt, 'web.service.dc1.consul.', 1), null);
  t.is(r.target(rt, 'web.service.consul.', 1), null);
  t.is(r.target(rt, 'web.service.nope.consul.', 1), null);
  t.is(r.target(rt, 'web.service.p1.peer.consul.', 1), null);
  t.is(r.target(rt, 'web.service.dc2.consul.', 6), null);
  t.is(r.target(rt, 'web.service.dc2.consul.', 2), null);
});

test('remote-dc: asked once, then served from the cache for dc_cache_ttl; refreshed after', async t => {
  const { fwd, ask, advance } = setup();
  t.deepEqual(await ask(), ['10.0.0.1']);
  fwd.ip = '10.0.0.2';
  advance(4999);
  t.deepEqual(await ask(), ['10.0.0.1']);
  t.is(fwd.calls, 1);
  advance(2);
  t.deepEqual(await ask(), ['10.0.0.2']);
  t.is(fwd.calls, 2);
});

test('remote-dc: an unreachable datacenter gets the stale answer up to max_stale, then nothing; with allow_stale off, nothing', async t => {
  const s = setup();
  t.deepEqual(await s.ask(), ['10.0.0.1']);
  s.fwd.up = false;
  s.advance(30_000);
  t.deepEqual(await s.ask(), ['10.0.0.1']);
  t.is(s.r.staleServed, 1);
  s.advance(40_000); // past ttl + max_stale
  t.is(await s.ask(), null);

  const off = setup({ allowStale: false });
  t.deepEqual(await off.ask(), ['10.0.0.1']);
  off.fwd.up = false;
  off.advance(6000);
  t.is(await off.ask(), null);
});

test('remote-dc: no reachable server and nothing cached → null (SERVFAIL), without an exchange', async t => {
  const s = setup({}, []);
  t.is(await s.ask(), null);
  t.is(s.fwd.calls, 0);
});

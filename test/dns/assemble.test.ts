/**
 * Service answers assembled from per-instance records (src/dns/assemble.ts) against the general
 * path (records.ts domainReply + truncate.ts + encodeMsg) for the same instance order: the bytes
 * must be identical, trimming included, over generated catalogs that exercise node and address
 * targets, IPv6, node-meta TXT, duplicates, names that push records past the 0x3fff compression
 * limit, and every transport/limit combination.
 */
import test from 'ava';
import { CatalogView } from '../../src/catalog/view.ts';
import type { NodeState } from '../../src/catalog/model.ts';
import { runtimeFrom } from '../../src/dns/runtime.ts';
import { newCtx, domainReply, serviceQuestion } from '../../src/dns/records.ts';
import { trimUDP, trimTCP } from '../../src/dns/truncate.ts';
import { encodeMsg, T } from '../../src/dns/wire.ts';
import { assemble } from '../../src/dns/assemble.ts';
import { instanceRecs, nameRef } from '../../src/dns/instance-records.ts';
import type { InstRecs } from '../../src/dns/instance-records.ts';
import { isVisible } from '../../src/catalog/model.ts';
import { prng } from '../../src/util/prng.ts';
import { node, svc, state, check, config } from './helpers.ts';
import type { ConfigPatch } from './helpers.ts';

function catalog(seed: number, instances: number, longNames: boolean): NodeState[] {
  const r = prng(seed);
  const ri = (n: number): number => Math.floor(r() * n);
  const out: NodeState[] = [];
  let made = 0;
  for (let n = 0; made < instances; n++) {
    const v6 = r() < 0.15;
    const ip = v6 ? `2001:db8::${(n + 1).toString(16)}` : `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const name = (longNames ? `Node-${'x'.repeat(20 + ri(30))}-` : r() < 0.3 ? 'N' : 'n') + n;
    const meta: Record<string, string> = r() < 0.5 ? { 'consul-network-segment': '', ...(r() < 0.5 ? { rack: `r${ri(9)}` } : {}) } : {};
    const tagged: Record<string, string> = r() < 0.1 ? { lan_ipv4: `192.168.${ri(255)}.${ri(255)}` } : {};
    const services = []; const checks = [];
    for (let k = 1 + ri(3); k > 0 && made < instances; k--, made++) {
      const id = `web-${made}`;
      const addr = r() < 0.25 ? (r() < 0.2 ? `2001:db8:1::${ri(50).toString(16)}` : `172.16.0.${ri(40)}`) : '';
      services.push(svc('web', { id, address: addr, port: 8000 + ri(4), tags: r() < 0.5 ? ['v1'] : ['v2'], weights: { Passing: 1 + ri(3), Warning: ri(2) } }));
      const st = r(); checks.push(check(name, `c-${id}`, st < 0.1 ? 'critical' : st < 0.25 ? 'warning' : 'passing', id, 'web'));
    }
    out.push(state(node(name, ip, { meta, tagged }), services, checks));
  }
  return out;
}

/** The general path for a fixed instance order (Math.random pinned so every shuffle is the identity). */
function reference(view: CatalogView, p: ConfigPatch, lname: string, qtype: number, udp: boolean, edns: number | null): Buffer {
  const rt = runtimeFrom(config(p));
  const realRandom = Math.random;
  Math.random = () => 0.999999999;
  try {
    const ctx = newCtx(view, rt, edns !== null);
    const m = domainReply(ctx, lname, qtype);
    m.question = { name: lname, type: qtype, cls: 1 };
    const optLen = edns !== null ? 11 : 0;
    const trimmed = udp ? trimUDP(m, edns, rt.udpAnswerLimit, rt.compress, optLen) : trimTCP(m, qtype, rt.compress, optLen);
    if (trimmed && rt.enableTruncate) m.tc = true;
    return encodeMsg(m, rt.compress).buf;
  } finally { Math.random = realRandom; }
}

function assembled(view: CatalogView, p: ConfigPatch, lname: string, qtype: number, udp: boolean, edns: number | null): Buffer | null {
  const rt = runtimeFrom(config(p));
  const sq = serviceQuestion(rt, undefined, lname, qtype)!;
  const ltag = sq.tag.toLowerCase();
  const recs: InstRecs[] = [];
  for (const i of view.instances(sq.service)) {
    if (!isVisible(i, rt.onlyPassing) || (sq.tag && !i.service.Tags.some(t => t.toLowerCase() === ltag))) continue;
    const x = instanceRecs(view, rt, i, lname, qtype, rt.serviceTtl(sq.service), sq.lk);
    if (x === null) return null;
    if (x !== 'skip') recs.push(x);
  }
  if (recs.length === 0) return null;
  const seen = new Set<string>();
  const base = recs.filter(x => !seen.has(x.key) && (seen.add(x.key), true));
  return assemble({ q: nameRef(lname), qtype, srv: qtype === T.SRV, udp, ednsSize: edns, optLen: edns !== null ? 11 : 0, udpAnswerLimit: rt.udpAnswerLimit,
    aRecordLimit: rt.aRecordLimit, enableTruncate: rt.enableTruncate, ra: rt.recursors.length > 0 }, base, 0).buf;
}

const questions: [string, number][] = [['web.service.consul.', T.A], ['web.service.consul.', T.AAAA], ['web.service.consul.', T.ANY], ['web.service.consul.', T.TXT],
  ['web.service.consul.', T.SRV], ['_web._tcp.service.consul.', T.SRV], ['v1.web.service.dc1.consul.', T.SRV], ['v2.web.service.consul.', T.A]];
const deliveries: [boolean, number | null][] = [[true, null], [true, 1232], [true, 4096], [true, 65535], [false, null], [false, 4096]];
const configs: ConfigPatch[] = [{}, { dns: { enableTruncate: true, udpAnswerLimit: 5 } }, { dns: { aRecordLimit: 2 } }, { dns: { enableAdditionalNodeMetaTxt: false, onlyPassing: true } }];

for (const [size, longNames] of [[1, false], [4, false], [40, false], [400, true], [1500, false], [1500, true]] as const) {
  test(`assemble: byte-identical to the general path, ${size} instances${longNames ? ', long node names' : ''}`, t => {
    const view = new CatalogView();
    view.replaceAll(catalog(size * 7 + (longNames ? 1 : 0), size, longNames), 1);
    let compared = 0;
    for (const p of configs) for (const [name, qtype] of questions) for (const [udp, edns] of deliveries) {
      const got = assembled(view, p, name, qtype, udp, edns);
      if (got === null) continue; // the general path answers these (NODATA/NXDOMAIN)
      const want = reference(view, p, name, qtype, udp, edns);
      t.is(got.toString('hex'), want.toString('hex'), `${JSON.stringify(p)} ${name} ${qtype} ${udp ? 'udp' : 'tcp'} edns=${edns}`);
      compared++;
    }
    t.true(compared >= configs.length * deliveries.length * 4, `only ${compared} comparisons`);
  });
}

test('assemble: an instance with a hostname address leaves the answer to the general path', t => {
  const view = new CatalogView();
  view.replaceAll([state(node('a', '10.0.0.1'), [svc('web', { id: 'w1' })]), state(node('b', 'host.example.com'), [svc('web', { id: 'w2' })])], 1);
  t.is(assembled(view, {}, 'web.service.consul.', T.SRV, true, null), null);
  t.is(assembled(view, {}, 'web.service.consul.', T.A, true, null), null);
});

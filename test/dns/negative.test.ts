/**
 * Negative answers cached per zone cut, not per name (issue 11 item 8): random in-zone names do
 * not grow the answer cache, every reply still carries the client's question and the zone's SOA,
 * and a name registered after it was asked for is found at once.
 */
import test from 'ava';
import dnsPacket from 'dns-packet';
import { makeServer, ask, rrs, node, svc, state, query } from './helpers.ts';

const rnd = (): string => Math.random().toString(36).slice(2, 2 + 4 + Math.floor(Math.random() * 8));

test('negative: 10,000 random names under service/node/apex/arpa add a bounded number of cache entries', async t => {
  const { server, view } = makeServer([state(node('web1', '10.0.0.1'), [svc('web')])]);
  await ask(server, 'web.service.consul', 'A');
  const before = server.stats().entries;
  const lists = view.memoizedLists;
  for (let i = 0; i < 10_000; i++) {
    const name = [`${rnd()}.service.consul`, `${rnd()}.node.consul`, `${rnd()}.consul`, `${rnd()}.${rnd()}.service.dc1.consul`, `${i % 250}.${(i >> 8) % 250}.9.10.in-addr.arpa`][i % 5]!;
    const raw = (await server.handle(query(name, i % 2 ? 'A' : 'SRV', { id: i }), 'udp'))!;
    const p = dnsPacket.decode(raw) as dnsPacket.DecodedPacket & { rcode: string };
    if (!['NXDOMAIN', 'NOERROR'].includes(p.rcode) || p.id !== i || p.questions![0]!.name !== name || p.authorities!.length > 1) { t.fail(`${name}: ${p.rcode} ${JSON.stringify(p.questions)}`); return; }
  }
  const grown = server.stats().entries - before;
  t.true(grown <= 200, `${grown} entries for 10,000 names`);
  t.is(view.memoizedLists, lists, 'the view memoizes no instance list for names that do not exist');
});

test.serial('negative: the shared reply is byte for byte the reply built for the name itself', async t => {
  const realNow = Date.now;
  Date.now = () => 1_800_000_000_000; // the SOA serial is the current time
  t.teardown(() => { Date.now = realNow; });
  const names = ['abcd.service.consul', 'WXYZ.Service.Consul', 'ns.consul', 'qq.consul', 'zz.node.dc1.consul', 'Hostmaster.CONSUL', 'x.y.z.node.consul', 'consul'];
  for (const type of ['A', 'SRV', 'TXT']) {
    for (const edns of [undefined, 1232]) {
      const warm = makeServer([state(node('web1', '10.0.0.1'), [svc('web')])]).server;
      for (const n of names) await warm.handle(query(n.replace(/^[a-z]/i, 'q'), type, { edns }), 'udp'); // same lengths, other names
      for (const n of names) {
        const fresh = (await makeServer([state(node('web1', '10.0.0.1'), [svc('web')])]).server.handle(query(n, type, { edns }), 'udp'))!;
        const shared = (await warm.handle(query(n, type, { edns }), 'udp'))!;
        t.deepEqual(rrs(dnsPacket.decode(shared).authorities), rrs(dnsPacket.decode(fresh).authorities), `${n} ${type}`);
        t.is(shared.toString('hex'), fresh.toString('hex'), `${n} ${type} ${edns}`);
      }
    }
  }
});

test('negative: a name registered after it was asked for is answered at once', async t => {
  const { server, view } = makeServer([state(node('web1', '10.0.0.1'), [svc('web')])]);
  t.is((await ask(server, 'late.service.consul', 'A')).rcode, 'NXDOMAIN');
  t.is((await ask(server, 'lite.service.consul', 'A')).rcode, 'NXDOMAIN');
  view.putNode('web2', state(node('web2', '10.0.0.2'), [svc('late')]), 2);
  const r = await ask(server, 'late.service.consul', 'A');
  t.is(r.rcode, 'NOERROR');
  t.deepEqual(rrs(r.answers), ['late.service.consul 0 A 10.0.0.2']);
  t.is((await ask(server, 'lite.service.consul', 'A')).rcode, 'NXDOMAIN');
});

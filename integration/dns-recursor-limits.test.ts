/**
 * Forwarding under abuse (issue 11 item 6), real sockets on loopback: a dead upstream (a UDP
 * socket that never answers) and a burst of out-of-zone names. Forwarded queries share a bounded
 * set of sockets, past the in-flight cap the answer is SERVFAIL at once, in-zone answers keep
 * coming, and the failures are logged once per interval, not once per query.
 */
import test from 'ava';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { CatalogView } from '../src/catalog/view.ts';
import { defaultConfig } from '../src/config/schema.ts';
import { DnsServer } from '../src/dns/server.ts';
import type { Logger } from '../src/log.ts';

const fds = (): number => readdirSync('/proc/self/fd').length;

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const w = (lvl: string) => (m: string, f?: Record<string, unknown>): void => { lines.push(`${lvl} ${m} ${JSON.stringify(f ?? {})}`); };
  return { lines, log: { trace: w('trace'), debug: w('debug'), info: w('info'), warn: w('warn'), error: w('error'), enabled: () => true } };
}

test('dns recursor limits: 3,000 names for a dead upstream open at most the in-flight cap of sockets, SERVFAIL at once past it, one log line per kind', async t => {
  const dead = dgram.createSocket('udp4');
  await new Promise<void>(r => dead.bind(0, '127.0.0.1', () => r()));
  const c = defaultConfig();
  const cap = capture();
  const server = new DnsServer({
    view: new CatalogView(), log: cap.log,
    config: { ...c, ports: { ...c.ports, dns: 0 }, recursors: [`127.0.0.1:${dead.address().port}`], dns: { ...c.dns, recursorTimeoutMs: 3000 } },
  });
  const { udpPort } = await server.listen();
  const client = dgram.createSocket('udp4');
  await new Promise<void>(r => client.bind(0, '127.0.0.1', () => r()));
  try { client.setRecvBufferSize(4 << 20); } catch { /* best effort */ }
  const N = 3000;
  const rcodes = new Map<number, string>();
  let inZone = '';
  client.on('message', m => {
    const p = dnsPacket.decode(m) as { id?: number; rcode?: string };
    if (p.id === 65000) inZone = p.rcode ?? '?'; else rcodes.set(p.id ?? -1, p.rcode ?? '?');
  });
  const base = fds();
  let peak = base;
  const sampler = setInterval(() => { peak = Math.max(peak, fds()); }, 10);
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    client.send(dnsPacket.encode({ id: i, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: `r${i}-${Math.random().toString(36).slice(2)}.example.org`, type: 'A', class: 'IN' }] }), udpPort, '127.0.0.1');
    if (i % 200 === 199) await new Promise(r => setImmediate(r));
  }
  client.send(dnsPacket.encode({ id: 65000, type: 'query', questions: [{ name: 'consul', type: 'SOA', class: 'IN' }] }), udpPort, '127.0.0.1');
  // Before any forwarded query can have timed out (3 s), every query past the cap is answered.
  while (Date.now() - t0 < 2500 && (rcodes.size < N - 150 || !inZone)) await new Promise(r => setTimeout(r, 20));
  const early = rcodes.size;
  t.true(early >= N - 150 - 50, `${early} of ${N} answered before the upstream timeout`);
  t.is(inZone, 'NOERROR', 'an in-zone query was answered during the flood');
  t.true([...rcodes.values()].every(r => r === 'SERVFAIL'));
  t.true(peak - base <= 150 + 16 + 8, `fds rose by ${peak - base}`);
  // The queries that were forwarded time out and are answered SERVFAIL too.
  while (Date.now() - t0 < 8000 && rcodes.size < N) await new Promise(r => setTimeout(r, 50));
  clearInterval(sampler);
  t.is(rcodes.size, N);
  const busy = cap.lines.filter(l => l.includes('in-flight limit')).length;
  const failed = cap.lines.filter(l => l.includes('all resolvers failed')).length;
  t.is(busy, 1, 'the cap is logged once per interval');
  t.is(failed, 1, 'upstream failures are logged once per interval');
  t.true(server.errorCounts()['dns: all resolvers failed']! >= 100, 'but every failure is counted');
  client.close(); dead.close();
  await server.close();
});

/** The RFC 1035 master-file parser, table-driven. */
import test from 'ava';
import { parseZone, parseTtl } from '../../src/dns/zonefile.ts';
import { encodeMsg, newMsg, T } from '../../src/dns/wire.ts';
import dnsPacket from 'dns-packet';
import { readFileSync } from 'node:fs';

function one(text: string, origin = 'ex.test.'): { name: string; type: number; ttl: number; dec: dnsPacket.Answer } {
  const z = parseZone(text, origin);
  const rr = z.records[z.records.length - 1]!;
  const m = newMsg(null); m.answer.push(rr);
  const dec = dnsPacket.decode(encodeMsg(m, false).buf).answers![0]!;
  return { name: rr.name, type: rr.type, ttl: rr.ttl, dec };
}

const ok: [string, string, string, number, unknown][] = [
  ['$ORIGIN and relative name', '$ORIGIN ex.test.\n$TTL 300\nwww IN A 192.0.2.1', 'www.ex.test.', 300, '192.0.2.1'],
  ['@ is the origin', '$TTL 60\n@ IN AAAA 2001:db8::1', 'ex.test.', 60, '2001:db8::1'],
  ['TTL and class in either order', '$TTL 60\nh IN 120 A 192.0.2.2', 'h.ex.test.', 120, '192.0.2.2'],
  ['TTL units', 'h 1h30m IN A 192.0.2.3', 'h.ex.test.', 5400, '192.0.2.3'],
  ['class optional', '$TTL 5\nh A 192.0.2.4', 'h.ex.test.', 5, '192.0.2.4'],
  ['blank owner repeats the previous owner', '$TTL 5\nh A 192.0.2.5\n  TXT "x"', 'h.ex.test.', 5, [Buffer.from('x')]],
  ['last explicit TTL is the default without $TTL', 'h 42 A 192.0.2.6\ni A 192.0.2.7', 'i.ex.test.', 42, '192.0.2.7'],
  ['absolute names untouched', '$TTL 5\nx.other.test. CNAME y.other.test.', 'x.other.test.', 5, 'y.other.test'],
  ['quoted TXT with ; and escapes, several strings', '$TTL 5\nt TXT "a;b \\"c\\"" "\\065\\\\" ; comment', 't.ex.test.', 5, [Buffer.from('a;b "c"'), Buffer.from('A\\')]],
  ['parentheses across lines with comments', '$TTL 5\nt TXT ( "one" ; first\n  "two" )', 't.ex.test.', 5, [Buffer.from('one'), Buffer.from('two')]],
  ['MX', '$TTL 5\n@ MX 10 mail', 'ex.test.', 5, { preference: 10, exchange: 'mail.ex.test' }],
  ['SRV', '$TTL 5\n_h._tcp SRV 1 2 80 www', '_h._tcp.ex.test.', 5, { priority: 1, weight: 2, port: 80, target: 'www.ex.test' }],
  ['CAA', '$TTL 5\n@ CAA 0 issue "letsencrypt.org"', 'ex.test.', 5, { flags: 0, tag: 'issue', value: 'letsencrypt.org', issuerCritical: false }],
  ['SOA in parentheses', '@ 300 IN SOA ns hm ( 1 3600 600 86400 60 )', 'ex.test.', 300, { mname: 'ns.ex.test', rname: 'hm.ex.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 }],
  ['RFC 3597 generic type', '$TTL 5\nh TYPE65280 \\# 2 abcd', 'h.ex.test.', 5, Buffer.from([0xab, 0xcd])],
  ['generic form of a known type', '$TTL 5\nh A \\# 4 c0000201', 'h.ex.test.', 5, '192.0.2.1'],
];
for (const [title, text, name, ttl, data] of ok) {
  test(`dns zonefile: ${title}`, t => {
    const r = one(text);
    t.is(r.name, name); t.is(r.ttl, ttl);
    t.deepEqual((r.dec as { data: unknown }).data, data);
  });
}

const bad: [string, string][] = [
  ['bad IPv4', '$TTL 5\nh A 999.1.1.1'], ['IPv6 in an A record', '$TTL 5\nh A ::1'], ['unknown type', '$TTL 5\nh BOGUS 1'],
  ['no TTL anywhere', 'h A 192.0.2.1'], ['unbalanced parenthesis', '$TTL 5\nh TXT ( "a"'], ['unterminated string', '$TTL 5\nh TXT "a'],
  ['label over 63 octets', `$TTL 5\n${'a'.repeat(64)} A 192.0.2.1`], ['class CH', '$TTL 5\nh CH A 192.0.2.1'],
  ['$INCLUDE', '$INCLUDE other.zone'], ['wrong field count', '$TTL 5\nh MX 10'], ['generic length mismatch', '$TTL 5\nh TYPE9 \\# 3 abcd'],
  ['TXT string over 255', `$TTL 5\nh TXT "${'x'.repeat(256)}"`],
];
for (const [title, text] of bad) {
  test(`dns zonefile: rejects ${title} (with the line number)`, t => {
    const e = t.throws(() => parseZone(text, 'ex.test.'));
    t.regex(e!.message, /^line \d+:/);
  });
}

test('dns zonefile: parseTtl', t => {
  t.is(parseTtl('300'), 300); t.is(parseTtl('1w1d'), 691200); t.is(parseTtl('2H'), 7200); t.is(parseTtl('x'), null); t.is(parseTtl('1x'), null);
});

test('dns zonefile: the shipped example zone parses', t => {
  const z = parseZone(readFileSync(new URL('../../zones/example.internal.zone', import.meta.url), 'utf8'), 'example.internal.');
  t.is(z.origin, 'example.internal.');
  t.true(z.records.some(r => r.type === T.SOA));
  t.is(z.records.length, 9);
});

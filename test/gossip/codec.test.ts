import test from 'ava';
import { encode, decode, decodeStruct, msgpackValueSize, str, bytes, ipToBytes, bytesToIp, encodeTyped } from '../../src/gossip/codec.ts';
import { decodePing, decodeAlive, encodeAlive, encodePing, MsgType } from '../../src/gossip/messages.ts';
import { encodeTags, decodeTags } from '../../src/gossip/serf-messages.ts';
import { StreamReader } from '../../src/gossip/stream.ts';
import { wire, hex } from './helpers.ts';

// Bytes captured from a real serf 0.9.4 agent (shared/reference/serf-wire.md §2.2).
const PCAP_PING = wire('00 85', 'a4', '"Node"', 'a1', '"a"', 'a5', '"SeqNo"', '01', 'aa', '"SourceAddr"', 'a4 7f000001', 'aa', '"SourceNode"', 'a1', '"c"', 'aa', '"SourcePort"', 'cd 1f0c');
const PCAP_ALIVE = wire('04 86', 'a4', '"Addr"', 'a4 7f000001', 'ab', '"Incarnation"', '01', 'a4', '"Meta"', 'b0 ff82a4', '"role"', 'a3', '"web"', 'a2', '"dc"', 'a1', '"x"',
  'a4', '"Node"', 'a1', '"a"', 'a4', '"Port"', 'cd1f0a', 'a3', '"Vsn"', 'a6 010502020505');

test('codec: decodes a ping captured from serf', t => {
  t.is(PCAP_PING.length, 59);
  t.is(PCAP_PING[0], MsgType.ping);
  const p = decodePing(decodeStruct(PCAP_PING.subarray(1)));
  t.deepEqual({ ...p, sourceAddr: bytesToIp(p.sourceAddr!) }, { seqNo: 1, node: 'a', sourceAddr: '127.0.0.1', sourcePort: 7948, sourceNode: 'c' });
});

test('codec: decodes an alive captured from serf, keeping binary Meta and Vsn intact', t => {
  const a = decodeAlive(decodeStruct(PCAP_ALIVE.subarray(1)));
  t.is(a.node, 'a');
  t.is(a.incarnation, 1);
  t.is(a.port, 7946);
  t.is(bytesToIp(a.addr), '127.0.0.1');
  t.deepEqual(a.vsn, [1, 5, 2, 2, 5, 5]);
  t.is(a.meta[0], 0xff, 'meta magic byte survives (would be mangled by UTF-8 decoding)');
  t.deepEqual(decodeTags(a.meta), { role: 'web', dc: 'x' });
});

test('codec: our alive re-decodes to the same fields as the captured one', t => {
  const a = decodeAlive(decodeStruct(PCAP_ALIVE.subarray(1)));
  const again = decodeAlive(decodeStruct(encodeAlive(a).subarray(1)));
  t.deepEqual(again, a);
});

test('codec: Go strings go out as str (fixstr/str8), byte slices as bin', t => {
  t.is(hex(encode('a')), 'a161');
  const s40 = 'x'.repeat(40);
  t.is(encode(s40)[0], 0xd9, 'str8 for 32..255 bytes (accepted by go-msgpack)');
  t.is(hex(encode(Uint8Array.of(127, 0, 0, 1))), 'c4047f000001', 'bin for []byte (accepted by go-msgpack)');
  // A whole ping: Node must be a str, never bin (Go rejects bin in string fields).
  const ping = encodePing({ seqNo: 3, node: 'n1', sourceAddr: Uint8Array.of(127, 0, 0, 1), sourcePort: 9, sourceNode: 'me' });
  const m = decode(ping.subarray(1)) as Record<string, unknown>;
  t.true(m.Node instanceof Uint8Array, 'rawStrings decoding returns str values as bytes');
  t.is(str(m.Node), 'n1');
  t.false(hex(ping).includes('c4026e31'), 'node name not encoded as bin');
  t.true(hex(ping).includes('a26e31'), 'node name encoded as fixstr');
});

test('codec: omitempty fields are left out', t => {
  const ping = decode(encodePing({ seqNo: 1, node: '' }).subarray(1)) as Record<string, unknown>;
  t.deepEqual(Object.keys(ping).sort(), ['Node', 'SeqNo']);
});

test('codec: []byte fields accept str, bin, nil and int arrays', t => {
  t.deepEqual(bytes(wire('"ab"')), wire('6162'));
  t.deepEqual(bytes([1, 5, 2]), Uint8Array.of(1, 5, 2));
  t.deepEqual(bytes(null), new Uint8Array(0));
  const vsnAsArray = decodeAlive(decodeStruct(encode({ Node: 'x', Vsn: [1, 5, 2, 2, 5, 5], Addr: 'abcd' })));
  t.deepEqual(vsnAsArray.vsn, [1, 5, 2, 2, 5, 5]);
});

test('codec: tags meta is ff + msgpack map; empty is ff 80; legacy meta is a role', t => {
  t.is(hex(encodeTags({})), 'ff80');
  t.deepEqual(decodeTags(encodeTags({ role: 'web', dc: 'x' })), { role: 'web', dc: 'x' });
  t.deepEqual(decodeTags(new Uint8Array(0)), { role: '' });
  t.deepEqual(decodeTags(wire('"db"')), { role: 'db' });
});

const sizeCases: [string, Uint8Array][] = [
  ['positive fixint', encode(5)], ['negative fixint', encode(-3)], ['nil', encode(null)], ['true', encode(true)],
  ['uint16', encode(1000)], ['uint32', encode(70000)], ['uint64', encode(2 ** 40)], ['int8', encode(-100)], ['float64', encode(1.5)],
  ['fixstr', encode('hey')], ['str8', encode('y'.repeat(100))], ['str16', encode('z'.repeat(300))], ['bin8', encode(new Uint8Array(10))],
  ['bin16', encode(new Uint8Array(400))], ['fixarray', encode([1, 'a', [2, 3]])], ['array16', encode(new Array(20).fill(7))],
  ['fixmap', encode({ a: 1, b: { c: [1, 2] } })], ['map16', encode(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])))],
  ['pcap alive body', PCAP_ALIVE.subarray(1)], ['str32', wire('db 00000003', '"abc"')], ['fixext4', wire('d6 01 00000000')], ['ext8', wire('c7 03 05 010203')],
];
for (const [name, buf] of sizeCases) {
  test(`codec: value-size scanner measures ${name}`, t => {
    t.is(msgpackValueSize(buf), buf.length);
    for (let cut = 0; cut < buf.length; cut++) t.is(msgpackValueSize(buf.subarray(0, cut)), -1, `truncated at ${cut}`);
    const two = new Uint8Array([...buf, ...encode('next')]);
    t.is(msgpackValueSize(two), buf.length, 'stops at the end of the first value');
    t.is(msgpackValueSize(two, buf.length), 5);
  });
}

test('codec: value-size scanner rejects the never-used 0xc1', t => {
  t.throws(() => msgpackValueSize(Uint8Array.of(0xc1)));
});

test('stream: reader parses back-to-back msgpack values and raw bytes (push-pull layout)', async t => {
  const buf = new Uint8Array([...encodeTyped(6, { Nodes: 1, UserStateLen: 3, Join: true }), ...encode({ Name: 'n' }), 1, 2, 3]);
  const r = new StreamReader(buf);
  t.is(await r.readByte(), 6);
  t.deepEqual(await r.readValue(), { Nodes: 1, UserStateLen: 3, Join: true });
  t.is(str((await r.readStruct()).Name), 'n');
  t.deepEqual(await r.readBytes(3), Uint8Array.of(1, 2, 3));
  await t.throwsAsync(() => r.readByte());
});

test('stream: reader waits for bytes that arrive in pieces', async t => {
  const { PassThrough } = await import('node:stream');
  const src = new PassThrough();
  const r = new StreamReader(src);
  const value = encode({ Hello: 'x'.repeat(50), N: [1, 2, 3] });
  const p = r.readValue();
  for (let i = 0; i < value.length; i += 7) { src.write(value.subarray(i, i + 7)); await new Promise(res => setImmediate(res)); }
  const v = await p as Record<string, unknown>;
  t.is(str(v.Hello), 'x'.repeat(50));
  src.end();
  t.false(await r.hasMore());
});

for (const [ip, len] of [['127.0.0.1', 4], ['10.1.2.3', 4], ['::1', 16], ['fe80::1:2', 16], ['2001:db8::8a2e:370:7334', 16], ['::ffff:1.2.3.4', 16]] as const) {
  test(`codec: IP ${ip} round-trips through ${len} bytes`, t => {
    const b = ipToBytes(ip);
    t.is(b.length, len);
    t.is(bytesToIp(b), ip.startsWith('::ffff:') ? ip.slice(7) : ip);
  });
}

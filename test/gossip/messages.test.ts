import test from 'ava';
import { decodeStruct, str, num } from '../../src/gossip/codec.ts';
import {
  crc32ieee, addCrc, verifyCrc, makeCompound, makeCompounds, decodeCompound, compressPayload, decompressPayload,
  addLabel, removeLabel, MsgType, encodeSuspect, encodeDead, decodeSuspect,
} from '../../src/gossip/messages.ts';
import { decodeJoin, SerfMsgType, encodeRelay, decodeRelay, encodeQueryResponse, encodeNodeFilter, encodeTagFilter, decodeFilter } from '../../src/gossip/serf-messages.ts';
import { wire, hex } from './helpers.ts';

test('crc: CRC-32/IEEE check value', t => {
  t.is(crc32ieee(Buffer.from('123456789')), 0xcbf43926);
  t.is(crc32ieee(new Uint8Array(0)), 0);
});

test('crc: verifies the CRC-wrapped serf join intent captured on the wire', t => {
  // 0c <crc32 BE> 08 01 82 a5"LTime" 01 a4"Node" a1"b"  (memberlist hasCrc → user → serf join)
  const pkt = wire('0c 139aa55a 08 01 82 a5', '"LTime"', '01 a4', '"Node"', 'a1', '"b"');
  const inner = verifyCrc(pkt);
  t.truthy(inner);
  t.is(inner![0], MsgType.user);
  t.is(inner![1], SerfMsgType.join);
  t.deepEqual(decodeJoin(decodeStruct(inner!.subarray(2))), { ltime: 1, node: 'b' });
  t.is(hex(addCrc(inner!)), hex(pkt), 'our CRC header is byte-identical');
});

test('crc: a corrupted payload is rejected; a packet without CRC passes through', t => {
  const pkt = addCrc(encodeSuspect({ incarnation: 1, node: 'x', from: 'y' }));
  const bad = new Uint8Array(pkt); bad[bad.length - 1] ^= 1;
  t.is(verifyCrc(bad), null);
  const plain = encodeDead({ incarnation: 1, node: 'x', from: 'x' });
  t.is(verifyCrc(plain), plain);
});

test('compound: header layout matches the capture (07 03 0049 003b 0011)', t => {
  const parts = [new Uint8Array(0x49).fill(1), new Uint8Array(0x3b).fill(2), new Uint8Array(0x11).fill(3)];
  const c = makeCompound(parts);
  t.is(hex(c.subarray(0, 8)), '0703004900 3b0011'.replace(' ', ''));
  const { parts: back, truncated } = decodeCompound(c.subarray(1));
  t.is(truncated, 0);
  t.deepEqual(back.map(p => p.length), [0x49, 0x3b, 0x11]);
  t.deepEqual(back[2], parts[2]);
});

test('compound: truncated trailing parts are counted and dropped', t => {
  const c = makeCompound([wire('01 02'), wire('03 04 05'), wire('06')]);
  const { parts, truncated } = decodeCompound(c.subarray(1, c.length - 1));
  t.is(parts.length, 2);
  t.is(truncated, 1);
  t.throws(() => decodeCompound(wire('05 00')), { message: /truncated len slice/ });
});

test('compound: more than 255 messages are split', t => {
  const msgs = Array.from({ length: 600 }, (_, i) => Uint8Array.of(i & 0xff));
  const cs = makeCompounds(msgs);
  t.deepEqual(cs.map(c => c[1]), [255, 255, 90]);
  t.throws(() => makeCompound(msgs));
});

test('compress: message round-trips through [9]{Algo:0, Buf}', t => {
  const msg = encodeSuspect({ incarnation: 9, node: 'node-with-a-long-name', from: 'node-with-a-long-name-too' });
  const c = compressPayload(msg);
  t.is(c[0], MsgType.compress);
  t.deepEqual(decompressPayload(c.subarray(1)), msg);
  t.deepEqual(decodeSuspect(decodeStruct(msg.subarray(1))), { incarnation: 9, node: 'node-with-a-long-name', from: 'node-with-a-long-name-too' });
});

test('label: header add/remove', t => {
  const body = wire('00 01 02');
  const l = addLabel(body, 'dc1');
  t.is(hex(l), 'f403' + hex(Buffer.from('dc1')) + '000102');
  t.deepEqual(removeLabel(l), { buf: body, label: 'dc1' });
  t.deepEqual(removeLabel(body), { buf: body, label: '' });
  t.is(addLabel(body, ''), body);
});

test('serf: relay envelope carries destination and the inner message verbatim', t => {
  const inner = encodeQueryResponse({ ltime: 5, id: 77, from: 'n2', flags: 1, payload: null });
  const relay = encodeRelay('127.0.0.1', 7946, 'n1', inner);
  t.is(relay[0], SerfMsgType.relay);
  const r = decodeRelay(relay.subarray(1));
  t.deepEqual({ addr: r.addr, port: r.port, name: r.name }, { addr: '127.0.0.1', port: 7946, name: 'n1' });
  t.deepEqual(r.inner, inner);
  const resp = decodeStruct(r.inner.subarray(1));
  t.is(str(resp.From), 'n2'); t.is(num(resp.ID), 77);
});

test('serf: query filters encode as [type] + msgpack', t => {
  t.deepEqual(decodeFilter(encodeNodeFilter(['a', 'b'])), { type: 'node', nodes: ['a', 'b'] });
  t.deepEqual(decodeFilter(encodeTagFilter('role', '^web')), { type: 'tag', tag: 'role', expr: '^web' });
  t.is(encodeNodeFilter(['a'])[0], 0);
  t.is(encodeTagFilter('r', 'x')[0], 1);
});

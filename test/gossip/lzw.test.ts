import test from 'ava';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { lzwCompress, lzwDecompress } from '../../src/gossip/lzw.ts';
import { decodeStruct, bytes, num } from '../../src/gossip/codec.ts';
import { decompressPayload, decodeCompound, MsgType, decodePushPullHeader } from '../../src/gossip/messages.ts';
import { StreamReader } from '../../src/gossip/stream.ts';
import { hex } from './helpers.ts';

// Raw replies captured from a real serf 0.9.4 agent (see integration/helpers/serf-capture.ts).
const captures = JSON.parse(readFileSync(new URL('./fixtures/serf-captures.json', import.meta.url), 'utf8')) as Record<string, string>;

/** LSB-first packing of 9-bit codes, computed independently of the implementation. */
function pack9(codes: number[]): string {
  let bits = 0n; let n = 0n;
  for (const c of codes) { bits |= BigInt(c) << n; n += 9n; }
  const out: number[] = [];
  for (let i = 0n; i < n; i += 8n) out.push(Number((bits >> i) & 0xffn));
  return Buffer.from(out).toString('hex');
}

test('lzw: tiny inputs match the code sequence Go writes (clear, codes, eof)', t => {
  t.is(hex(lzwCompress(new Uint8Array(0))), pack9([256, 257]));
  t.is(hex(lzwCompress(Uint8Array.of(97))), pack9([256, 97, 257]));
  // "abab": a, b, then "ab" = code 258, eof
  t.is(hex(lzwCompress(Buffer.from('abab'))), pack9([256, 97, 98, 258, 257]));
  // "aaaa": a, "aa" (258, the KwKwK case for the decoder), a, eof
  t.is(hex(lzwCompress(Buffer.from('aaaa'))), pack9([256, 97, 258, 97, 257]));
  t.deepEqual(Buffer.from(lzwDecompress(Buffer.from(pack9([256, 97, 258, 97, 257]), 'hex'))).toString(), 'aaaa');
});

test('lzw: decodes serf\'s compressed push-pull reply, and our compressor reproduces serf\'s bytes exactly', async t => {
  const reply = Buffer.from(captures.pushPullReply!, 'hex');
  t.is(reply[0], MsgType.compress);
  const c = decodeStruct(reply.subarray(1));
  t.is(num(c.Algo), 0);
  const goCompressed = bytes(c.Buf);
  const plain = lzwDecompress(goCompressed);
  t.is(plain[0], MsgType.pushPull);
  const r = new StreamReader(plain.subarray(1));
  const header = decodePushPullHeader(await r.readStruct());
  t.is(header.nodes, 1);
  t.true(header.userStateLen > 500, 'serf sends its whole 512-slot event ring');
  t.is(hex(lzwCompress(plain)), hex(goCompressed), 'byte-identical to Go compress/lzw');
});

test('lzw: decodes serf\'s compressed UDP ack', t => {
  const ack = Buffer.from(captures.plainAck!, 'hex');
  const inner = decompressPayload(ack.subarray(1));
  t.is(inner[0], MsgType.compound, 'serf piggybacked its broadcasts on the ack');
  const { parts } = decodeCompound(inner.subarray(1));
  t.is(parts[0]![0], MsgType.ack);
  const a = decodeStruct(parts[0]!.subarray(1));
  t.is(num(a.SeqNo), 7);
  t.is(bytes(a.Payload)[0], 1, 'serf coordinate payload version 1');
});

for (const [name, input] of [
  ['random 5 KB', randomBytes(5000)],
  ['repetitive 200 KB (several code-table resets)', Buffer.from('serf memberlist gossip '.repeat(9000))],
  ['random 300 KB', randomBytes(300_000)],
  ['single byte runs', Buffer.alloc(70_000, 0x41)],
] as const) {
  test(`lzw: round-trips ${name}`, t => {
    const c = lzwCompress(input);
    t.deepEqual(Buffer.from(lzwDecompress(c)), Buffer.from(input));
  });
}

test('lzw: rejects truncated or invalid input', t => {
  const c = lzwCompress(Buffer.from('hello hello hello'));
  t.throws(() => lzwDecompress(c.subarray(0, c.length - 2)));
  t.throws(() => lzwDecompress(Uint8Array.of(0xff, 0xff, 0xff)), { message: /invalid code|unexpected EOF/ });
});

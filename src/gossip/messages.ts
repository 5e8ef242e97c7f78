/**
 * @module memberlist wire messages (memberlist/net.go): types, structs, and the packet framing
 * layers (compound, compress, CRC, label). Structs are msgpack maps keyed by Go field names.
 */
import { crc32 } from 'node:zlib';
import { encodeTyped, decodeStruct, str, bytes, bytesOrNull, num, bool, concat, utf8Bytes, utf8Text } from './codec.ts';
import type { GoStruct } from './codec.ts';
import { lzwCompress, lzwDecompress } from './lzw.ts';

/** memberlist message type bytes (append-only list in memberlist/net.go). */
export const MsgType = {
  ping: 0, indirectPing: 1, ack: 2, suspect: 3, alive: 4, dead: 5, pushPull: 6,
  compound: 7, user: 8, compress: 9, encrypt: 10, nack: 11, hasCrc: 12, err: 13, hasLabel: 244,
} as const;

/** Node state numbers used in push-pull (`NodeStateType`). */
export const NodeStateType = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type NodeStateNum = 0 | 1 | 2 | 3;

export interface Ping { seqNo: number; node: string; sourceAddr?: Uint8Array; sourcePort?: number; sourceNode?: string }
export interface IndirectPing { seqNo: number; target: Uint8Array; port: number; node: string; nack: boolean; sourceAddr?: Uint8Array; sourcePort?: number; sourceNode?: string }
export interface Ack { seqNo: number; payload: Uint8Array | null }
export interface Nack { seqNo: number }
export interface Suspect { incarnation: number; node: string; from: string }
export interface Dead { incarnation: number; node: string; from: string }
export interface Alive { incarnation: number; node: string; addr: Uint8Array; port: number; meta: Uint8Array; vsn: number[] }
export interface PushPullHeader { nodes: number; userStateLen: number; join: boolean }
export interface PushNodeState { name: string; addr: Uint8Array; port: number; meta: Uint8Array; incarnation: number; state: NodeStateNum; vsn: number[] }

const optStr = (s: string | undefined): string | undefined => (s ? s : undefined);
const optBytes = (b: Uint8Array | undefined): Uint8Array | undefined => (b && b.length > 0 ? b : undefined);
const optNum = (n: number | undefined): number | undefined => (n ? n : undefined);

export function encodePing(p: Ping): Uint8Array {
  return encodeTyped(MsgType.ping, { SeqNo: p.seqNo, Node: p.node, SourceAddr: optBytes(p.sourceAddr), SourcePort: optNum(p.sourcePort), SourceNode: optStr(p.sourceNode) });
}
export function decodePing(m: GoStruct): Ping {
  return { seqNo: num(m.SeqNo), node: str(m.Node), sourceAddr: bytes(m.SourceAddr), sourcePort: num(m.SourcePort), sourceNode: str(m.SourceNode) };
}
export function encodeIndirectPing(p: IndirectPing): Uint8Array {
  return encodeTyped(MsgType.indirectPing, { SeqNo: p.seqNo, Target: p.target, Port: p.port, Node: p.node, Nack: p.nack, SourceAddr: optBytes(p.sourceAddr), SourcePort: optNum(p.sourcePort), SourceNode: optStr(p.sourceNode) });
}
export function decodeIndirectPing(m: GoStruct): IndirectPing {
  return { seqNo: num(m.SeqNo), target: bytes(m.Target), port: num(m.Port), node: str(m.Node), nack: bool(m.Nack), sourceAddr: bytes(m.SourceAddr), sourcePort: num(m.SourcePort), sourceNode: str(m.SourceNode) };
}
export function encodeAck(a: Ack): Uint8Array {
  return encodeTyped(MsgType.ack, { SeqNo: a.seqNo, Payload: a.payload });
}
export function decodeAck(m: GoStruct): Ack {
  return { seqNo: num(m.SeqNo), payload: bytesOrNull(m.Payload) };
}
export function encodeNack(n: Nack): Uint8Array {
  return encodeTyped(MsgType.nack, { SeqNo: n.seqNo });
}
export function decodeNack(m: GoStruct): Nack {
  return { seqNo: num(m.SeqNo) };
}
export function encodeSuspect(s: Suspect): Uint8Array {
  return encodeTyped(MsgType.suspect, { Incarnation: s.incarnation, Node: s.node, From: s.from });
}
export function decodeSuspect(m: GoStruct): Suspect {
  return { incarnation: num(m.Incarnation), node: str(m.Node), from: str(m.From) };
}
export function encodeDead(d: Dead): Uint8Array {
  return encodeTyped(MsgType.dead, { Incarnation: d.incarnation, Node: d.node, From: d.from });
}
export function decodeDead(m: GoStruct): Dead {
  return { incarnation: num(m.Incarnation), node: str(m.Node), from: str(m.From) };
}
export function encodeAlive(a: Alive): Uint8Array {
  return encodeTyped(MsgType.alive, { Incarnation: a.incarnation, Node: a.node, Addr: a.addr, Port: a.port, Meta: a.meta, Vsn: Uint8Array.from(a.vsn) });
}
export function decodeAlive(m: GoStruct): Alive {
  return { incarnation: num(m.Incarnation), node: str(m.Node), addr: bytes(m.Addr), port: num(m.Port), meta: bytes(m.Meta), vsn: Array.from(bytes(m.Vsn)) };
}
/** Push-pull header body (without the leading type byte). */
export function pushPullHeaderBody(h: PushPullHeader): unknown {
  return { Nodes: h.nodes, UserStateLen: h.userStateLen, Join: h.join };
}
export function decodePushPullHeader(m: GoStruct): PushPullHeader {
  return { nodes: num(m.Nodes), userStateLen: num(m.UserStateLen), join: bool(m.Join) };
}
export function pushNodeStateBody(n: PushNodeState): unknown {
  return { Name: n.name, Addr: n.addr, Port: n.port, Meta: n.meta, Incarnation: n.incarnation, State: n.state, Vsn: Uint8Array.from(n.vsn) };
}
export function decodePushNodeState(m: GoStruct): PushNodeState {
  const st = num(m.State);
  return { name: str(m.Name), addr: bytes(m.Addr), port: num(m.Port), meta: bytes(m.Meta), incarnation: num(m.Incarnation), state: (st >= 0 && st <= 3 ? st : 2) as NodeStateNum, vsn: Array.from(bytes(m.Vsn)) };
}
export function encodeErr(error: string): Uint8Array {
  return encodeTyped(MsgType.err, { Error: error });
}

/** Bytes per part in a compound message (u16 length). */
export const COMPOUND_OVERHEAD = 2;
/** Compound header: type byte + part count. */
export const COMPOUND_HEADER_OVERHEAD = 2;
/** Extra bytes a user message needs inside a compound (its type byte). */
export const USER_MSG_OVERHEAD = 1;
/** Maximum parts in one compound message. */
export const MAX_COMPOUND_PARTS = 255;

/** `[7][n][n × u16 BE len][parts…]`; at most 255 parts. */
export function makeCompound(msgs: readonly Uint8Array[]): Uint8Array {
  if (msgs.length > MAX_COMPOUND_PARTS) throw new Error('too many parts for one compound');
  const head = new Uint8Array(2 + msgs.length * 2);
  head[0] = MsgType.compound; head[1] = msgs.length;
  msgs.forEach((m, i) => { head[2 + i * 2] = m.length >> 8; head[3 + i * 2] = m.length & 0xff; });
  return concat([head, ...msgs]);
}

/** Splits messages into as many compounds as needed (255 parts each). */
export function makeCompounds(msgs: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < msgs.length; i += MAX_COMPOUND_PARTS) out.push(makeCompound(msgs.slice(i, i + MAX_COMPOUND_PARTS)));
  return out;
}

/** Parses a compound body (after the type byte); truncated trailing parts are counted, not returned. */
export function decodeCompound(body: Uint8Array): { parts: Uint8Array[]; truncated: number } {
  if (body.length < 1) throw new Error('missing compound length byte');
  const n = body[0]!;
  if (body.length < 1 + n * 2) throw new Error('truncated len slice');
  const parts: Uint8Array[] = [];
  let off = 1 + n * 2;
  for (let i = 0; i < n; i++) {
    const len = (body[1 + i * 2]! << 8) | body[2 + i * 2]!;
    if (off + len > body.length) return { parts, truncated: n - i };
    parts.push(body.subarray(off, off + len));
    off += len;
  }
  return { parts, truncated: 0 };
}

/** `[9]{Algo: 0, Buf: lzw(msg)}`. */
export function compressPayload(msg: Uint8Array): Uint8Array {
  return encodeTyped(MsgType.compress, { Algo: 0, Buf: lzwCompress(msg) });
}

/** Decodes a `compress` struct (already msgpack-decoded) into the inner message. */
export function decompressStruct(m: GoStruct): Uint8Array {
  const algo = num(m.Algo);
  if (algo !== 0) throw new Error(`Cannot decompress unknown algorithm ${algo}`);
  return lzwDecompress(bytes(m.Buf));
}

/** Decompresses a compress message body (after the type byte). */
export function decompressPayload(body: Uint8Array): Uint8Array {
  return decompressStruct(decodeStruct(body));
}

/** CRC32 (IEEE), as Go's `crc32.ChecksumIEEE`. */
export function crc32ieee(buf: Uint8Array): number {
  return crc32(buf) >>> 0;
}

/** `[12][crc32 BE][msg]`. */
export function addCrc(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 5);
  out[0] = MsgType.hasCrc;
  new DataView(out.buffer).setUint32(1, crc32ieee(msg));
  out.set(msg, 5);
  return out;
}

/** Strips a CRC header if present; returns null when the checksum is wrong. */
export function verifyCrc(buf: Uint8Array): Uint8Array | null {
  if (buf.length < 5 || buf[0] !== MsgType.hasCrc) return buf;
  const want = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(1);
  const rest = buf.subarray(5);
  return crc32ieee(rest) === want ? rest : null;
}

/** `[244][len][label]` + buf (no header when the label is empty). Labels are at most 255 bytes. */
export function addLabel(buf: Uint8Array, label: string): Uint8Array {
  if (!label) return buf;
  const l = utf8Bytes(label);
  if (l.length > 255) throw new Error('label too long');
  return concat([Uint8Array.of(MsgType.hasLabel, l.length), l, buf]);
}

/** Removes a label header if present. */
export function removeLabel(buf: Uint8Array): { buf: Uint8Array; label: string } {
  if (buf.length < 1 || buf[0] !== MsgType.hasLabel) return { buf, label: '' };
  if (buf.length < 2) throw new Error('label header too short');
  const n = buf[1]!;
  if (n < 1 || buf.length < 2 + n) throw new Error('label header truncated');
  return { buf: buf.subarray(2 + n), label: utf8Text(buf.subarray(2, 2 + n)) };
}

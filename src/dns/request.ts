/**
 * @module Reading queries off the wire, with miekg/dns's acceptance rules (what Consul runs on).
 *
 * - fewer than 12 bytes, or QR=1: dropped silently (a reply could be used for amplification);
 * - opcode other than QUERY/NOTIFY: NOTIMP, header only;
 * - QDCOUNT≠1, ANCOUNT>1, NSCOUNT>1, ARCOUNT>2: FORMERR, header only;
 * - a body that does not unpack: FORMERR, with the question when the question itself unpacked;
 * - exactly 12 bytes: accepted with no question (the caller answers REFUSED, as miekg's mux does).
 *
 * The common shape (one plain question, optionally one OPT) is read by hand without allocating
 * more than the cache key; anything else (compression pointers in the question, extra records)
 * goes through the general section walker below.
 */
import { T, F2, F3, RCODE, labelToText, lowerName } from './wire.ts';

/** EDNS Client Subnet as received (RFC 7871). */
export interface Ecs {
  family: number;
  sourcePrefix: number;
  address: Uint8Array;
}

export interface Edns {
  /** The client's advertised UDP payload size, as sent (may be < 512). */
  size: number;
  ecs: Ecs | null;
}

/** A query that passed the acceptance rules. */
export interface Query {
  readonly t: 'query';
  id: number;
  /** Request header bytes 2 and 3. */
  b2: number;
  b3: number;
  opcode: number;
  /** Absolute presentation name as sent, e.g. `Web.service.consul.`. */
  readonly qname: string;
  qtype: number;
  qclass: number;
  /** The question to echo: the request's own bytes when they are plain, else re-encoded. */
  readonly question: Buffer;
  /** Copies the question bytes into `out` at `at` (no allocation). */
  copyQuestion(out: Buffer, at: number): void;
  /** Lower-cased wire name (latin1), the cache key part for the name. */
  wireKey: string;
  edns: Edns | null;
}

export type Parsed =
  | { t: 'drop' }
  | { t: 'reply'; buf: Buffer }
  | { t: 'noquestion'; id: number; b2: number; b3: number }
  | Query;

const DROP: Parsed = { t: 'drop' };

/** A header-only reject (FORMERR or NOTIMP) built like miekg's MsgReject path. */
export function rejectHeader(msg: Buffer, rcode: number, question?: Buffer): Buffer {
  const qlen = question ? question.length : 0;
  const out = Buffer.alloc(12 + qlen);
  out[0] = msg[0]!; out[1] = msg[1]!;
  const opcode = rcode === RCODE.NOTIMP ? (msg[2]! & F2.OPCODE) : 0;
  out[2] = F2.QR | opcode | (msg[2]! & (F2.TC | F2.RD));
  out[3] = (msg[3]! & (F3.RA | F3.AD | F3.CD)) | rcode;
  if (question) { out[5] = 1; question.copy(out, 12); }
  return out;
}

class FormErr extends Error {}

/** Parses one request. Never throws. */
export function parseRequest(msg: Buffer): Parsed {
  const len = msg.length;
  if (len < 12) return DROP;
  const b2 = msg[2]!;
  if (b2 & F2.QR) return DROP;
  const opcode = (b2 >> 3) & 0xf;
  if (opcode !== 0 && opcode !== 4) return { t: 'reply', buf: rejectHeader(msg, RCODE.NOTIMP) };
  const qd = (msg[4]! << 8) | msg[5]!; const an = (msg[6]! << 8) | msg[7]!;
  const ns = (msg[8]! << 8) | msg[9]!; const ar = (msg[10]! << 8) | msg[11]!;
  if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return { t: 'reply', buf: rejectHeader(msg, RCODE.FORMERR) };
  const id = (msg[0]! << 8) | msg[1]!;
  if (len === 12) return { t: 'noquestion', id, b2, b3: msg[3]! };

  // ---- question: fast scan of a pointer-free name
  let o = 12; let upper = false; let high = false; let plain = true;
  for (;;) {
    if (o >= len) return { t: 'reply', buf: rejectHeader(msg, RCODE.FORMERR) };
    const l = msg[o]!;
    if (l === 0) { o++; break; }
    if ((l & 0xc0) !== 0) { plain = false; break; }
    if (o + 1 + l > len || o + 1 + l - 12 > 254) return { t: 'reply', buf: rejectHeader(msg, RCODE.FORMERR) };
    for (let i = o + 1; i <= o + l; i++) {
      const c = msg[i]!;
      if (c >= 0x41 && c <= 0x5a) upper = true;
      else if (c >= 0x80) high = true;
    }
    o += l + 1;
  }
  let qname: string | null; let nameWire: Buffer = msg; let nameEnd: number;
  if (plain) {
    nameEnd = o;
    qname = null; // decoded lazily: a cache hit never needs the text form
  } else {
    const r = readName(msg, 12);
    if (!r) return { t: 'reply', buf: rejectHeader(msg, RCODE.FORMERR) };
    nameEnd = r.end; qname = r.name; nameWire = textWire(msg, 12);
    upper = /[A-Z]/.test(qname); high = true;
  }
  // miekg: name only → qtype 0; 1 byte → error; 2-3 bytes → qclass 0
  const rest = len - nameEnd;
  if (rest === 1) return { t: 'reply', buf: rejectHeader(msg, RCODE.FORMERR) };
  const qtype = rest >= 2 ? msg.readUInt16BE(nameEnd) : 0;
  const qclass = rest >= 4 ? msg.readUInt16BE(nameEnd + 2) : 0;
  const qEnd = nameEnd + Math.min(rest, 4);
  let qbuf = msg; let qStart = 12; let qStop = qEnd;
  if (!(plain && rest >= 4)) {
    const nw = plain ? msg.subarray(12, nameEnd) : nameWire;
    qbuf = Buffer.alloc(nw.length + 4); qStart = 0; qStop = qbuf.length;
    nw.copy(qbuf, 0); qbuf.writeUInt16BE(qtype, nw.length); qbuf.writeUInt16BE(qclass, nw.length + 2);
  }
  const question = (): Buffer => qbuf.subarray(qStart, qStop);
  let wireKey = plain ? msg.toString('latin1', 12, nameEnd) : nameWire.toString('latin1');
  if (upper) wireKey = high ? asciiLower(wireKey) : wireKey.toLowerCase();

  // ---- the other sections
  let edns: Edns | null = null;
  if (an === 0 && ns === 0 && ar === 1 && rest >= 4 && qEnd + 11 <= len && msg[qEnd] === 0 && msg[qEnd + 1] === 0 && msg[qEnd + 2] === T.OPT) {
    // fast path: one OPT at the root right after the question
    const rdlen = (msg[qEnd + 9]! << 8) | msg[qEnd + 10]!;
    if (qEnd + 11 + rdlen > len) return { t: 'reply', buf: rejectHeader(msg, RCODE.FORMERR, question()) };
    let ecs: Ecs | null = null;
    if (rdlen > 0) {
      try { ecs = readOptions(msg, qEnd + 11, qEnd + 11 + rdlen); } catch { return { t: 'reply', buf: rejectHeader(msg, RCODE.FORMERR, question()) }; }
    }
    edns = { size: (msg[qEnd + 3]! << 8) | msg[qEnd + 4]!, ecs };
  } else if (an + ns + ar > 0) {
    try {
      let off = qEnd;
      for (let i = 0; i < an + ns; i++) off = skipRR(msg, off).end;
      for (let i = 0; i < ar; i++) {
        const r = skipRR(msg, off);
        if (r.type === T.OPT) edns = r.edns!;
        off = r.end;
      }
    } catch {
      return { t: 'reply', buf: rejectHeader(msg, RCODE.FORMERR, rest >= 4 ? question() : undefined) };
    }
  }
  return new ParsedQuery(id, b2, msg[3]!, opcode, qtype, qclass, qbuf, qStart, qStop, wireKey, edns, qname);
}

/** A Query whose text name is decoded only when asked for (a cache hit never asks). */
class ParsedQuery implements Query {
  readonly t = 'query' as const;
  readonly id: number; readonly b2: number; readonly b3: number; readonly opcode: number;
  readonly qtype: number; readonly qclass: number; readonly wireKey: string; readonly edns: Edns | null;
  readonly #buf: Buffer; readonly #start: number; readonly #end: number;
  #name: string | null;
  constructor(id: number, b2: number, b3: number, opcode: number, qtype: number, qclass: number, buf: Buffer, start: number, end: number, wireKey: string, edns: Edns | null, name: string | null) {
    this.id = id; this.b2 = b2; this.b3 = b3; this.opcode = opcode; this.qtype = qtype; this.qclass = qclass;
    this.#buf = buf; this.#start = start; this.#end = end; this.wireKey = wireKey; this.edns = edns; this.#name = name;
  }
  get question(): Buffer { return this.#buf.subarray(this.#start, this.#end); }
  copyQuestion(out: Buffer, at: number): void { this.#buf.copy(out, at, this.#start, this.#end); }
  get qname(): string { return this.#name ??= wireToText(this.#buf, this.#start); }
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, x => x.toLowerCase());
}

/** Presentation text of a pointer-free wire name at `off` (already validated). */
function wireToText(msg: Buffer, off: number): string {
  let s = '';
  for (let l = msg[off]!; l !== 0; l = msg[off]!) {
    s += labelToText(msg, off + 1, off + 1 + l) + '.';
    off += l + 1;
  }
  return s === '' ? '.' : s;
}

/** The uncompressed wire form of a (possibly compressed) name at `off`. */
function textWire(msg: Buffer, off: number): Buffer {
  const parts: Buffer[] = [];
  let hops = 0;
  for (;;) {
    const l = msg[off]!;
    if (l === 0) break;
    if ((l & 0xc0) === 0xc0) { off = ((l & 0x3f) << 8) | msg[off + 1]!; if (++hops > 126) break; continue; }
    parts.push(msg.subarray(off, off + 1 + l));
    off += l + 1;
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/**
 * Reads a possibly compressed name like miekg's UnpackDomainName: at most 126 pointers, at most
 * 255 wire octets, 0x40/0x80 label types rejected. Returns null on any error.
 */
export function readName(msg: Uint8Array, off: number): { name: string; end: number } | null {
  const len = msg.length;
  let s = ''; let end = -1; let ptrs = 0; let budget = 255;
  for (;;) {
    if (off >= len) return null;
    const c = msg[off]!;
    off++;
    switch (c & 0xc0) {
      case 0x00: {
        if (c === 0) {
          if (end < 0) end = off;
          return { name: s === '' ? '.' : s, end };
        }
        budget -= c + 1;
        if (budget <= 0 || off + c > len) return null;
        s += labelToText(msg, off, off + c) + '.';
        off += c;
        break;
      }
      case 0xc0: {
        if (off >= len) return null;
        const c1 = msg[off]!;
        off++;
        if (end < 0) end = off;
        if (++ptrs > 126) return null;
        off = ((c & 0x3f) << 8) | c1;
        break;
      }
      default: return null;
    }
  }
}

interface SkippedRR { end: number; type: number; rcode?: number; edns?: Edns }

/** Walks one RR (throws FormErr when it does not unpack), decoding OPT/ECS on the way. */
function skipRR(msg: Buffer, off: number): SkippedRR {
  const n = readName(msg, off);
  if (!n) throw new FormErr('name');
  off = n.end;
  if (off + 10 > msg.length) throw new FormErr('rr header');
  const type = msg.readUInt16BE(off); const cls = msg.readUInt16BE(off + 2);
  const rdlen = msg.readUInt16BE(off + 8);
  const start = off + 10; const end = start + rdlen;
  if (end > msg.length) throw new FormErr('rdlength');
  if (rdlen === 0) return { end, type, edns: type === T.OPT ? { size: cls, ecs: null } : undefined };
  switch (type) {
    case T.A: if (rdlen !== 4) throw new FormErr('A'); break;
    case T.AAAA: if (rdlen !== 16) throw new FormErr('AAAA'); break;
    case T.NS: case T.CNAME: case T.PTR: {
      const r = readName(msg.subarray(0, end), start);
      if (!r || r.end !== end) throw new FormErr('name rdata');
      break;
    }
    case T.SOA: {
      const a = readName(msg.subarray(0, end), start);
      const b = a && readName(msg.subarray(0, end), a.end);
      if (!b || b.end + 20 !== end) throw new FormErr('SOA');
      break;
    }
    case T.OPT: return { end, type, edns: { size: cls, ecs: readOptions(msg, start, end) } };
  }
  return { end, type };
}

function readOptions(msg: Buffer, off: number, end: number): Ecs | null {
  let ecs: Ecs | null = null;
  while (off < end) {
    if (off + 4 > end) throw new FormErr('opt');
    const code = msg.readUInt16BE(off); const olen = msg.readUInt16BE(off + 2);
    off += 4;
    if (off + olen > end) throw new FormErr('opt');
    if (code === 8) ecs = readEcs(msg.subarray(off, off + olen));
    off += olen;
  }
  return ecs;
}

/** miekg's EDNS0_SUBNET.unpack rules. */
function readEcs(b: Buffer): Ecs {
  if (b.length < 4) throw new FormErr('ecs');
  const family = b.readUInt16BE(0); const sourcePrefix = b[2]!; const scope = b[3]!;
  if (family === 0) {
    if (sourcePrefix !== 0) throw new FormErr('ecs family');
    return { family, sourcePrefix, address: new Uint8Array(0) };
  }
  const max = family === 1 ? 32 : family === 2 ? 128 : -1;
  if (max < 0) throw new FormErr('ecs family');
  if (sourcePrefix > max || scope > max) throw new FormErr('ecs netmask');
  const address = new Uint8Array(max / 8);
  address.set(b.subarray(4, 4 + max / 8));
  return { family, sourcePrefix, address };
}

/** The OPT record Roster appends: the client's size echoed, version 0, DO clear, ECS echoed with scope 0. */
export function encodeOpt(edns: Edns): Buffer {
  let opt = Buffer.alloc(0);
  if (edns.ecs) {
    const e = edns.ecs;
    const n = Math.ceil(e.sourcePrefix / 8);
    opt = Buffer.alloc(8 + n);
    opt.writeUInt16BE(8, 0); opt.writeUInt16BE(4 + n, 2);
    opt.writeUInt16BE(e.family, 4); opt[6] = e.sourcePrefix; opt[7] = 0;
    for (let i = 0; i < n; i++) {
      let b = e.address[i] ?? 0;
      const bits = e.sourcePrefix - i * 8;
      if (bits < 8) b &= (0xff << (8 - bits)) & 0xff;
      opt[8 + i] = b;
    }
  }
  const out = Buffer.alloc(11 + opt.length);
  out[0] = 0; out.writeUInt16BE(T.OPT, 1); out.writeUInt16BE(edns.size, 3);
  out.writeUInt16BE(opt.length, 9); opt.copy(out, 11);
  return out;
}

/** Writes the OPT record (as encodeOpt) into `out` at `off`; the common no-ECS case without allocating. */
export function writeOpt(out: Buffer, off: number, edns: Edns): void {
  if (edns.ecs) { encodeOpt(edns).copy(out, off); return; }
  out[off] = 0; out[off + 1] = 0; out[off + 2] = T.OPT; out[off + 3] = edns.size >> 8; out[off + 4] = edns.size & 0xff;
  out[off + 5] = 0; out[off + 6] = 0; out[off + 7] = 0; out[off + 8] = 0; out[off + 9] = 0; out[off + 10] = 0;
}

/** Length of the OPT record encodeOpt() will produce. */
export function optLength(edns: Edns): number {
  return 11 + (edns.ecs ? 8 + Math.ceil(edns.ecs.sourcePrefix / 8) : 0);
}

/**
 * Structural check of a whole message (an upstream reply): header, every section walks.
 * Returns the rcode, or -1 if the message does not unpack.
 */
export function checkMessage(msg: Buffer): number {
  if (msg.length < 12) return -1;
  const counts = [msg.readUInt16BE(4), msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)];
  let off = 12;
  try {
    for (let i = 0; i < counts[0]!; i++) {
      const r = readName(msg, off);
      if (!r || r.end + 4 > msg.length) return -1;
      off = r.end + 4;
    }
    for (let i = 0; i < counts[1]! + counts[2]! + counts[3]!; i++) off = skipRR(msg, off).end;
  } catch { return -1; }
  return msg[3]! & 0xf;
}

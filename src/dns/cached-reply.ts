/**
 * @module A cached answer made into one client's reply, with nothing but the entry and the parsed
 * query: the cache key of a question, and the copy-and-patch of an encoded variant (ID, opcode,
 * RD/CD, the client's spelling of the question, the SOA serial, the OPT record). Pure, so that the
 * answer thread (answer-worker.ts) serves cached answers with exactly the main thread's bytes.
 */
import type { Query } from './request.ts';
import { optLength, writeOpt } from './request.ts';
import { F2, F3 } from './wire.ts';
import { udpMaxSize } from './truncate.ts';
import type { Entry } from './answer-cache.ts';

export type Transport = 'udp' | 'tcp';

/** The answer cache's key: transport and EDNS class (UDP size, OPT length), qtype, lower-cased wire name. */
export function cacheKey(q: Query, transport: Transport, optLen = q.edns ? optLength(q.edns) : 0): string {
  const tag = transport === 'udp' ? (q.edns ? `e${udpMaxSize(q.edns.size)},${optLen}|` : 'u|') : (q.edns ? `T${optLen}|` : 't|');
  return tag + String.fromCharCode(q.qtype) + q.wireKey;
}

/** True for a reverse (`*.arpa`) question, from its wire key. */
export function isArpa(k: string): boolean {
  const n = k.length;
  return n >= 6 && k.charCodeAt(n - 2) === 0x61 && k.charCodeAt(n - 3) === 0x70 && k.charCodeAt(n - 4) === 0x72 && k.charCodeAt(n - 5) === 0x61 && k.charCodeAt(n - 6) === 4 && k.charCodeAt(n - 1) === 0;
}

/** Per query: copy a variant, paste the client's question, patch ID/opcode/RD/CD/serial, append OPT. */
const CHUNK_FROM = 4096;

/** reply() without copying the body of a large variant: [patched header + question, body view, OPT]. */
export function replyChunks(e: Entry, q: Query): Buffer | Buffer[] {
  const v = e.variants.length === 1 ? e.variants[0]! : e.variants[e.next % e.variants.length]!;
  if (v.buf.length < CHUNK_FROM || v.serials.length || v.buf[5] !== 1) return reply(e, q);
  e.next++;
  const qEnd = 12 + q.question.length;
  const head = patch(v.buf.subarray(0, qEnd), q, null);
  if (!q.edns) return [head, v.buf.subarray(qEnd)];
  head.writeUInt16BE(v.buf.readUInt16BE(10) + 1, 10);
  const opt = Buffer.allocUnsafe(optLength(q.edns));
  writeOpt(opt, 0, q.edns);
  return [head, v.buf.subarray(qEnd), opt];
}

export function reply(e: Entry, q: Query): Buffer {
  const v = e.variants.length === 1 ? e.variants[0]! : e.variants[e.next++ % e.variants.length]!;
  const out = patch(v.buf, q, null, q.edns ? optLength(q.edns) : 0);
  if (q.edns) {
    writeOpt(out, v.buf.length, q.edns);
    out.writeUInt16BE(v.buf.readUInt16BE(10) + 1, 10);
  }
  if (v.serials.length) {
    const now = Math.floor(Date.now() / 1000);
    for (const o of v.serials) out.writeUInt32BE(now, o);
  }
  return out;
}

export function patch(tpl: Buffer, q: Query, opt: Buffer | null, extra = 0): Buffer {
  const out = Buffer.allocUnsafe(tpl.length + (opt ? opt.length : extra));
  tpl.copy(out, 0);
  if (tpl[5] === 1) q.copyQuestion(out, 12);
  out[0] = q.id >> 8; out[1] = q.id & 0xff;
  const b2 = tpl[2]! & ~(F2.OPCODE | F2.RD);
  const b3 = tpl[3]! & ~F3.CD;
  if (q.opcode === 0) { out[2] = b2 | (q.b2 & F2.RD); out[3] = b3 | (q.b3 & F3.CD); } else { out[2] = b2 | (q.opcode << 3); out[3] = b3; }
  if (opt) {
    opt.copy(out, tpl.length);
    out.writeUInt16BE(tpl.readUInt16BE(10) + 1, 10);
  }
  return out;
}

/** A reply with no question (REFUSED to a header-only query, as miekg's mux does). */
export function headerOnly(id: number, b2: number, b3: number, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id, 0);
  const opcode = b2 & F2.OPCODE;
  out[2] = F2.QR | opcode | (opcode === 0 ? b2 & F2.RD : 0);
  out[3] = (opcode === 0 ? b3 & F3.CD : 0) | rcode;
  return out;
}

/** What the UDP and TCP transports serve: the handler (main thread) or the answer thread's front. */
export interface QueryHandler {
  handle(msg: Buffer, transport: Transport): Buffer | null | Promise<Buffer | null>;
  /** As handle(), for a stream: a large reply may come as chunks to write in order. */
  handleChunks(msg: Buffer, transport: Transport): Buffer | Buffer[] | null | Promise<Buffer | null>;
}

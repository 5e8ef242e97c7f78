/**
 * @module Answer trimming, ported from Consul's trimUDPResponse / trimTCPResponse / syncExtra /
 * dnsBinaryTruncate (agent/dns.go), with one deliberate difference: the OPT record is never
 * dropped. Consul keeps the OPT in the additional section and loses it whenever syncExtra
 * rebuilds that section; Roster appends it after trimming instead, and counts its size
 * (`optLen`) throughout, so a trimmed EDNS reply still carries OPT and still fits the client's
 * buffer.
 */
import { T, lowerName, msgLength } from './wire.ts';
import type { Msg, RR } from './wire.ts';

/** Consul's maxUDPAnswerLimit. */
export const MAX_UDP_ANSWER_LIMIT = 8;
/**
 * The largest UDP reply Roster sends, whatever EDNS size the client claims (issue 11): a UDP
 * source address can be spoofed, so a bigger reply is an amplifier (Consul allows 65,467 bytes;
 * BIND's and Knot's defaults are 1,232). Larger answers are trimmed (TC=1 with enable_truncate).
 */
export const MAX_UDP_DATAGRAM = 4096;
/** 64 KiB − 12: Consul's TCP ceiling. */
export const MAX_TCP_SIZE = 65523;

/** The UDP size limit for a request: 512, or the EDNS size if larger, capped at 4,096. */
export function udpMaxSize(ednsSize: number | null): number {
  let max = 512;
  if (ednsSize !== null && ednsSize > max) max = ednsSize;
  return max > MAX_UDP_DATAGRAM ? MAX_UDP_DATAGRAM : max;
}

function indexRRs(rrs: readonly RR[]): Map<string, RR> {
  const idx = new Map<string, RR>();
  for (const rr of rrs) {
    const k = lowerName(rr.name);
    if (!idx.has(k)) idx.set(k, rr);
  }
  return idx;
}

/** Rebuilds the additional section to cover the SRV targets left in the answer (following CNAMEs). */
export function syncExtra(index: Map<string, RR>, m: Msg): void {
  const extra: RR[] = [];
  const resolved = new Set<string>();
  for (const ans of m.answer) {
    if (ans.type !== T.SRV || ans.data.k !== 'srv') continue;
    let target = lowerName(ans.data.target);
    while (!resolved.has(target)) {
      resolved.add(target);
      const rr = index.get(target);
      if (!rr) break;
      extra.push(rr);
      if (rr.type !== T.CNAME || rr.data.k !== 'name') break;
      target = lowerName(rr.data.name);
    }
  }
  m.additional = extra;
}

type Sizer = () => number;

/** Largest answer prefix that fits maxSize (Consul's dnsBinaryTruncate, including its "<10 bytes left" stop). */
export function binaryTruncate(m: Msg, maxSize: number, index: Map<string, RR> | null, size: Sizer): number {
  const orig = m.answer;
  let start = 0; let end = orig.length + 1;
  let found = -1;
  while (end - start > 1) {
    const median = start + Math.floor((end - start) / 2);
    m.answer = orig.slice(0, median);
    if (index) syncExtra(index, m);
    const len = size();
    if (len <= maxSize) {
      if (maxSize - len < 10) { found = median; break; }
      start = median;
    } else end = median;
  }
  m.answer = orig;
  return found >= 0 ? found : start;
}

/**
 * Trims a UDP reply in place; returns whether answers were removed. `optLen` is the size of the
 * OPT record that will be appended (0 without EDNS).
 */
export function trimUDP(m: Msg, ednsSize: number | null, udpAnswerLimit: number, compress: boolean, optLen: number): boolean {
  const numAnswers = m.answer.length;
  const hasExtra = m.additional.length > 0 || optLen > 0;
  const maxSize = udpMaxSize(ednsSize);
  const index = hasExtra ? indexRRs(m.additional) : null;
  const maxAnswers = Math.max(0, Math.min(MAX_UDP_ANSWER_LIMIT, udpAnswerLimit));
  let lenCompress = compress;
  if (maxSize === 512 && numAnswers > maxAnswers) {
    lenCompress = false; // Consul measures non-EDNS replies uncompressed, then sends them compressed
    m.answer = m.answer.slice(0, maxAnswers);
    if (index) syncExtra(index, m);
  }
  const size: Sizer = () => msgLength(m, lenCompress) + optLen;
  while (m.answer.length > 1 && size() > maxSize - 8) {
    if (m.authority.length) m.authority = [];
    if (size() - maxSize > 100) m.answer = m.answer.slice(0, binaryTruncate(m, maxSize, index, size));
    else m.answer = m.answer.slice(0, -1);
    if (index) syncExtra(index, m);
  }
  return m.answer.length < numAnswers;
}

/** Trims a TCP reply in place to 64 KiB (4096 answers, 1024 for SRV, cut silently first). */
export function trimTCP(m: Msg, qtype: number, compress: boolean, optLen: number): boolean {
  const hasExtra = m.additional.length > 0 || optLen > 0;
  const truncateAt = qtype === T.SRV ? 1024 : 4096;
  if (m.answer.length > truncateAt) m.answer = m.answer.slice(0, truncateAt);
  const index = hasExtra ? indexRRs(m.additional) : null;
  const size: Sizer = () => msgLength(m, compress) + optLen;
  let truncated = false;
  while (m.answer.length > 1 && size() > MAX_TCP_SIZE) {
    truncated = true;
    if (m.authority.length) m.authority = [];
    if (size() - MAX_TCP_SIZE > 100) m.answer = m.answer.slice(0, binaryTruncate(m, MAX_TCP_SIZE, index, size));
    else m.answer = m.answer.slice(0, -1);
    if (index) syncExtra(index, m);
  }
  return truncated;
}

/**
 * The hard ceiling after Consul's trimming, which never cuts below one answer and never looks at
 * a lone answer's additional section (a node A answer with its meta TXT records can exceed any
 * limit): drop the additional section, then the authority, then the answers with TC=1, until
 * the reply fits `max` bytes. Returns whether answers were dropped.
 */
export function capSize(m: Msg, max: number, compress: boolean, optLen: number): boolean {
  const fits = (): boolean => msgLength(m, compress) + optLen <= max;
  if (fits()) return false;
  m.additional = [];
  if (fits()) return false;
  m.authority = [];
  if (fits()) return false;
  m.answer = []; m.tc = true;
  return true;
}

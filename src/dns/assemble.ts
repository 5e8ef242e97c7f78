/**
 * @module Service answers assembled from pre-encoded instance records (instance-records.ts).
 *
 * A reply is a rotation of the service's (shuffled, de-duplicated) instance list starting at
 * some offset, trimmed and encoded exactly as domainReply + trimUDP/trimTCP + encodeMsg would
 * do it for that instance order: the same records, the same trimming decisions (Consul's
 * limits, binary truncation with its "< 10 bytes left" stop, additional section rebuilt by
 * syncExtra's rules, uncompressed measurement for plain 512-byte UDP) and the same compressed
 * bytes (names compressed case-insensitively against everything written before, SRV targets
 * written in full but offered as targets, nothing registered past offset 0x3fff). Nothing is
 * encoded here: records are copied and only owner names of additional records are compressed.
 *
 * test/dns/assemble.test.ts checks byte equality with the general path on generated catalogs.
 */
import type { InstRecs, NameRef, Rec } from './instance-records.ts';
import { MAX_TCP_SIZE, MAX_UDP_ANSWER_LIMIT, udpMaxSize } from './truncate.ts';
import { F2, F3 } from './wire.ts';

/** Everything about a question that decides its reply, except the instance order. */
export interface Plan {
  /** The question name (lower-case) as a NameRef; written at offset 12. */
  q: NameRef;
  qtype: number;
  srv: boolean;
  udp: boolean;
  ednsSize: number | null;
  optLen: number;
  udpAnswerLimit: number;
  aRecordLimit: number;
  enableTruncate: boolean;
  ra: boolean;
}

/** One assembled reply: ID 0, the question as the template's, no OPT (reply() appends it). */
export interface Assembled { buf: Buffer; answers: number; kept: number; trimmed: boolean }

/**
 * The answer list for one instance order and, for SRV, its two possible additional sections,
 * built only as far as a reply needs them: a trimmed UDP answer reads the first few instances,
 * not all of a 1,000-instance service.
 */
interface Layout {
  ans: InstRecs[];
  srv: boolean;
  /** The additional section as built before any trimming, for the answers processed so far (`done`). */
  full: Rec[];
  /** Per processed answer: the record syncExtra adds for it (first time its target is seen), else null. */
  sync: (Rec | null)[];
  done: number;
  seen: Set<string>;
  /** First record of `full` per owner name. */
  index: Map<string, Rec>;
  resolved: Set<string>;
  /** Sizes of prefixes with the synced additional section (syncedSize[i] = i answers), and the dictionary they were measured with. */
  syncedSize: number[];
  sdict: Map<string, number> | null;
  soff: number;
  /** ansSum[i]: the bytes of the first i answers with their owners compressed (prefix sums). */
  ansSum: number[] | null;
  fullMin: number;
}

function layout(p: Plan, order: InstRecs[]): Layout {
  const ans = !p.srv && p.aRecordLimit > 0 && order.length > p.aRecordLimit ? order.slice(0, p.aRecordLimit) : order;
  return { ans, srv: p.srv, full: [], sync: [], done: 0, seen: new Set(), index: new Map(), resolved: new Set(),
    syncedSize: [], sdict: null, soff: 0, ansSum: null, fullMin: -1 };
}

/**
 * Processes answers up to `n` (SRV only): their additional records join `full`, and each gets
 * its synced record. The first record of `full` owned by an answer's target comes from that
 * answer or an earlier one (its own extra is in `full` unless an identical earlier one is), so
 * the sync of answer i never depends on answers after it.
 */
function extend(l: Layout, n: number): void {
  if (!l.srv) return;
  for (let i = l.done; i < n; i++) {
    const it = l.ans[i]!;
    if (it.extra && !l.seen.has(it.extraKey)) { l.seen.add(it.extraKey); addFull(l, it.extra); }
    for (const t of it.txt) addFull(l, t);
    const k = it.target!.keys[0] ?? '';
    if (l.resolved.has(k)) l.sync.push(null);
    else { l.resolved.add(k); l.sync.push(l.index.get(k) ?? null); }
  }
  if (n > l.done) l.done = n;
}

/** Appends an additional record to the full section, indexing the first record of each owner. */
function addFull(l: Layout, r: Rec): void {
  l.full.push(r);
  const k = r.owner!.keys[0] ?? '';
  if (!l.index.has(k)) l.index.set(k, r);
}

/** Bytes of the header, the question and the first `count` answers: a lower bound of any reply with them. */
function answersSize(p: Plan, l: Layout, count: number): number {
  if (!l.ansSum) {
    const s = [12 + p.q.wire.length + 4];
    let sum = s[0]!;
    for (const it of l.ans) s.push((sum += 2 + it.ans.tail.length));
    l.ansSum = s;
  }
  return l.ansSum[count]!;
}

/**
 * The size of the prefix of `count` answers with the synced additional section, extending the
 * measured prefixes as needed. Each synced record is owned by the target of the answer that adds
 * it, so every dictionary entry its owner can point at was registered by that answer or an
 * earlier one (offsets only grow, and nothing is registered past 0x3fff), and its owner's labels
 * are all found before any would be added: the record's size does not depend on how many
 * answers follow. The size of a prefix is a sum.
 */
function syncedSize(p: Plan, l: Layout, count: number): number {
  const out = l.syncedSize;
  if (!l.sdict) {
    const dict = new Map<string, number>();
    const q = p.q;
    for (let i = 0; i < q.keys.length; i++) if (!dict.has(q.keys[i]!)) dict.set(q.keys[i]!, 12 + q.offs[i]!);
    l.sdict = dict; l.soff = 12 + q.wire.length + 4;
    out.push(l.soff);
  }
  if (count < out.length) return out[count]!;
  extend(l, count);
  const dict = l.sdict;
  let sum = out[out.length - 1]!;
  for (let i = out.length - 1; i < count; i++) {
    const it = l.ans[i]!;
    const t = it.target;
    if (t && l.soff + 18 < 0x3fff) {
      for (let j = 0; j < t.keys.length; j++) {
        const at = l.soff + 18 + t.offs[j]!;
        if (at < 0x3fff && !dict.has(t.keys[j]!)) dict.set(t.keys[j]!, at);
      }
    }
    l.soff += 2 + it.ans.tail.length;
    sum += 2 + it.ans.tail.length;
    const r = l.sync[i];
    if (r) {
      const n = r.owner!;
      let len = 1; // the root label, unless a pointer ends the name
      for (let j = 0; j < n.keys.length; j++) {
        if (dict.has(n.keys[j]!)) { len += 1; break; }
        len += n.wire[n.offs[j]!]! + 1;
      }
      sum += len + r.tail.length;
    }
    out.push(sum);
  }
  return out[count]!;
}

/** Writes (or, with out === null, only measures) the message with `count` answers; returns its length. */
function emit(p: Plan, l: Layout, count: number, synced: boolean, compress: boolean, out: Buffer | null, tc = false): number {
  if (synced && !out && compress) return syncedSize(p, l, count);
  extend(l, synced ? count : l.ans.length);
  if (!compress) { // only measured: Consul measures plain 512-byte UDP replies uncompressed
    let n = 12 + p.q.wire.length + 4;
    for (let i = 0; i < count; i++) n += p.q.wire.length + l.ans[i]!.ans.tail.length;
    const add = (r: Rec | null): void => { if (r) n += r.owner!.wire.length + r.tail.length; };
    if (synced) for (let i = 0; i < count; i++) add(l.sync[i]!); else for (const r of l.full) add(r);
    return n;
  }
  const dict = new Map<string, number>();
  let off = 12;
  const q = p.q;
  for (let i = 0; i < q.keys.length; i++) if (!dict.has(q.keys[i]!)) dict.set(q.keys[i]!, off + q.offs[i]!);
  if (out) {
    out.writeUInt16BE(0, 0);
    out[2] = F2.QR | F2.AA | (tc ? F2.TC : 0); out[3] = p.ra ? F3.RA : 0;
    out.writeUInt16BE(1, 4); out.writeUInt16BE(count, 6); out.writeUInt16BE(0, 8);
    q.wire.copy(out, 12);
    out.writeUInt16BE(p.qtype, 12 + q.wire.length); out.writeUInt16BE(1, 14 + q.wire.length);
  }
  off += q.wire.length + 4;
  for (let i = 0; i < count; i++) {
    const it = l.ans[i]!;
    if (out) { out[off] = 0xc0; out[off + 1] = 12; it.ans.tail.copy(out, off + 2); }
    const t = it.target;
    if (t && off + 18 < 0x3fff) { // the SRV target, written in full, is offered for compression
      for (let j = 0; j < t.keys.length; j++) {
        const at = off + 18 + t.offs[j]!;
        if (at < 0x3fff && !dict.has(t.keys[j]!)) dict.set(t.keys[j]!, at);
      }
    }
    off += 2 + it.ans.tail.length;
  }
  let arcount = 0;
  const add = (r: Rec | null): void => {
    if (!r) return;
    arcount++;
    const n = r.owner!;
    let pointed = false;
    for (let j = 0; j < n.keys.length; j++) {
      const k = n.keys[j]!;
      const ptr = dict.get(k);
      if (ptr !== undefined) {
        if (out) { out[off] = 0xc0 | (ptr >> 8); out[off + 1] = ptr & 0xff; }
        off += 2; pointed = true; break;
      }
      if (off < 0x3fff) dict.set(k, off);
      const len = n.wire[n.offs[j]!]! + 1;
      if (out) n.wire.copy(out, off, n.offs[j]!, n.offs[j]! + len);
      off += len;
    }
    if (!pointed) { if (out) out[off] = 0; off += 1; }
    if (out) r.tail.copy(out, off);
    off += r.tail.length;
  };
  if (synced) for (let i = 0; i < count; i++) add(l.sync[i]!); else for (const r of l.full) add(r);
  if (out) out.writeUInt16BE(arcount, 10);
  return off;
}

/** trimUDP / trimTCP / binaryTruncate (truncate.ts) over a layout: how many answers stay, and whether syncExtra ran. */
function trim(p: Plan, l: Layout): { count: number; synced: boolean; trimmed: boolean } {
  const n = l.ans.length;
  const hasExtra = p.optLen > 0 || l.ans.some(it => it.extra !== null || it.txt.length > 0);
  let count = n; let synced = false; let lenCompress = true;
  // Lower bounds of the size, free to compute: the answers alone, then every compressed owner of the
  // full additional section at 2 bytes. Where one already decides a comparison the exact size is
  // never computed (large full sections).
  let fullMin = -1;
  const over = (limit: number): boolean => {
    if (!synced && lenCompress) {
      const a = answersSize(p, l, count) + p.optLen;
      if (a > limit) return true;
      if (fullMin < 0) { extend(l, n); fullMin = 0; for (const r of l.full) fullMin += 2 + r.tail.length; }
      if (a + fullMin > limit) return true;
    }
    return size() > limit;
  };
  let memo = ''; let memoSize = 0;
  const size = (): number => {
    const k = `${count}|${synced}|${lenCompress}`;
    if (k !== memo) { memo = k; memoSize = emit(p, l, count, synced, lenCompress, null) + p.optLen; }
    return memoSize;
  };
  const binary = (max: number): number => {
    const orig = count;
    let start = 0; let end = orig + 1; let found = -1;
    while (end - start > 1) {
      const median = start + Math.floor((end - start) / 2);
      count = median; if (hasExtra) synced = true;
      if (lenCompress && answersSize(p, l, median) + p.optLen > max) { end = median; continue; } // too big already
      const len = size();
      if (len <= max) { if (max - len < 10) { found = median; break; } start = median; } else end = median;
    }
    count = orig;
    return found >= 0 ? found : start;
  };
  if (p.udp) {
    const maxSize = udpMaxSize(p.ednsSize);
    const maxAnswers = Math.max(0, Math.min(MAX_UDP_ANSWER_LIMIT, p.udpAnswerLimit));
    if (maxSize === 512 && n > maxAnswers) { lenCompress = false; count = maxAnswers; if (hasExtra) synced = true; }
    while (count > 1 && over(maxSize - 8)) {
      count = over(maxSize + 100) ? binary(maxSize) : count - 1;
      if (hasExtra) synced = true;
    }
    return { count, synced, trimmed: count < n };
  }
  if (n > (p.srv ? 1024 : 4096)) count = p.srv ? 1024 : 4096;
  let truncated = false;
  while (count > 1 && over(MAX_TCP_SIZE)) {
    truncated = true;
    count = over(MAX_TCP_SIZE + 100) ? binary(MAX_TCP_SIZE) : count - 1;
    if (hasExtra) synced = true;
  }
  return { count, synced, trimmed: truncated };
}

/** The reply for the instances of `base` taken from `start` on (wrapping): laid out, trimmed, encoded. */
export function assemble(p: Plan, base: readonly InstRecs[], start: number): Assembled {
  const order = start === 0 ? base.slice() : base.slice(start).concat(base.slice(0, start));
  const l = layout(p, order);
  const t = trim(p, l);
  const tc = t.trimmed && p.enableTruncate;
  const len = emit(p, l, t.count, t.synced, true, null);
  if (len > 65535) throw new RangeError('DNS message longer than 65535 bytes');
  const buf = Buffer.allocUnsafe(len);
  emit(p, l, t.count, t.synced, true, buf, tc);
  return { buf, answers: l.ans.length, kept: t.count, trimmed: t.trimmed };
}

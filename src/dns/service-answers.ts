/**
 * @module Cached service answers built from per-instance records: the path every service lookup
 * with IP-addressed instances takes (records.ts's serviceQuery remains the reference and the
 * path for everything else).
 *
 * Building an entry costs no encoding beyond the instances the view has replaced since they
 * were last encoded (instance-records.ts), and refreshing a trimmed answer so that other
 * instances get their turn re-assembles it from the next offset of the same shuffled list
 * (`Entry.rotate`): a 1,000-instance service's answers survive a check flip with one instance
 * re-encoded, and rotation never re-encodes.
 */
import { answerInstances, countProtection, protectionStats } from '../catalog/protection.ts';
import type { Instance } from '../catalog/model.ts';
import type { CatalogView } from '../catalog/view.ts';
import type { Entry, Variant } from './answer-cache.ts';
import { assemble } from './assemble.ts';
import type { Plan } from './assemble.ts';
import { instanceRecs, nameRef, recsShape } from './instance-records.ts';
import type { InstRecs } from './instance-records.ts';
import { shuffle } from './records.ts';
import type { ServiceQuestion } from './records.ts';
import type { DnsRuntime } from './runtime.ts';
import { T } from './wire.ts';
import { udpMaxSize } from './truncate.ts';

const VARIANTS_MAX = 8;
/** The qtypes a service answers with records (A/AAAA, both for ANY and TXT, SRV); this bounds the shapes cached per instance. */
const ASSEMBLED_TYPES = new Set<number>([T.A, T.AAAA, T.ANY, T.TXT, T.SRV]);
const REFRESH_PARTIAL_AFTER = 256;
/**
 * A trimmed answer that still shows at least 90 % of the instances (SRV over TCP for a 1,000-instance service:
 * 950 in 64 KiB) has them all across its two variants already; re-assembling it costs ~0.7 ms a variant, so it
 * is refreshed (a new order) this many times less often. Rebuilds were most of the CPU of such queries.
 */
const MOSTLY_SHOWN_SLOWER = 8;

/** A service's instance records for one kind of question, shared by every transport's entry until the instance list changes. */
interface InstanceList { visible: number; recs: InstRecs[]; dup: boolean; widened: boolean }
const lists = new WeakMap<readonly Instance[], Map<string, { acl: unknown; out: InstanceList | null }>>();

/**
 * The visible instances' records in the view's order (null: the general path answers), memoized
 * per instance list (the view replaces a service's list whenever one of its instances changes),
 * so that after a check flip the A and SRV answers over UDP, EDNS and TCP filter and look up the
 * 1,000 instances of a big service once per kind of question, not once per transport.
 */
function instanceList(view: CatalogView, rt: DnsRuntime, sq: ServiceQuestion, lname: string, qtype: number, ttl: number): InstanceList | null {
  const insts = view.instances(sq.service);
  const shape = recsShape(rt, qtype, ttl, sq.lk);
  const threshold = rt.protection(sq.service);
  const key = `${lname}|${sq.tag.toLowerCase()}|${shape}|${rt.onlyPassing ? 1 : 0}|${threshold ?? ''}`;
  let byKey = lists.get(insts);
  if (byKey === undefined) lists.set(insts, (byKey = new Map()));
  const hit = byKey.get(key);
  if (hit !== undefined && hit.acl === rt.acl) {
    if (hit.out?.widened) countProtection(sq.service);
    return hit.out;
  }
  const ltag = sq.tag.toLowerCase();
  const acl = rt.acl;
  const tagged = insts.filter(i => (!sq.tag || (i.service.Tags ?? []).some(t => t.toLowerCase() === ltag)) && (!acl || acl.allow('node', i.node.Node, 'read')));
  const before = protectionStats.total;
  const visible = answerInstances(tagged, rt.onlyPassing, threshold, sq.service);
  let out: InstanceList | null = null;
  if (visible.length > 0) {
    const recs: InstRecs[] = [];
    let general = false;
    for (const inst of visible) {
      const r = instanceRecs(view, rt, inst, lname, qtype, ttl, sq.lk, shape);
      if (r === null) { general = true; break; }
      if (r !== 'skip') recs.push(r);
    }
    if (!general && recs.length > 0) { // none: NODATA, the general path adds the SOA
      const keys = new Set<string>();
      for (const r of recs) keys.add(r.key);
      out = { visible: visible.length, recs, dup: keys.size < recs.length, widened: protectionStats.total > before };
    }
  }
  if (byKey.size >= 64) byKey.clear(); // bounded: a list is asked about in a handful of shapes
  byKey.set(key, { acl, out });
  return out;
}

/** Transport facts of the question that decide trimming. */
export interface Delivery { udp: boolean; ednsSize: number | null; optLen: number }

/**
 * The cache entry for a service question, or null when the general path must answer it (no
 * visible instance, an instance whose records are not plain address records, or compression off).
 */
export function serviceEntry(view: CatalogView, rt: DnsRuntime, sq: ServiceQuestion, lname: string, qtype: number, d: Delivery): Entry | null {
  if (!rt.compress) return null; // disable_compression: the general encoder writes every name in full
  if (!ASSEMBLED_TYPES.has(qtype)) return null; // other types have no service records (NODATA): no per-instance shapes for them
  const acl = rt.acl;
  if (acl && !acl.allow('service', sq.service, 'read')) return null; // the general path answers NXDOMAIN
  const ttl = rt.serviceTtl(sq.service);
  const m = instanceList(view, rt, sq, lname, qtype, ttl);
  if (m === null) return null;
  const { recs: all, dup, visible } = m;
  const recs = all.slice();
  shuffle(recs); // Consul shuffles, then de-duplicates keeping the first
  const seen = new Set<string>();
  const base = dup ? recs.filter(r => !seen.has(r.key) && (seen.add(r.key), true)) : recs;
  const plan: Plan = {
    q: nameRef(lname), qtype, srv: qtype === T.SRV, udp: d.udp, ednsSize: d.ednsSize, optLen: d.optLen,
    udpAnswerLimit: rt.udpAnswerLimit, aRecordLimit: rt.aRecordLimit, enableTruncate: rt.enableTruncate, ra: rt.recursors.length > 0,
  };
  let cursor = 0;
  let k = 0;
  let shownMin = Infinity;
  const build = (): { variants: Variant[]; partial: boolean } => {
    const variants: Variant[] = [];
    let partial = false;
    for (let v = 0; v === 0 || v < k; v++) {
      const a = assemble(plan, base, cursor);
      if (k === 0) k = visible <= 1 ? 1 : visible === 2 ? 2 : a.answers > 100 ? 2 : VARIANTS_MAX;
      variants.push({ buf: a.buf, serials: [] });
      if (a.kept < shownMin) shownMin = a.kept;
      if (a.kept < base.length) { // the next reply starts where this one stopped
        partial = true;
        const next = (cursor + Math.max(1, a.kept)) % base.length;
        if (next <= cursor) shuffle(base);
        cursor = next;
      } else shuffle(base); // everything shown: the next variant in a fresh order
    }
    return { variants, partial };
  };
  // Trimming stops at one answer; one that is still too big (a node with large meta TXT records) is left to the
  // general path, which applies the size ceiling (truncate.ts capSize): additional section first, then TC=1.
  const max = d.udp ? udpMaxSize(d.ednsSize) : 0xffff;
  const fits = (vs: Variant[]): boolean => vs.every(v => v.buf.length + d.optLen <= max);
  const first = build();
  if (!fits(first.variants)) return null;
  const e: Entry = {
    variants: first.variants, next: 0, deps: ['s:' + sq.service], uses: 0, kind: first.variants[0]!.buf[3]! & 15,
    refreshAfter: first.partial && visible > 1 ? REFRESH_PARTIAL_AFTER * first.variants.length * (shownMin >= 0.9 * base.length ? MOSTLY_SHOWN_SLOWER : 1) : 0,
    rotate: () => { const next = build().variants; if (fits(next)) e.variants = next; e.uses = 0; },
  };
  return e;
}

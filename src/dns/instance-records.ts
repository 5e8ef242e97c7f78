/**
 * @module Each service instance's DNS records, encoded once and kept as long as the instance is.
 *
 * The view replaces an Instance object whenever anything about it changes (its service, its
 * checks, its node) and keeps the object otherwise, so encodings are cached per Instance object
 * (a WeakMap): a check flip re-encodes the one instance it touched, and unrelated changes,
 * re-shuffles and rotations re-encode nothing.
 *
 * The records are those of records.ts (`nodeServiceRecords`, `metaTXT`, so the content is
 * Consul's), reduced to the shapes that can be assembled without an encoder: an A/AAAA answer,
 * or an SRV answer with one A/AAAA additional record for its target plus node-meta TXT. The
 * owner of every answer is the question (a pointer to offset 12 once encoded); names that the
 * encoder would compress are kept as NameRefs so assemble.ts can compress them exactly as
 * encodeMsg does. Any other shape (hostnames, CNAMEs, records needing recursors) → null, and
 * the caller answers through the general path.
 */
import type { Instance } from '../catalog/model.ts';
import type { DnsRuntime } from './runtime.ts';
import { ACC_ANY, accept, metaTXT, newCtx, nodeFqdn, nodeServiceRecords, serviceAddr } from './records.ts';
import type { Lookup } from './records.ts';
import type { CatalogView } from '../catalog/view.ts';
import { T, compressionKeys, lowerName, nameToLabels, parseIP } from './wire.ts';
import type { RR } from './wire.ts';

/** A name as the encoder sees it: uncompressed wire form, and per label its dictionary key and offset in `wire`. */
export interface NameRef { wire: Buffer; keys: string[]; offs: number[] }

/** One record: owner (null = the question name) and everything after the owner, rdata uncompressed. */
export interface Rec { owner: NameRef | null; tail: Buffer }

/** One instance's records for one kind of question. */
export interface InstRecs {
  ans: Rec;
  /** Dedup key: the A/AAAA record (Consul's per-record dedup), or the SRV node:address:port tuple. */
  key: string;
  /** SRV: the target (uncompressed in the answer, at tail offset 16) and its additional A/AAAA. */
  target: NameRef | null;
  extra: Rec | null;
  extraKey: string;
  /** SRV with enable_additional_node_meta_txt: the node's meta as TXT, owner = node FQDN. */
  txt: Rec[];
}

/** 'skip' = the instance adds nothing to this answer (e.g. AAAA asked, IPv4 only). */
export type InstResult = InstRecs | 'skip' | null;

const byInstance = new WeakMap<Instance, Map<string, InstResult>>();
let encodings = 0;

/** How many instance encodings this process has made (for tests and benchmarks). */
export function instanceEncodings(): number { return encodings; }
const names = new Map<string, NameRef>();

/** The wire form and compression keys of an absolute name (memoized, bounded). */
export function nameRef(name: string): NameRef {
  let r = names.get(name);
  if (r) return r;
  const labels = nameToLabels(name);
  const offs: number[] = [];
  let len = 1;
  for (const l of labels) { offs.push(len - 1); len += l.length + 1; }
  const wire = Buffer.allocUnsafe(len);
  let o = 0;
  for (const l of labels) { wire[o++] = l.length; wire.set(l, o); o += l.length; }
  wire[o] = 0;
  r = { wire, keys: compressionKeys(name), offs };
  if (names.size >= 100_000) names.clear();
  names.set(name, r);
  return r;
}

/** type, class, TTL, rdlength and uncompressed rdata of a record Roster assembles; null for any other kind. */
function tail(rr: RR): Buffer | null {
  const d = rr.data;
  let rd: Buffer;
  if (d.k === 'ip') rd = Buffer.from(d.ip);
  else if (d.k === 'srv') {
    const t = nameRef(d.target).wire;
    rd = Buffer.allocUnsafe(6 + t.length);
    rd.writeUInt16BE(d.priority, 0); rd.writeUInt16BE(d.weight, 2); rd.writeUInt16BE(d.port, 4); t.copy(rd, 6);
  } else if (d.k === 'txt') {
    rd = Buffer.concat(d.strings.flatMap(s => [Buffer.from([s.length]), Buffer.from(s)]));
  } else return null;
  const out = Buffer.allocUnsafe(10 + rd.length);
  out.writeUInt16BE(rr.type, 0); out.writeUInt16BE(rr.cls ?? 1, 2); out.writeUInt32BE(rr.ttl >>> 0, 4); out.writeUInt16BE(rd.length, 8);
  rd.copy(out, 10);
  return out;
}

/**
 * The records of one instance for a question of type `qtype` (`lname` lower-cased, absolute),
 * from the cache when this Instance object was encoded for the same kind of question before.
 */
export function instanceRecs(view: CatalogView, rt: DnsRuntime, inst: Instance, lname: string, qtype: number, ttl: number, lk: Lookup,
  shape = recsShape(rt, qtype, ttl, lk)): InstResult {
  let m = byInstance.get(inst);
  if (m === undefined) byInstance.set(inst, (m = new Map()));
  let r = m.get(shape);
  if (r === undefined) { r = encodeInstance(view, rt, inst, lname, qtype, ttl, lk); m.set(shape, r); encodings++; }
  return r;
}

/** What an instance's records depend on besides the instance (the `shape` argument of instanceRecs). */
export function recsShape(rt: DnsRuntime, qtype: number, ttl: number, lk: Lookup): string {
  return `${qtype === T.SRV ? 'S' : qtype}|${ttl}|${lk.dc}|${lk.respDomain}|${rt.nodeMetaTxt ? 1 : 0}`;
}

function encodeInstance(view: CatalogView, rt: DnsRuntime, inst: Instance, lname: string, qtype: number, ttl: number, lk: Lookup): InstResult {
  // Only addresses that are IP literals: a hostname's records depend on the question and on other names.
  const sAddr = serviceAddr(inst.service, accept(qtype));
  if (sAddr !== '' && !parseIP(sAddr)) return null;
  const ctx = newCtx(view, rt, false);
  const [answers, extras] = nodeServiceRecords(ctx, lk, inst, lname, qtype, ttl, 0);
  if (ctx.deps.size || ctx.external.size) return null;
  if (answers.length === 0 && extras.length === 0 && qtype !== T.SRV) return 'skip';
  if (answers.length !== 1 || lowerName(answers[0]!.name) !== lname) return null;
  const a = answers[0]!;
  const at = tail(a);
  if (!at) return null;
  if (qtype !== T.SRV) {
    if (extras.length || (a.type !== T.A && a.type !== T.AAAA)) return null;
    return { ans: { owner: null, tail: at }, key: at.toString('latin1'), target: null, extra: null, extraKey: '', txt: [] };
  }
  if (a.data.k !== 'srv' || extras.length !== 1) return null;
  const x = extras[0]!;
  const target = nameRef(a.data.target);
  if ((x.type !== T.A && x.type !== T.AAAA) || lowerName(x.name) !== lowerName(a.data.target)) return null;
  const xt = tail(x)!;
  const txt: Rec[] = [];
  if (rt.nodeMetaTxt) {
    const owner = nodeFqdn(inst.node.Node, lk);
    for (const rr of metaTXT(owner, inst.node, ttl)) txt.push({ owner: nameRef(owner), tail: tail(rr)! });
  }
  return {
    ans: { owner: null, tail: at }, key: `${inst.node.Node}:${serviceAddr(inst.service, ACC_ANY)}:${inst.service.Port}`,
    target, extra: { owner: target, tail: xt }, extraKey: (target.keys[0] ?? '') + '|' + xt.toString('latin1'), txt,
  };
}

/**
 * @module Negative answers cached per zone cut, not per name (issue 11 item 8).
 *
 * An NXDOMAIN or NODATA reply with an empty answer section, no additional records and only the
 * zone's SOA (or nothing) in the authority section reads nothing of the name but its length and its zone:
 * the question is pasted per query over the template's (answer-cache.ts), and the only
 * compression pointer into the question is the SOA owner's, at the zone apex. So one template
 * serves every such name of the same wire length under the same apex, and a flood of random
 * names adds at most one cache entry per (zone, length, rcode) instead of one per name. The
 * template is encoded with a neutral question (labels of `\000`, the same wire length, the apex
 * kept) so that nothing else in it can point into the name. Whether a reply is negative is still
 * decided per query by building it from the view, so a name registered later is found at once.
 */
import { T } from './wire.ts';
import type { Msg } from './wire.ts';
import type { Entry } from './answer-cache.ts';

/**
 * The shared key of `m` when it is a name-independent negative answer, else null; in the first
 * case `m.question.name` is replaced by its neutral form (ready to encode as the shared template).
 */
export function shareNegative(m: Msg, lname: string): string | null {
  if (!m.question || m.answer.length || m.additional.length || m.authority.length > 1 || m.tc) return null;
  if (m.rcode !== 3 && m.rcode !== 0) return null;
  const name = lname.endsWith('.') ? lname : lname + '.';
  if (m.authority.length === 0) { // NOERROR with nothing at all (node lookups of other types): header and question only
    const wire = wireLength(name);
    if (wire < 0) return null;
    m.question = { ...m.question, name: neutral(wire - 1) || '.' };
    return `E${m.rcode}${+m.aa}${+m.ra}|${wire}`;
  }
  const soa = m.authority[0]!;
  if (soa.type !== T.SOA || soa.data.k !== 'soa') return null;
  const apex = soa.name.toLowerCase();
  const wire = wireLength(name);
  if (wire < 0) return null;
  let prefix: number; let suffix: string;
  if (apex === '.') { prefix = wire - 1; suffix = ''; }
  else if (name === apex) { prefix = 0; suffix = apex; }
  else if (name.endsWith('.' + apex)) { prefix = wire - wireLength(apex); suffix = apex; }
  else { prefix = wire - 1; suffix = ''; } // out of the SOA's zone (PTR under arpa.): no pointer into the question
  const d = soa.data;
  m.question = { ...m.question, name: neutral(prefix) + suffix || '.' };
  return `N${m.rcode}${+m.aa}${+m.ra}|${wire}|${suffix || '-'}|${soa.name}|${soa.ttl}|${d.mname}|${d.rname}|${d.refresh}|${d.retry}|${d.expire}|${d.minimum}`;
}

/** Wire length of a presentation name (escapes counted as one byte), or -1 if odd. */
function wireLength(name: string): number {
  if (name === '.') return 1;
  let n = 1; // root
  let label = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) { i += /^[0-9]{3}/.test(name.slice(i + 1, i + 4)) ? 3 : 1; label++; continue; }
    if (c === 0x2e) { if (label === 0) return -1; n += label + 1; label = 0; continue; }
    label++;
  }
  return label === 0 ? n : -1;
}

/** Labels of `\000` filling exactly `bytes` wire bytes (each label 2..64 bytes), as presentation text ending in '.'. */
function neutral(bytes: number): string {
  let out = '';
  while (bytes > 0) {
    let n = Math.min(63, bytes - 1);
    if (bytes - (n + 1) === 1) n--;
    out += '\\000'.repeat(n) + '.';
    bytes -= n + 1;
  }
  return out;
}

/**
 * The last `max` names answered from a shared negative entry, so a name asked for again and
 * again (a client polling for a service not yet registered) is answered without rebuilding.
 * Bounded and first-in-first-out, so random names only cycle it; cleared on every catalog,
 * zone or settings change, since any change may make a name exist.
 */
export class RecentNegatives {
  readonly #map = new Map<string, Entry>();
  readonly #max: number;
  constructor(max = 4096) { this.#max = max; }
  get size(): number { return this.#map.size; }
  get(key: string): Entry | undefined { return this.#map.get(key); }
  set(key: string, e: Entry): void {
    if (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(key, e);
  }
  clear(): void { this.#map.clear(); }
}

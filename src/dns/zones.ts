/**
 * @module Static zones from `*.zone` files in config.zoneDirs.
 *
 * - A file whose origin is outside the Consul domain(s) must have an SOA at its origin: Roster
 *   is authoritative for that zone (AA, NXDOMAIN/NODATA with the zone's SOA, CNAME chasing
 *   inside the zone, referrals for NS below the apex, glue for NS/MX/SRV targets).
 * - A file whose origin is the Consul domain or below it (without its own SOA) is an overlay:
 *   its names are answered from the file and shadow the catalog for exactly those names (no
 *   merging per name); SOA/NS at the Consul apex stay dynamic (the file's are ignored).
 *   A file below the domain WITH an SOA is a standalone (delegated) zone.
 *
 * reload() re-reads every file; a file that fails keeps its previously loaded version and
 * the error is reported.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseZone } from './zonefile.ts';
import { T, RCODE, isSubdomain, lowerName, newMsg } from './wire.ts';
import type { Msg, RR } from './wire.ts';
import type { ZoneSource } from './handler.ts';
import type { Overlay } from './records.ts';

interface Zone {
  origin: string;
  file: string;
  names: Map<string, RR[]>;
  soa: RR | null;
  /** lower names that have at least one descendant (empty non-terminals included) */
  interior: Set<string>;
}

export interface ReloadResult { zones: string[]; errors: string[] }

export class ZoneStore implements ZoneSource {
  #byFile = new Map<string, Zone>();
  #standalone = new Map<string, Zone>();
  #overlayNames = new Map<string, RR[]>();
  readonly #domains: () => string[];

  /** `domains` returns the Consul domain and alt domain (lower-case, absolute). */
  constructor(domains: () => string[]) { this.#domains = domains; }

  readonly overlay: Overlay = { lookup: (lname: string) => this.#overlayNames.get(lname) };

  origins(): Iterable<string> { return this.#standalone.keys(); }

  /** Re-reads every `*.zone` file in `dirs`. */
  async reload(dirs: readonly string[]): Promise<ReloadResult> {
    const errors: string[] = [];
    const seen = new Set<string>();
    const next = new Map<string, Zone>();
    for (const dir of dirs) {
      let files: string[];
      try { files = (await readdir(dir)).filter(f => f.endsWith('.zone')).sort(); } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') errors.push(`${dir}: ${(e as Error).message}`);
        continue;
      }
      for (const f of files) {
        const file = path.join(dir, f);
        seen.add(file);
        try {
          next.set(file, this.#load(file, await readFile(file, 'utf8'), f.slice(0, -'.zone'.length)));
        } catch (e) {
          errors.push(`${file}: ${(e as Error).message}`);
          const prev = this.#byFile.get(file);
          if (prev) next.set(file, prev);
        }
      }
    }
    this.#install(next, errors);
    return { zones: [...new Set([...next.values()].map(z => z.origin))].sort(), errors };
  }

  #load(file: string, text: string, base: string): Zone {
    const pz = parseZone(text, base.endsWith('.') ? base : base + '.');
    const origin = lowerName(pz.origin);
    const names = new Map<string, RR[]>();
    const interior = new Set<string>();
    let soa: RR | null = null;
    for (const rr of pz.records) {
      const l = lowerName(rr.name);
      if (!isSubdomain(l, origin)) throw new Error(`${rr.name} is outside the zone ${origin}`);
      if (rr.type === T.SOA) {
        if (l !== origin) throw new Error(`SOA at ${rr.name}, not at the zone apex`);
        if (soa) throw new Error('more than one SOA');
        soa = rr;
      }
      let a = names.get(l);
      if (!a) names.set(l, (a = []));
      a.push(rr);
      for (let p = parent(l); p && p !== origin && isSubdomain(p, origin); p = parent(p)) interior.add(p);
    }
    const inDomain = this.#domains().some(d => isSubdomain(origin, d));
    if (!soa && !inDomain) throw new Error(`zone ${origin} has no SOA record`);
    return { origin, file, names, soa, interior };
  }

  #install(files: Map<string, Zone>, errors: string[]): void {
    const standalone = new Map<string, Zone>();
    const overlay = new Map<string, RR[]>();
    const domains = this.#domains();
    for (const z of files.values()) {
      const isApex = domains.includes(z.origin);
      if (z.soa && !isApex) {
        if (standalone.has(z.origin)) { errors.push(`${z.file}: zone ${z.origin} is already loaded from ${standalone.get(z.origin)!.file}`); continue; }
        standalone.set(z.origin, z);
        continue;
      }
      for (const [name, rrs] of z.names) {
        const keep = domains.includes(name) ? rrs.filter(r => r.type !== T.SOA && r.type !== T.NS) : rrs;
        if (!keep.length) continue;
        overlay.set(name, [...(overlay.get(name) ?? []), ...keep]);
      }
    }
    this.#byFile = files;
    this.#standalone = standalone;
    this.#overlayNames = overlay;
  }

  /** An authoritative answer for `lname` (lower-case, absolute) in zone `origin`. */
  answer(origin: string, lname: string, qtype: number): Msg {
    const z = this.#standalone.get(origin)!;
    const m = newMsg(null);
    m.aa = true;
    const negSoa = (): RR => {
      const s = z.soa!;
      const min = s.data.k === 'soa' ? Math.min(s.ttl, s.data.minimum) : s.ttl;
      return { ...s, ttl: min };
    };
    // referral: NS below the apex at or above the name
    for (let p: string | null = lname; p && p !== origin; p = parent(p)) {
      const ns = z.names.get(p)?.filter(r => r.type === T.NS);
      if (ns?.length && !(p === lname && qtype === T.DS)) {
        m.aa = false;
        m.authority.push(...ns);
        glue(z, ns, m);
        return m;
      }
    }
    let name = lname;
    for (let hops = 0; hops < 8; hops++) {
      const rrs = z.names.get(name);
      if (!rrs) {
        if (name !== lname) return m; // CNAME target missing: answer stands as is
        if (z.interior.has(name)) { m.authority.push(negSoa()); return m; }
        m.rcode = RCODE.NXDOMAIN; m.authority.push(negSoa());
        return m;
      }
      const own = (r: RR): RR => (name === lname ? { ...r, name: lname } : r);
      const match = rrs.filter(r => qtype === T.ANY || r.type === qtype);
      if (match.length) { m.answer.push(...match.map(own)); glue(z, match, m); return m; }
      const cname = rrs.find(r => r.type === T.CNAME);
      if (cname && cname.data.k === 'name') {
        m.answer.push(own(cname));
        const target = lowerName(cname.data.name);
        if (!isSubdomain(target, origin)) return m;
        name = target;
        continue;
      }
      if (name === lname) m.authority.push(negSoa());
      return m;
    }
    return m;
  }
}

function glue(z: Zone, rrs: RR[], m: Msg): void {
  for (const r of rrs) {
    const d = r.data;
    const target = d.k === 'name' && r.type === T.NS ? d.name : d.k === 'mx' ? d.exchange : d.k === 'srv' ? d.target : null;
    if (!target) continue;
    for (const g of z.names.get(lowerName(target)) ?? []) if (g.type === T.A || g.type === T.AAAA) m.additional.push(g);
  }
}

function parent(l: string): string | null {
  if (l === '.') return null;
  const i = l.indexOf('.');
  const p = l.slice(i + 1);
  return p === '' ? '.' : p;
}

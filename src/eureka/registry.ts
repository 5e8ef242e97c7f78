/**
 * @module The Eureka registry as clients read it: every catalog instance as an Eureka instance,
 * grouped by app, with the apps__hashcode and a bounded recent-changes queue for /apps/delta.
 *
 * Reads come from the catalog view (like DNS), never from Redis. Wire instances are cached per
 * service and dropped when the view reports the service changed; the whole registry is re-grouped
 * only after a change. The delta queue is fed from the same view changes on every agent, so any
 * agent serves the delta of writes made through any other (entries older than the retention,
 * Eureka's 3 minutes, or past MAX_DELTA are dropped). Renewals are not catalog writes, hence no
 * deltas, as in Eureka.
 */
import type { CatalogView, ViewChange } from '../catalog/view.ts';
import type { Instance } from '../catalog/model.ts';
import { appOf, hashcode, instanceIdOf, isEureka, toWire, type WireInstance } from './mapping.ts';

/** Most entries the delta queue keeps, whatever their age. */
export const MAX_DELTA = 100_000;

export type ActionType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface Tracked { fp: string; wire: WireInstance; lease?: { node: string; ms: number } }
interface DeltaEntry { at: number; action: ActionType; wire: WireInstance }
interface Full { apps: Applications; hash: string }

/** Eureka's Applications object (JSON shape; `application` always an array). */
export interface Applications {
  applications: { versions__delta: string; apps__hashcode: string; application: { name: string; instance: WireInstance[] }[] };
}

function fingerprint(i: Instance): string {
  let m = i.node.ModifyIndex + ':' + i.service.ModifyIndex;
  for (const c of i.checks) m += ':' + c.ModifyIndex;
  return m;
}

export class EurekaRegistry {
  readonly #view: CatalogView;
  readonly #now: () => number;
  readonly #retentionMs: number;
  /** service → instance key (node\0id) → fingerprint and wire copy. */
  #tracked = new Map<string, Map<string, Tracked>>();
  /** instanceId → where it is tracked (kept incrementally: writes look instances up without re-grouping the registry). */
  #ids = new Map<string, { service: string; key: string }>();
  #delta: DeltaEntry[] = [];
  #deltaVersion = 0;
  #full: Full | null = null;
  /** Each app's JSON, kept until one of its instances changes: a full fetch after a change re-encodes only that app. */
  #appJson = new Map<string, string>();
  /** Rendered bodies of the current registry (JSON, XML, gzip), dropped on change. */
  readonly rendered = new Map<string, Buffer | string>();
  #deltaRendered = new Map<string, Buffer | string>();

  constructor(view: CatalogView, opts: { retentionMs: number; now?: () => number }) {
    this.#view = view;
    this.#now = opts.now ?? Date.now;
    this.#retentionMs = opts.retentionMs;
    for (const s of view.serviceNames()) this.#track(s, false);
    view.on('change', ch => this.#onChange(ch));
  }

  #onChange(ch: ViewChange): void {
    const names = ch.all ? new Set([...this.#tracked.keys(), ...this.#view.serviceNames()]) : ch.services;
    let changed = false;
    for (const s of names) changed = this.#track(s, true) || changed;
    if (ch.all) this.#appJson.clear();
    if (changed || ch.all) { this.#full = null; this.rendered.clear(); }
  }

  /** Re-reads one service from the view; records deltas when `record`. True when anything differed. */
  #track(service: string, record: boolean): boolean {
    const old = this.#tracked.get(service) ?? new Map<string, Tracked>();
    const next = new Map<string, Tracked>();
    let changed = false;
    const now = this.#now();
    for (const inst of this.#view.instances(service)) {
      const key = inst.node.Node.toLowerCase() + '\0' + inst.service.ID;
      const fp = fingerprint(inst);
      const prev = old.get(key);
      if (prev && prev.fp === fp) { next.set(key, prev); continue; }
      const t: Tracked = { fp, wire: toWire(inst) };
      if (isEureka(inst)) t.lease = { node: inst.node.Node, ms: Number((t.wire.leaseInfo as { durationInSecs: number }).durationInSecs) * 1000 };
      next.set(key, t);
      this.#ids.set(t.wire.instanceId as string, { service, key });
      changed = true;
      this.#appJson.delete(t.wire.app as string);
      if (prev) this.#appJson.delete(prev.wire.app as string);
      if (record) this.#push({ at: now, action: prev ? 'MODIFIED' : 'ADDED', wire: t.wire });
    }
    for (const [key, t] of old) {
      if (next.has(key)) continue;
      changed = true;
      this.#appJson.delete(t.wire.app as string);
      const id = t.wire.instanceId as string;
      if (this.#ids.get(id)?.key === key) this.#ids.delete(id);
      if (record) this.#push({ at: now, action: 'DELETED', wire: t.wire });
    }
    if (next.size) this.#tracked.set(service, next); else this.#tracked.delete(service);
    return changed;
  }

  #push(e: DeltaEntry): void {
    this.#delta.push(e);
    this.#deltaVersion++;
    this.#deltaRendered.clear();
    if (this.#delta.length > MAX_DELTA * 1.25) this.#delta = this.#delta.slice(this.#delta.length - MAX_DELTA);
  }

  /** Drops delta entries older than the retention (Eureka prunes every 30 s; here on every read too). */
  prune(): void {
    const cut = this.#now() - this.#retentionMs;
    let n = 0;
    while (n < this.#delta.length && this.#delta[n]!.at < cut) n++;
    if (n) { this.#delta = this.#delta.slice(n); this.#deltaRendered.clear(); }
  }

  #build(): Full {
    if (this.#full) return this.#full;
    const apps = new Map<string, WireInstance[]>();
    const statuses: string[] = [];
    for (const m of this.#tracked.values()) for (const t of m.values()) {
      const app = t.wire.app as string;
      let l = apps.get(app);
      if (!l) apps.set(app, l = []);
      l.push(t.wire);
      statuses.push(t.wire.status as string);
    }
    const hash = hashcode(statuses);
    const application = [...apps.keys()].sort().map(name => ({ name, instance: apps.get(name)! }));
    this.#full = { apps: { applications: { versions__delta: '1', apps__hashcode: hash, application } }, hash };
    return this.#full;
  }

  /** The whole registry (GET /apps). */
  all(): Applications { return this.#build().apps; }

  /** GET /apps as JSON text, from the per-app cache (same text as JSON.stringify(all())). */
  allJson(): string {
    const f = this.#build();
    const parts: string[] = [];
    for (const a of f.apps.applications.application) {
      let j = this.#appJson.get(a.name);
      if (j === undefined) { j = JSON.stringify(a); this.#appJson.set(a.name, j); }
      parts.push(j);
    }
    return `{"applications":{"versions__delta":"1","apps__hashcode":${JSON.stringify(f.hash)},"application":[${parts.join(',')}]}}`;
  }

  /** The registry's apps__hashcode. */
  hash(): string { return this.#build().hash; }

  /** Instances of one app (GET /apps/{app}); null when the app has none. */
  app(name: string): { name: string; instance: WireInstance[] } | null {
    const up = name.toUpperCase();
    return this.#build().apps.applications.application.find(a => a.name === up) ?? null;
  }

  /** One instance by id (GET /instances/{id}, /apps/{app}/{id}). */
  instance(id: string): WireInstance | null {
    const at = this.#ids.get(id);
    return (at && this.#tracked.get(at.service)?.get(at.key)?.wire) ?? null;
  }

  /** The catalog instance behind an Eureka instance of `app` (for writes); undefined when unknown. */
  catalogInstance(app: string, id: string): Instance | undefined {
    const up = app.toUpperCase();
    const at = this.#ids.get(id);
    if (!at) return undefined;
    return this.#view.instances(at.service).find(i => instanceIdOf(i) === id && appOf(i) === up);
  }

  /** Apps filtered by vip (`secure` = secureVipAddress), as Eureka's /vips and /svips: comma lists match per entry. */
  byVip(vip: string, secure: boolean): Applications {
    const key = secure ? 'secureVipAddress' : 'vipAddress';
    const application = this.#build().apps.applications.application
      .map(a => ({ name: a.name, instance: a.instance.filter(i => String(i[key] ?? '').split(',').map(s => s.trim()).includes(vip)) }))
      .filter(a => a.instance.length > 0);
    return { applications: { versions__delta: '1', apps__hashcode: hashcode(application.flatMap(a => a.instance.map(i => i.status as string))), application } };
  }

  /** Changes of the last retention window, in order, each with its actionType; the whole registry's hashcode. */
  delta(): Applications {
    this.prune();
    const apps = new Map<string, WireInstance[]>();
    for (const e of this.#delta) {
      const app = e.wire.app as string;
      let l = apps.get(app);
      if (!l) apps.set(app, l = []);
      l.push({ ...e.wire, actionType: e.action });
    }
    const application = [...apps.keys()].sort().map(name => ({ name, instance: apps.get(name)! }));
    return { applications: { versions__delta: String(this.#deltaVersion), apps__hashcode: this.hash(), application } };
  }

  /** Rendered delta bodies, dropped on every new entry or prune. */
  get deltaRendered(): Map<string, Buffer | string> { this.prune(); return this.#deltaRendered; }

  /** Every Eureka-registered instance with its node and lease duration (to find instances that lost their lease). */
  *eurekaLeases(): IterableIterator<{ id: string; node: string; ms: number }> {
    for (const m of this.#tracked.values()) for (const t of m.values()) if (t.lease) yield { id: t.wire.instanceId as string, ...t.lease };
  }

  /** Entries in the delta queue (for tests and stats). */
  get deltaSize(): number { return this.#delta.length; }
}

/**
 * @module Client-side discovery: a live instance list for one service, kept by blocking queries on
 * /v1/health/service/:name (index/wait; reset when the index goes backwards; exponential back-off on
 * errors), with a DNS SRV fallback while the HTTP API is unreachable, a load-balancing strategy and
 * passive outlier ejection.
 */
import { EventEmitter } from 'node:events';
import { AgentApi, sleep } from './api.ts';
import { lookupSrv } from './dns.ts';
import { Ejector } from './outlier.ts';
import { emitEject, emitPick } from './metrics.ts';
import { createStrategy, type Strategy } from './strategies.ts';
import type { Instance, StrategyName } from './types.ts';

export interface DiscoverOptions {
  tag?: string;
  /** Only instances whose every check passes (?passing); false keeps warning ones too. @defaultValue true */
  passingOnly?: boolean;
  strategy?: StrategyName;
  /** Blocking-query wait. @defaultValue 60 s */
  waitMs?: number;
  /** Ejection back-off: first and longest. @defaultValue 1 s / 30 s */
  ejectBaseMs?: number;
  ejectMaxMs?: number;
  /** Use DNS SRV when the HTTP API fails. @defaultValue true */
  dnsFallback?: boolean;
  /** How long pick() waits for the first instance list. @defaultValue 5 s */
  readyTimeoutMs?: number;
}

/** No healthy instance to send a request to. */
export class NoInstancesError extends Error {
  readonly service: string;
  constructor(service: string, why = 'no healthy instances') {
    super(`${why} of service "${service}"`);
    this.service = service;
  }
}

interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Address: string; Port: number; Tags: string[] | null; Meta: Record<string, string> | null; Weights?: { Passing: number; Warning: number } };
  Checks: { Status: string; CheckID: string }[] | null;
}

/** Go's AggregatedStatus over an entry's checks (maintenance counts as critical here). */
export function aggregateStatus(checks: { Status: string; CheckID: string }[]): Instance['status'] {
  let s: Instance['status'] = 'passing';
  for (const c of checks) {
    if (c.Status === 'critical' || c.CheckID.startsWith('_node_maintenance') || c.CheckID.startsWith('_service_maintenance')) return 'critical';
    if (c.Status === 'warning') s = 'warning';
  }
  return s;
}

/** Health entries → instances (critical ones dropped; warning ones dropped when passingOnly). */
export function toInstances(entries: HealthEntry[], passingOnly: boolean): Instance[] {
  const out: Instance[] = [];
  for (const e of entries) {
    const status = aggregateStatus(e.Checks ?? []);
    if (status === 'critical' || (passingOnly && status !== 'passing')) continue;
    const s = e.Service;
    out.push({
      id: s.ID, service: s.Service, node: e.Node.Node, address: s.Address || e.Node.Address, port: s.Port, tags: s.Tags ?? [], meta: s.Meta ?? {},
      weights: s.Weights ?? { Passing: 1, Warning: 1 }, status, source: 'http',
    });
  }
  return out;
}

export interface DiscoveryDeps {
  api: AgentApi;
  dnsAddr?: string;
  domain?: string;
}

/** A watched service; emits 'change' (Instance[]) and 'error'. */
export class Discovery extends EventEmitter {
  readonly service: string;
  readonly options: DiscoverOptions;
  readonly strategy: Strategy;
  readonly ejector: Ejector;
  #deps: DiscoveryDeps;
  #instances: Instance[] = [];
  #index = 0;
  #loaded = false;
  #ready: Promise<void>;
  #markReady!: () => void;
  #abort = new AbortController();
  #loop: Promise<void>;
  #lastError: Error | null = null;
  #httpOk = true;

  constructor(service: string, deps: DiscoveryDeps, o: DiscoverOptions = {}) {
    super();
    this.service = service;
    this.options = o;
    this.#deps = deps;
    this.strategy = createStrategy(o.strategy ?? 'round-robin');
    this.ejector = new Ejector({ baseMs: o.ejectBaseMs, maxMs: o.ejectMaxMs });
    this.#ready = new Promise(r => { this.#markReady = r; });
    this.on('error', () => { /* reported via lastError; never crash the host */ });
    this.#loop = this.#watch();
  }

  /** The current instance list (healthy per options; ejected ones included). */
  instances(): readonly Instance[] {
    return this.#instances;
  }

  /** True once a list was loaded (from HTTP or DNS). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Where the current list came from. */
  get source(): 'http' | 'dns' {
    return this.#httpOk ? 'http' : 'dns';
  }

  get lastError(): Error | null {
    return this.#lastError;
  }

  /** Resolves once the first list is in, or after readyTimeoutMs. */
  async ready(timeoutMs = this.options.readyTimeoutMs ?? 5000): Promise<void> {
    if (this.#loaded) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.#ready, new Promise<void>(r => { t = setTimeout(r, timeoutMs); })]);
    clearTimeout(t);
  }

  /** Picks an instance with the strategy, skipping ejected ones and `exclude`; throws NoInstancesError. */
  async pick(exclude?: ReadonlySet<string>): Promise<Instance> {
    if (!this.#loaded) await this.ready();
    const inst = this.pickNow(exclude);
    if (!inst) throw new NoInstancesError(this.service, this.#loaded ? 'no healthy instances' : `no instance list yet (${this.#lastError?.message ?? 'timed out'})`);
    return inst;
  }

  /** Synchronous pick from the current list (undefined when there is none). */
  pickNow(exclude?: ReadonlySet<string>): Instance | undefined {
    const inst = this.strategy.pick(this.ejector.filter(this.#instances, exclude));
    if (inst) emitPick(this.service, inst);
    return inst;
  }

  /** Reports the outcome of a request to an instance (ejects it on failure). */
  report(inst: Instance, ok: boolean): void {
    if (ok) this.ejector.succeed(inst.id);
    else emitEject(this.service, inst, this.ejector.fail(inst.id));
  }

  #set(list: Instance[], onlyIfDifferent = false): void {
    if (onlyIfDifferent && sameInstances(this.#instances, list)) return;
    this.#instances = list;
    this.ejector.retain(new Set(list.map(i => i.id)));
    const first = !this.#loaded;
    this.#loaded = true;
    if (first) this.#markReady();
    this.emit('change', list);
  }

  async #watch(): Promise<void> {
    const signal = this.#abort.signal;
    const waitMs = this.options.waitMs ?? 60_000;
    const passing = this.options.passingOnly !== false;
    let backoff = 0;
    while (!signal.aborted) {
      try {
        const block: boolean = this.#index > 0;
        const res = await this.#deps.api.call<HealthEntry[]>('GET', `/v1/health/service/${encodeURIComponent(this.service)}`, {
          query: { passing: passing ? '' : undefined, tag: this.options.tag, index: block ? String(this.#index) : undefined, wait: block ? `${Math.round(waitMs)}ms` : undefined },
          timeoutMs: block ? waitMs + waitMs / 16 + 5000 : 5000, signal,
        });
        backoff = 0;
        const wasDns = !this.#httpOk;
        this.#httpOk = true;
        this.#lastError = null;
        // An index that goes backwards (agent restarted, store replaced) resets the watch.
        const idx: number = res.index;
        const changed: boolean = idx !== this.#index || !this.#loaded || wasDns;
        this.#index = idx < this.#index ? 0 : idx;
        if (changed) this.#set(toInstances(res.body, passing), false);
      } catch (err) {
        if (signal.aborted) return;
        this.#lastError = err as Error;
        this.emit('error', err);
        this.#index = 0;
        this.#httpOk = false;
        if (this.options.dnsFallback !== false) await this.#tryDns();
        backoff = Math.min(backoff ? backoff * 2 : 100, 5000);
        await sleep(backoff * (0.8 + 0.4 * Math.random()), signal);
      }
    }
  }

  async #tryDns(): Promise<void> {
    try {
      const list = await lookupSrv(this.service, this.options.tag, { dnsAddr: this.#deps.dnsAddr, domain: this.#deps.domain });
      this.#set(list);
    } catch { /* the DNS port is down too: keep the last known list */ }
  }

  /** Stops watching. */
  close(): void {
    this.#abort.abort();
  }

  /** Resolves when the watch loop has ended (after close()). */
  async closed(): Promise<void> {
    await this.#loop;
  }
}

function sameInstances(a: readonly Instance[], b: readonly Instance[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || x.node !== y.node || x.status !== y.status || x.address !== y.address || x.port !== y.port || x.tags.join(',') !== y.tags.join(',') || x.weights.Passing !== y.weights.Passing || x.weights.Warning !== y.weights.Warning) return false;
  }
  return true;
}

/**
 * @module The router's view of the catalog: the set of service names (blocking queries on
 * /v1/catalog/services) and one Discovery per (service, tag) in use, closed when the service leaves
 * the catalog. Unknown names never create watches (so garbage Host headers cost nothing).
 */
import { AgentApi, sleep } from '../client/api.ts';
import { Discovery, type DiscoverOptions } from '../client/discovery.ts';

export interface ServiceSetOptions {
  api: AgentApi;
  dnsAddr?: string;
  domain?: string;
  discover: DiscoverOptions;
  /** Blocking wait. @defaultValue 60 s */
  waitMs?: number;
}

export class ServiceSet {
  readonly options: ServiceSetOptions;
  /** Lower-cased service name → its lower-cased tags (from /v1/catalog/services). */
  #names = new Map<string, Set<string>>();
  #loaded = false;
  #index = 0;
  #abort = new AbortController();
  #disc = new Map<string, Discovery>();
  #ready: Promise<void>;
  #markReady!: () => void;
  #loop: Promise<void>;

  constructor(o: ServiceSetOptions) {
    this.options = o;
    this.#ready = new Promise(r => { this.#markReady = r; });
    this.#loop = this.#watch();
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Waits (bounded) for the first catalog answer. */
  async ready(timeoutMs = 3000): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.#ready, new Promise<void>(r => { t = setTimeout(r, timeoutMs); })]);
    clearTimeout(t);
  }

  /** True when the catalog lists the service (or, before the first catalog answer, always). */
  known(service: string, tag?: string): boolean {
    if (!this.#loaded) return true;
    const tags = this.#names.get(service);
    return tags !== undefined && (!tag || tags.has(tag));
  }

  /** The Discovery for (service, tag); undefined for a service (or tag) the catalog does not list. */
  get(service: string, tag?: string): Discovery | undefined {
    const key = tag ? `${service}\u0000${tag}` : service;
    let d = this.#disc.get(key);
    if (d) return d;
    if (!this.known(service, tag)) return undefined;
    d = new Discovery(service, { api: this.options.api, dnsAddr: this.options.dnsAddr, domain: this.options.domain }, { ...this.options.discover, tag });
    this.#disc.set(key, d);
    return d;
  }

  async #watch(): Promise<void> {
    const signal = this.#abort.signal;
    const waitMs = this.options.waitMs ?? 60_000;
    let backoff = 0;
    while (!signal.aborted) {
      try {
        const block: boolean = this.#index > 0;
        const res: { index: number; body: Record<string, string[]> } = await this.options.api.call<Record<string, string[]>>('GET', '/v1/catalog/services', {
          query: { index: block ? String(this.#index) : undefined, wait: block ? `${waitMs}ms` : undefined },
          timeoutMs: block ? waitMs * 17 / 16 + 5000 : 5000, signal,
        });
        backoff = 0;
        this.#index = res.index < this.#index ? 0 : res.index;
        const names = new Map<string, Set<string>>();
        for (const [n, tags] of Object.entries(res.body ?? {})) {
          const set = names.get(n.toLowerCase()) ?? new Set<string>();
          for (const t of tags ?? []) set.add(t.toLowerCase());
          names.set(n.toLowerCase(), set);
        }
        this.#names = names;
        this.#loaded = true;
        this.#markReady();
        for (const [key, d] of this.#disc) {
          if (!this.known(d.service, d.options.tag)) { d.close(); this.#disc.delete(key); }
        }
      } catch {
        if (signal.aborted) return;
        // Keep the last known names and watches: traffic keeps flowing while the agent restarts.
        this.#index = 0;
        backoff = Math.min(backoff ? backoff * 2 : 100, 2000);
        await sleep(backoff, signal);
      }
    }
  }

  close(): Promise<void> {
    this.#abort.abort();
    for (const d of this.#disc.values()) d.close();
    this.#disc.clear();
    return this.#loop;
  }
}

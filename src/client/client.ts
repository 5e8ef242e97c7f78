/**
 * @module `connect()`: the Roster/Consul client — self-registration (register), client-side discovery
 * (discover, pick) and `fetch(service, path)` with pick + request + retry on another instance.
 * Talks only to the agent's public HTTP API (and its DNS port as a fallback).
 */
import { AgentApi } from './api.ts';
import { Registration } from './registration.ts';
import { Discovery, NoInstancesError, type DiscoverOptions } from './discovery.ts';
import type { Instance, RegisterOptions } from './types.ts';
import { agentAddr, agentToken } from '../util/agent-addr.ts';

export interface ConnectOptions {
  /** Agent HTTP address. @defaultValue $ROSTER_HTTP_ADDR, then $CONSUL_HTTP_ADDR, then 127.0.0.1:8500 */
  httpAddr?: string;
  /** ACL token (X-Consul-Token). @defaultValue $ROSTER_HTTP_TOKEN, then $CONSUL_HTTP_TOKEN, then $CONSUL_HTTP_TOKEN_FILE */
  token?: string;
  /** Agent DNS address for the SRV fallback. @defaultValue 127.0.0.1:8600 */
  dnsAddr?: string;
  /** DNS domain. @defaultValue consul */
  domain?: string;
}

export interface ServiceFetchInit extends RequestInit {
  /** Only instances with this tag. */
  tag?: string;
  /** Extra attempts on other instances. @defaultValue 2 */
  retries?: number;
  /** Statuses that count as an instance failure and are retried (idempotent methods only). @defaultValue [502, 503, 504] */
  retryOn?: number[];
  /** Per-attempt timeout. @defaultValue 30 s */
  timeoutMs?: number;
  /** Use https:// to the instance. */
  https?: boolean;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Errors where the request certainly did not reach the application (safe to retry any method). */
function notSent(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EADDRNOTAVAIL';
}

/** The client returned by connect(). */
export class RosterClient {
  readonly api: AgentApi;
  readonly dnsAddr: string;
  readonly domain: string;
  #regs = new Set<Registration>();
  #discoveries = new Map<string, Discovery>();
  #own = new Set<Discovery>();
  #signalsHooked = false;
  #closed = false;

  constructor(o: ConnectOptions = {}) {
    this.api = new AgentApi(agentAddr(o.httpAddr), agentToken(o.token));
    this.dnsAddr = o.dnsAddr || '127.0.0.1:8600';
    this.domain = o.domain || 'consul';
  }

  /** Registers a service with the agent and keeps it registered (heartbeats, re-registration) until close(). */
  async register(o: RegisterOptions): Promise<Registration> {
    if (this.#closed) throw new Error('client is closed');
    const reg = new Registration(this.api, o, () => this.#regs.delete(reg));
    this.#regs.add(reg);
    if (o.deregisterOnExit) this.#hookSignals();
    try {
      await reg.start();
    } catch (err) {
      reg.abandon();
      throw err;
    }
    return reg;
  }

  /** Starts watching a service; the caller owns the result (close() it, or client.close()). */
  discover(service: string, o: DiscoverOptions = {}): Discovery {
    if (this.#closed) throw new Error('client is closed');
    const d = new Discovery(service, { api: this.api, dnsAddr: this.dnsAddr, domain: this.domain }, o);
    this.#own.add(d);
    return d;
  }

  /** A shared Discovery per (service, tag), used by fetch(). */
  #shared(service: string, tag?: string): Discovery {
    const key = `${service}\u0000${tag ?? ''}`;
    let d = this.#discoveries.get(key);
    if (!d) {
      d = this.discover(service, { tag, strategy: 'least-outstanding' });
      this.#discoveries.set(key, d);
    }
    return d;
  }

  /**
   * Picks a healthy instance of `service`, sends the request, and on a connection error (or, for
   * idempotent methods, a retryOn status or a reset) ejects that instance and retries on another.
   */
  async fetch(service: string, path: string, init: ServiceFetchInit = {}): Promise<Response> {
    const { tag, retries = 2, retryOn = [502, 503, 504], timeoutMs = 30_000, https, ...req } = init;
    const d = this.#shared(service, tag);
    const method = (req.method ?? 'GET').toUpperCase();
    const replayable = req.body === undefined || req.body === null || typeof req.body === 'string' || req.body instanceof Uint8Array || req.body instanceof URLSearchParams;
    const idempotent = IDEMPOTENT.has(method) && replayable;
    const tried = new Set<string>();
    let lastErr: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      let inst: Instance;
      try {
        inst = await d.pick(tried);
      } catch (err) {
        if (attempt > 0 && tried.size && err instanceof NoInstancesError) {
          // Everything not yet tried is gone: retry the best of the tried ones rather than fail outright.
          const again = d.pickNow();
          if (!again) break;
          inst = again;
        } else throw err;
      }
      tried.add(inst.id);
      const done = d.strategy.begin(inst);
      const url = `${https ? 'https' : 'http'}://${inst.address.includes(':') ? `[${inst.address}]` : inst.address}:${inst.port}${path.startsWith('/') ? path : `/${path}`}`;
      const signal = req.signal ? AbortSignal.any([req.signal, AbortSignal.timeout(Math.ceil(timeoutMs))]) : AbortSignal.timeout(Math.ceil(timeoutMs));
      try {
        const res = await fetch(url, { ...req, signal });
        done();
        if (retryOn.includes(res.status) && idempotent && attempt < retries) {
          d.report(inst, false);
          await res.body?.cancel().catch(() => {});
          lastErr = new Error(`${service} instance ${inst.id} answered ${res.status}`);
          continue;
        }
        d.report(inst, res.status < 500 || !retryOn.includes(res.status));
        return res;
      } catch (err) {
        done();
        lastErr = err;
        if (req.signal?.aborted) throw err;
        d.report(inst, false);
        if (!(notSent(err) || idempotent)) throw err;
      }
    }
    throw lastErr instanceof Error ? lastErr : new NoInstancesError(service);
  }

  #hookSignals(): void {
    if (this.#signalsHooked) return;
    this.#signalsHooked = true;
    const handler = (sig: NodeJS.Signals) => {
      const regs = [...this.#regs].filter(r => r.options.deregisterOnExit);
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      void Promise.allSettled(regs.map(r => r.close())).then(() => {
        // Nobody else handles the signal: behave as if we never caught it.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  }

  /** Deregisters every registration and stops every watch. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of this.#own) d.close();
    await Promise.allSettled([...this.#regs].map(r => r.close()));
    await Promise.allSettled([...this.#own].map(d => d.closed()));
  }
}

/** Creates a client for the agent at `httpAddr` (default $ROSTER_HTTP_ADDR, then $CONSUL_HTTP_ADDR, then 127.0.0.1:8500). */
export function connect(o: ConnectOptions = {}): RosterClient {
  return new RosterClient(o);
}

/**
 * @module Self-registration: one service registered through the agent's public HTTP API and kept
 * there. TTL checks are heartbeated at TTL/3 (±10 %); a 404 on a heartbeat, the service missing from
 * /v1/agent/service/:id, or the agent coming back after connection errors triggers a re-registration.
 * close() deregisters; nothing else does (a crashed process is cleaned up by its TTL going critical).
 */
import { EventEmitter } from 'node:events';
import { AgentApi, ApiError, jitter, sleep } from './api.ts';
import type { RegisterOptions } from './types.ts';
import { parseDurationMs } from '../util/duration.ts';

/** The ServiceDefinition body for PUT /v1/agent/service/register. */
export function serviceDefinition(o: RegisterOptions): Record<string, unknown> {
  if (!o.name) throw new Error('register: name is required');
  const id = o.id || o.name;
  const def: Record<string, unknown> = { ID: id, Name: o.name };
  if (o.address) def.Address = o.address;
  if (o.port !== undefined) def.Port = o.port;
  def.Tags = o.tags ?? [];
  if (o.meta) def.Meta = o.meta;
  if (o.weights) def.Weights = { Passing: o.weights.Passing ?? 1, Warning: o.weights.Warning ?? 1 };
  const c = o.check;
  if (c && (c.ttl || c.http || c.tcp)) {
    const chk: Record<string, unknown> = { CheckID: c.id || `service:${id}`, Name: c.name || `Service '${o.name}' check` };
    if (c.ttl) chk.TTL = c.ttl;
    if (c.http) chk.HTTP = c.http;
    if (c.tcp) chk.TCP = c.tcp;
    if (c.http || c.tcp) {
      chk.Interval = c.interval || '10s';
      if (c.timeout) chk.Timeout = c.timeout;
    }
    if (c.deregisterCriticalServiceAfter) chk.DeregisterCriticalServiceAfter = c.deregisterCriticalServiceAfter;
    def.Check = chk;
  }
  return def;
}

/** A live registration; emits 'registered' (each (re-)registration), 'heartbeat', 'error'. */
export class Registration extends EventEmitter {
  readonly id: string;
  readonly checkId: string | undefined;
  readonly options: RegisterOptions;
  readonly ttlMs: number;
  #api: AgentApi;
  #def: Record<string, unknown>;
  #abort = new AbortController();
  #closed = false;
  #loops: Promise<void>[] = [];
  #lostAgent = false;
  #onClose: () => void;
  /** Times the service was (re-)registered. */
  registrations = 0;

  constructor(api: AgentApi, o: RegisterOptions, onClose: () => void = () => {}) {
    super();
    this.#api = api;
    this.options = o;
    this.#def = serviceDefinition(o);
    this.id = this.#def.ID as string;
    const chk = this.#def.Check as Record<string, unknown> | undefined;
    this.checkId = chk?.CheckID as string | undefined;
    this.ttlMs = o.check?.ttl ? parseDurationMs(o.check.ttl) : 0;
    this.#onClose = onClose;
    this.on('error', () => { /* errors are reported as events; never crash the host process */ });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Registers (and, with a TTL check, passes it at once); then starts the keep-alive loops. */
  async start(): Promise<this> {
    await this.#register();
    if (this.ttlMs > 0) this.#loops.push(this.#heartbeatLoop());
    this.#loops.push(this.#verifyLoop());
    return this;
  }

  async #register(): Promise<void> {
    await this.#api.call('PUT', '/v1/agent/service/register', { body: this.#def });
    this.registrations++;
    if (this.ttlMs > 0) await this.#heartbeat();
    this.emit('registered', this.registrations);
  }

  /** One heartbeat: run the probe (if any) and report pass/fail on the TTL check. */
  async #heartbeat(): Promise<void> {
    let verb = 'pass';
    let note = '';
    if (this.options.probe) {
      let r: boolean | string;
      try { r = await this.options.probe(); } catch (err) { r = (err as Error).message || 'probe failed'; }
      if (r !== true) { verb = 'fail'; note = typeof r === 'string' ? r : 'probe failed'; }
    }
    await this.#api.call('PUT', `/v1/agent/check/${verb}/${encodeURIComponent(this.checkId!)}`, { query: note ? { note } : undefined, timeoutMs: Math.max(1000, this.ttlMs / 3) });
    this.emit('heartbeat', verb);
  }

  /** Re-registers when the agent lost us; otherwise reports the error. Returns true if it recovered. */
  async #recover(err: unknown): Promise<void> {
    if (this.#closed) return;
    const lost = err instanceof ApiError && err.status === 404;
    if (!lost && !(err instanceof ApiError)) {
      if (!this.#lostAgent) this.emit('error', err);
      this.#lostAgent = true;
      return;
    }
    if (!lost) { this.emit('error', err); return; }
    try {
      await this.#register();
      this.#lostAgent = false;
    } catch (e) {
      this.emit('error', e);
    }
  }

  async #afterReconnect(): Promise<void> {
    // The agent answered again after connection errors: it may have restarted without our data.
    this.#lostAgent = false;
    const r = await this.#api.call('GET', `/v1/agent/service/${encodeURIComponent(this.id)}`, { allow: [404] });
    if (r.status === 404) await this.#register();
  }

  async #heartbeatLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const period = this.ttlMs / 3;
    while (!this.#closed) {
      // While the agent is unreachable, retry quickly (but never faster than every 500 ms).
      await sleep(this.#lostAgent ? Math.min(1000, Math.max(500, period / 4)) : jitter(period), signal);
      if (this.#closed) return;
      try {
        if (this.#lostAgent) await this.#afterReconnect();
        await this.#heartbeat();
      } catch (err) {
        await this.#recover(err);
      }
    }
  }

  async #verifyLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const every = this.options.verifyIntervalMs ?? 30_000;
    while (!this.#closed) {
      await sleep(this.#lostAgent && this.ttlMs === 0 ? 1000 : jitter(every), signal);
      if (this.#closed) return;
      try {
        if (this.#lostAgent) { await this.#afterReconnect(); continue; }
        const r = await this.#api.call('GET', `/v1/agent/service/${encodeURIComponent(this.id)}`, { allow: [404] });
        if (r.status === 404) await this.#register();
      } catch (err) {
        await this.#recover(err);
      }
    }
  }

  /** Stops heartbeating and deregisters the service (a 404 — already gone — is fine). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#onClose();
    await Promise.allSettled(this.#loops);
    await this.#api.call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(this.id)}`, { allow: [404], timeoutMs: 5000 }).catch(err => this.emit('error', err));
  }

  /** Stops heartbeating without deregistering (the TTL will turn the check critical). */
  abandon(): void {
    this.#closed = true;
    this.#abort.abort();
    this.#onClose();
  }
}

/**
 * @module The third-party registrar: makes an agent's services match a folder of definition files
 * (or a fixed list), on start, on file change (fs.watch, debounced), on demand (SIGHUP) and every
 * resync period. It only ever removes registrations it owns (Meta `roster-registrar`), skips
 * identical re-registrations, and never deregisters on exit, so several registrars on one folder
 * agree and a dead registrar loses nothing.
 */
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { AgentApi, sleep, type AgentTls } from '../client/api.ts';
import { mergeFiles, ownerId, parseDefinitionText, planSync, servicesOf, withOwner, type CurrentService, type ServiceDef, type SyncPlan } from './definitions.ts';

export interface RegistrarOptions {
  api: AgentApi;
  /** Folder to mirror (watched). Either dir or defs. */
  dir?: string;
  /** A fixed list of definitions (the agent's own config). */
  defs?: ServiceDef[];
  /** Ownership marker. @defaultValue ownerId(dir) */
  owner?: string;
  /** @defaultValue 200 ms */ debounceMs?: number;
  /** Full resync period (re-registers what an agent lost). @defaultValue 30 s; 0 = never */ resyncMs?: number;
  /** @defaultValue true when dir is set */ watch?: boolean;
}

export interface SyncResult extends Omit<SyncPlan, 'register'> {
  registered: string[];
  errors: string[];
}

/** Mirrors a folder onto the agent; emits 'sync' (SyncResult) and 'error'. */
export class Registrar extends EventEmitter {
  readonly owner: string;
  readonly options: RegistrarOptions;
  #files = new Map<string, ServiceDef[]>();
  #watcher?: FSWatcher;
  #debounce?: NodeJS.Timeout;
  #timer?: NodeJS.Timeout;
  #running: Promise<SyncResult> | null = null;
  #again = false;
  #closed = false;
  #syncs = 0;

  constructor(o: RegistrarOptions) {
    super();
    if (!o.dir && !o.defs) throw new Error('registrar: dir or defs is required');
    this.options = o;
    this.owner = o.owner ?? ownerId(o.dir!);
    this.on('error', () => { /* reported, never fatal */ });
  }

  /** Re-reads every definition file; unparsable files keep their last good definitions. */
  load(): { defs: ServiceDef[]; errors: string[] } {
    if (this.options.defs) return mergeFiles(new Map([['config', this.options.defs]]));
    const dir = this.options.dir!;
    const errors: string[] = [];
    let names: string[];
    try {
      names = readdirSync(dir).filter(n => (n.endsWith('.json') || n.endsWith('.hcl')) && !n.startsWith('.'));
    } catch (err) {
      // The folder is gone or unreadable: keep what we had rather than deregister everything.
      return { defs: mergeFiles(this.#files).defs, errors: [`${dir}: ${(err as Error).message}`] };
    }
    const next = new Map<string, ServiceDef[]>();
    for (const n of names) {
      const file = join(dir, n);
      try {
        next.set(file, parseDefinitionText(readFileSync(file, 'utf8'), file));
      } catch (err) {
        errors.push((err as Error).message);
        const prev = this.#files.get(file);
        if (prev) next.set(file, prev);
      }
    }
    this.#files = next;
    const m = mergeFiles(next);
    return { defs: m.defs, errors: [...errors, ...m.errors] };
  }

  /** One reconciliation (serialised: a call during a sync runs one more sync after it). */
  sync(force = false): Promise<SyncResult> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#syncOnce(force).finally(() => {
      this.#running = null;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.sync().catch(() => {});
      }
    });
    return this.#running;
  }

  async #syncOnce(force: boolean): Promise<SyncResult> {
    const api = this.options.api;
    const { defs, errors } = this.load();
    const cur = await api.call<Record<string, CurrentService>>('GET', '/v1/agent/services');
    const plan = planSync(defs, cur.body ?? {}, this.owner, force);
    const registered: string[] = [];
    for (const d of plan.register) {
      try {
        await api.call('PUT', '/v1/agent/service/register', { body: withOwner(d, this.owner) });
        registered.push(d.id);
      } catch (err) {
        errors.push(`${d.file}: service "${d.id}": ${(err as Error).message}`);
      }
    }
    for (const id of plan.deregister) {
      try {
        await api.call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`, { allow: [404] });
      } catch (err) {
        errors.push(`deregister "${id}": ${(err as Error).message}`);
      }
    }
    for (const c of plan.conflicts) errors.push(`service ID "${c.id}" is owned by registrar ${c.owner}; left alone`);
    const res: SyncResult = { registered, deregister: plan.deregister, conflicts: plan.conflicts, unchanged: plan.unchanged, errors };
    this.emit('sync', res);
    return res;
  }

  /** Schedules a debounced sync (file changes arrive in bursts). */
  poke(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => { this.sync().catch(err => this.emit('error', err)); }, this.options.debounceMs ?? 200);
  }

  /** Watches the folder, then the first sync (retried until the agent answers), then periodic resyncs. */
  async start(): Promise<SyncResult> {
    // Watch before the first sync: a file changed while it runs (or while the agent is not up yet)
    // must cause another sync, not wait for the periodic resync.
    if (this.options.dir && this.options.watch !== false && !this.#closed) {
      try {
        this.#watcher = watch(this.options.dir, () => this.poke());
        this.#watcher.on('error', err => this.emit('error', err));
      } catch (err) {
        this.emit('error', err);
      }
    }
    let delay = 200;
    let first: SyncResult | undefined;
    while (!this.#closed) {
      try {
        first = await this.sync();
        break;
      } catch (err) {
        this.emit('error', err);
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
    const every = this.options.resyncMs ?? 30_000;
    if (every > 0 && !this.#closed) {
      this.#timer = setInterval(() => {
        // Every 10th resync re-PUTs everything (identical re-registration is a no-op in the store).
        this.sync(++this.#syncs % 10 === 0).catch(err => this.emit('error', err));
      }, every);
      this.#timer.unref?.();
    }
    return first ?? { registered: [], deregister: [], conflicts: [], unchanged: 0, errors: ['closed'] };
  }

  /** Stops watching. Registrations stay (use deregisterAll() to remove them). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#debounce);
    clearInterval(this.#timer);
    this.#watcher?.close();
  }

  /** Removes every registration this registrar owns. */
  async deregisterAll(): Promise<string[]> {
    const cur = await this.options.api.call<Record<string, CurrentService>>('GET', '/v1/agent/services');
    const plan = planSync([], cur.body ?? {}, this.owner);
    for (const id of plan.deregister) await this.options.api.call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`, { allow: [404] });
    return plan.deregister;
  }
}

/**
 * The agent's own config services (config.services): registered once through the agent's HTTP API,
 * owned by `agent-config`, so a definition removed from the config is removed on the next start.
 */
export async function registerConfigServices(httpAddr: string, services: unknown[], source = 'config', tls?: AgentTls, token = ''): Promise<SyncResult> {
  const defs = servicesOf({ services }, source);
  const r = new Registrar({ api: new AgentApi(httpAddr, token, tls), defs, owner: 'agent-config', watch: false, resyncMs: 0 });
  return r.sync();
}

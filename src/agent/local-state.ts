/**
 * @module The agent's own registrations (Consul's agent/local state): the services and checks
 * registered through this agent's API, persisted in its data dir.
 *
 * This is what anti-entropy (src/agent/anti-entropy.ts) syncs into the catalog: whatever of it
 * is missing from, or differs in, the catalog is written back. It changes only through the
 * agent's own endpoints (register / deregister / maintenance), the check reaper and the status
 * of its checks; a service or check deleted through the catalog API (or a deleted node) is
 * therefore put back, as Consul's agent does. Services registered on this node through
 * `/v1/catalog/register` are not adopted (Consul would delete them; Roster leaves them alone).
 */
import { readFileSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckRec, NodeState, ServiceRec } from '../catalog/model.ts';
import type { CheckWrite, RegisterRequest } from '../store/catalog-store.ts';
import { logger } from '../log.ts';
import { parseDurationNs } from '../util/duration.ts';

const log = logger('agent.local');

interface Snapshot { services: ServiceRec[]; checks: CheckRec[] }

/** A record without its indexes (and, for checks, without status and output): what "differs" compares. */
function canon(r: object, drop: readonly string[]): string {
  const o = r as Record<string, unknown>;
  const keys = Object.keys(o).filter(k => !drop.includes(k)).sort();
  return JSON.stringify(keys.map(k => [k, o[k]]));
}
function ttlOf(c: CheckRec): number {
  if (!c.Definition.TTL) return 0;
  try { return Math.max(1, parseDurationNs(c.Definition.TTL) / 1e6); } catch { return 1; }
}
const SVC_DROP = ['CreateIndex', 'ModifyIndex'] as const;
const CHK_DROP = ['CreateIndex', 'ModifyIndex', 'Status', 'Output'] as const;

export class LocalState {
  readonly services = new Map<string, ServiceRec>();
  readonly checks = new Map<string, CheckRec>();
  #file: string;
  #timer?: NodeJS.Timeout;
  #last = '';

  constructor(dataDir: string) {
    this.#file = join(dataDir, 'local-state.json');
    const snap = this.read();
    for (const s of snap?.services ?? []) this.services.set(s.ID, s);
    for (const c of snap?.checks ?? []) this.checks.set(c.CheckID, c);
    this.#last = snap ? JSON.stringify(snap) : '';
  }

  /**
   * Adopts the records an agent write is about to store, before the write: an anti-entropy sync
   * that runs meanwhile then writes the new definitions, never the old ones back. `track` replaces
   * them with the stored form once the write is visible.
   */
  adopt(req: RegisterRequest): void {
    for (const s of req.services) this.services.set(s.ID, { ...s, CreateIndex: 0, ModifyIndex: 0 });
    for (const w of req.checks) {
      const old = this.checks.get(w.check.CheckID);
      const keep = w.keep && old;
      this.checks.set(w.check.CheckID, { ...w.check, Status: keep ? old.Status : w.status, Output: keep ? old.Output : w.output, CreateIndex: 0, ModifyIndex: 0 });
    }
    this.save();
  }

  /** Adopts records just written through the agent's API, as the catalog (view) now holds them. */
  track(st: NodeState | undefined, ids: { services?: string[]; checks?: string[] }): void {
    if (!st) return;
    for (const id of ids.services ?? []) { const s = st.services.get(id); if (s) this.services.set(id, s); }
    for (const id of ids.checks ?? []) { const c = st.checks.get(id); if (c) this.checks.set(id, c); }
    this.save();
  }

  /** Forgets a service (with its checks) or a check removed through the agent. */
  forget(kind: 'service' | 'check', id: string): void {
    if (kind === 'service') {
      this.services.delete(id);
      for (const [cid, c] of this.checks) if (c.ServiceID === id) this.checks.delete(cid);
    } else {
      this.checks.delete(id);
    }
    this.save();
  }

  /** Forgets a service's checks that are not in `keep` (?replace-existing-checks). */
  forgetChecksOf(serviceId: string, keep: string[]): void {
    for (const [cid, c] of this.checks) if (c.ServiceID === serviceId && !keep.includes(cid)) this.checks.delete(cid);
    this.save();
  }

  /** Follows the status and output of owned checks as the catalog holds them (written by the check engine, TTLs). */
  refresh(st: NodeState | undefined): void {
    if (!st) return;
    let changed = false;
    for (const [id, c] of this.checks) {
      const now = st.checks.get(id);
      if (now && canon(now, CHK_DROP) === canon(c, CHK_DROP) && (now.Status !== c.Status || now.Output !== c.Output)) {
        this.checks.set(id, { ...c, Status: now.Status, Output: now.Output });
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** What the catalog lacks or holds differently, as a register request on `nodeName` (null when in sync). */
  diff(st: NodeState | null | undefined, nodeName: string): RegisterRequest | null {
    const services: RegisterRequest['services'] = [];
    const checks: CheckWrite[] = [];
    for (const s of this.services.values()) {
      const cur = st?.services.get(s.ID);
      if (!cur || canon(cur, SVC_DROP) !== canon(s, SVC_DROP)) {
        const { CreateIndex, ModifyIndex, ...rest } = s; void CreateIndex; void ModifyIndex;
        services.push(rest);
      }
    }
    for (const c of this.checks.values()) {
      const cur = st?.checks.get(c.CheckID);
      if (!cur || canon(cur, CHK_DROP) !== canon(c, CHK_DROP)) {
        const { CreateIndex, ModifyIndex, Status, Output, ...rest } = c; void CreateIndex; void ModifyIndex;
        // A TTL check comes back with its TTL armed again.
        checks.push({ check: { ...rest, Node: nodeName }, status: Status, output: Output, keep: !!cur, ttlMs: ttlOf(c) });
      }
    }
    if (!services.length && !checks.length) return null;
    return { nodeName, node: null, services, checks };
  }

  /** Schedules a write of the snapshot (debounced). */
  save(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), 200);
    this.#timer.unref();
  }

  /** Writes the snapshot now (0600, atomically). */
  flush(): void {
    clearTimeout(this.#timer);
    const text = JSON.stringify({ services: [...this.services.values()], checks: [...this.checks.values()] });
    if (text === this.#last) return;
    try {
      writeFileSync(this.#file + '.tmp', text, { mode: 0o600 });
      chmodSync(this.#file + '.tmp', 0o600);
      renameSync(this.#file + '.tmp', this.#file);
      this.#last = text;
    } catch (err) {
      log.warn('cannot persist local state', { err: (err as Error).message });
    }
  }

  read(): Snapshot | null {
    try {
      return JSON.parse(readFileSync(this.#file, 'utf8')) as Snapshot;
    } catch {
      return null;
    }
  }
}

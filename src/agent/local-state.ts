/**
 * @module The agent's own registrations, persisted in its data dir (as Consul persists
 * services and checks registered through the agent).
 *
 * The catalog in Redis is the system of record; this snapshot only restores the agent's own
 * node when Redis no longer has it: after a graceful leave (which deregisters the node) or
 * after Redis lost its data. A service deliberately deregistered while the node existed is not
 * resurrected, because the snapshot follows the catalog.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckRec, NodeState, ServiceRec } from '../catalog/model.ts';
import type { CatalogStore } from '../store/catalog-store.ts';
import { logger } from '../log.ts';

const log = logger('agent.local');

interface Snapshot { services: ServiceRec[]; checks: CheckRec[] }

/** Registrations the agent itself owns: everything on its node but the built-ins. */
function own(st: NodeState): Snapshot {
  return {
    services: [...st.services.values()].filter(s => s.ID !== 'consul'),
    checks: [...st.checks.values()].filter(c => c.CheckID !== 'serfHealth'),
  };
}

export class LocalState {
  #file: string;
  #timer?: NodeJS.Timeout;
  #last = '';

  constructor(dataDir: string) {
    this.#file = join(dataDir, 'local-state.json');
  }

  /** Schedules a write of the node's current registrations (debounced). */
  save(st: NodeState | undefined): void {
    if (!st) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(st), 1000);
  }

  flush(st: NodeState): void {
    clearTimeout(this.#timer);
    const text = JSON.stringify(own(st));
    if (text === this.#last) return;
    try {
      writeFileSync(this.#file + '.tmp', text);
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

  /** Re-registers the snapshot on `node` (which must exist); keeps the saved check status. */
  async restore(store: CatalogStore, nodeName: string): Promise<number> {
    const snap = this.read();
    if (!snap || snap.services.length + snap.checks.length === 0) return 0;
    await store.register({
      nodeName,
      node: null,
      services: snap.services.map(({ CreateIndex, ModifyIndex, ...s }) => { void CreateIndex; void ModifyIndex; return s; }),
      checks: snap.checks.map(({ CreateIndex, ModifyIndex, Status, Output, ...c }) => {
        void CreateIndex; void ModifyIndex;
        const ttlMs = c.Definition.TTL ? 1 : 0;
        return { check: { ...c, Node: nodeName }, status: Status, output: Output, keep: true, ttlMs };
      }),
    });
    log.info('restored this agent\'s registrations from its data dir', { services: snap.services.length, checks: snap.checks.length });
    return snap.services.length;
  }
}

/**
 * @module Eureka in the agent: the registry view, the leases, the evictor and the routes, wired to
 * the agent's catalog, store and HTTP router. Several agents sharing one Redis are one registry:
 * leases, renewal counts and the catalog are all in Redis, and any agent may take a client's call.
 */
import type { Router } from '../http/server.ts';
import type { ApiDeps, Gauge } from '../http/context.ts';
import { logger } from '../log.ts';
import { EurekaRegistry } from './registry.ts';
import { LeaseStore } from './leases.ts';
import { Evictor, type PreservationStatus } from './eviction.ts';
import { eurekaRoutes, removeInstance } from './routes.ts';

const log = logger('agent.eureka');

export interface EurekaHandle {
  registry: EurekaRegistry;
  evictor: Evictor;
  /** The self-preservation state (for /v1/agent/self and the `roster_self_preservation` metric). */
  status(): PreservationStatus;
  /** Gauges for /v1/agent/metrics. */
  gauges(): Gauge[];
  stop(): void;
}

/** Mounts Eureka's API on `router` and starts eviction; null when `eureka { enabled = false }`. */
export function startEureka(router: Router, api: ApiDeps): EurekaHandle | null {
  const cfg = api.config.eureka;
  if (!cfg.enabled) return null;
  const registry = new EurekaRegistry(api.view, { retentionMs: cfg.deltaRetentionMs });
  const leases = new LeaseStore(api.redis, api.store.keys);
  eurekaRoutes(router, { api, registry, leases });
  const evictor = new Evictor({
    cfg, ops: leases, agent: api.nodeName, log,
    evict: async (id, node) => {
      const st = api.view.node(node);
      const svc = st?.services.get(id);
      if (st && svc) await removeInstance(api, { node: st.node, service: svc, checks: [] });
    },
  });
  evictor.start();
  const prune = setInterval(() => registry.prune(), 30_000);
  prune.unref();
  // An Eureka instance without a lease (a snapshot restore, a lease lost between the catalog write and the lease write)
  // would never be evicted: it gets a fresh lease, so that it lapses unless its client renews.
  const adopt = setInterval(() => {
    if (api.redis.status !== 'ready') return;
    void (async () => {
      const all = [...registry.eurekaLeases()];
      if (!all.length) return;
      const by = new Map(all.map(l => [l.id, l]));
      for (const id of await leases.missing(all.map(l => l.id))) {
        const l = by.get(id)!;
        await leases.grant(id, l.node, l.ms);
        log.info('Eureka instance without a lease: lease granted', { instance: id, node: l.node });
      }
    })().catch(err => log.debug('lease adoption failed', { err: (err as Error).message }));
  }, Math.max(cfg.evictionIntervalMs, 5000));
  adopt.unref();
  return {
    registry, evictor,
    status: () => evictor.status,
    gauges: () => {
      const s = evictor.status;
      return [
        { Name: 'roster.self_preservation', Value: s.selfPreservation ? 1 : 0, Labels: {} },
        { Name: 'roster.eureka.renews_threshold', Value: s.renewsThreshold, Labels: {} },
        { Name: 'roster.eureka.renews_last_min', Value: s.renewsLastMin, Labels: {} },
        { Name: 'roster.eureka.leases', Value: s.leases, Labels: {} },
      ];
    },
    stop: () => { evictor.stop(); clearInterval(prune); clearInterval(adopt); },
  };
}

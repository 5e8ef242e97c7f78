/**
 * @module The client library's metrics hook: picks and ejections of every Discovery, for the host
 * program to count however it exposes metrics. `registerMetricsHook` takes plain callbacks;
 * `enableClientMetrics` is the ready-made one for prom-client: it registers the counters
 * `roster_client_picks{service}` and `roster_client_ejections{service}` in the host's prom-client
 * registry (the default one unless given).
 *
 * ```ts
 * import { collectDefaultMetrics, register } from 'prom-client';
 * import { connect, enableClientMetrics } from 'roster';
 * enableClientMetrics();            // or registerMetricsHook({ pick: (svc, inst) => ..., eject: ... })
 * app.get('/metrics', async (_q, s) => s.type(register.contentType).send(await register.metrics()));
 * ```
 */
import { Counter, register as defaultRegister, type Registry } from 'prom-client';
import type { Instance } from './types.ts';

export interface ClientMetricsHook {
  /** An instance was picked for a request to `service`. */
  pick?(service: string, inst: Instance): void;
  /** An instance failed a request and is ejected for `ms`. */
  eject?(service: string, inst: Instance, ms: number): void;
}

const hooks: ClientMetricsHook[] = [];

/** Adds a hook; returns its removal. Hooks must not throw (an exception is swallowed). */
export function registerMetricsHook(h: ClientMetricsHook): () => void {
  hooks.push(h);
  return () => { const i = hooks.indexOf(h); if (i >= 0) hooks.splice(i, 1); };
}

/** @internal Discovery's side. */
export function emitPick(service: string, inst: Instance): void {
  for (const h of hooks) try { h.pick?.(service, inst); } catch { /* a host hook never breaks a request */ }
}

/** @internal Discovery's side. */
export function emitEject(service: string, inst: Instance, ms: number): void {
  for (const h of hooks) try { h.eject?.(service, inst, ms); } catch { /* as above */ }
}

/** Counts picks and ejections per service in a prom-client registry; returns the hook's removal. */
export function enableClientMetrics(registry: Registry = defaultRegister): () => void {
  const existing = (name: string) => registry.getSingleMetric(name) as Counter<'service'> | undefined;
  const picks = existing('roster_client_picks') ?? new Counter({ name: 'roster_client_picks', help: 'Instances picked by the Roster client library, by service.', labelNames: ['service'], registers: [registry] });
  const ejections = existing('roster_client_ejections') ?? new Counter({ name: 'roster_client_ejections', help: 'Instances ejected by the Roster client library\'s outlier detection, by service.', labelNames: ['service'], registers: [registry] });
  return registerMetricsHook({ pick: s => picks.inc({ service: s }), eject: s => ejections.inc({ service: s }) });
}

/**
 * @module The protection threshold (Nacos's idea, issue 17): when the passing fraction of a
 * service's instances falls below its threshold, answers carry all of them instead of the few
 * survivors, so that a mass failure of health checks does not send the whole load to one instance.
 * Instances in maintenance stay out either way (an operator's decision, not a health check's).
 */
import { isVisible, NODE_MAINT_CHECK, SERVICE_MAINT_PREFIX, type Instance } from './model.ts';

/** How often answers were widened, in total and per service: the `roster.dns.service_protection_applied` counter. */
export const protectionStats = { total: 0, byService: new Map<string, number>() };

function inMaintenance(i: Instance): boolean {
  return i.checks.some(c => c.CheckID === NODE_MAINT_CHECK || c.CheckID.startsWith(SERVICE_MAINT_PREFIX));
}

/**
 * The instances an answer carries: those isVisible keeps, or, with a threshold in (0, 1] that the
 * passing fraction (of the instances not in maintenance) falls below, all of those instances.
 */
export function answerInstances(insts: readonly Instance[], onlyPassing: boolean, threshold: number | undefined, service: string): Instance[] {
  if (!threshold || threshold <= 0 || insts.length === 0) return insts.filter(i => isVisible(i, onlyPassing));
  const candidates = insts.filter(i => !inMaintenance(i));
  let passing = 0;
  for (const i of candidates) if (isVisible(i, true)) passing++;
  if (candidates.length === 0 || passing / candidates.length >= threshold) return insts.filter(i => isVisible(i, onlyPassing));
  countProtection(service);
  return candidates;
}

/** Counts one widened answer for `service` (answerInstances does; so does a cached list that was widened when made). */
export function countProtection(service: string): void {
  protectionStats.total++;
  const k = service.toLowerCase();
  protectionStats.byService.set(k, (protectionStats.byService.get(k) ?? 0) + 1);
}

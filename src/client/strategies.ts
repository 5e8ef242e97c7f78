/**
 * @module Load-balancing strategies: pure pickers over a list of instances.
 *
 * Every strategy is deterministic given its inputs (random takes an injectable rng), so the unit
 * tests can assert exact sequences. `weighted` is nginx's smooth weighted round-robin over Consul's
 * Weights (Passing for passing instances, Warning for warning ones; weight 0 never picked).
 */
import type { Instance, StrategyName } from './types.ts';

export const STRATEGIES: readonly StrategyName[] = ['round-robin', 'random', 'weighted', 'least-outstanding'];

/** A picker; `outstanding` counts in-flight requests per instance id (least-outstanding reads it). */
export interface Strategy {
  readonly name: StrategyName;
  pick(list: readonly Instance[]): Instance | undefined;
  /** Marks a request started on an instance; returns the function that marks it finished. */
  begin(inst: Instance): () => void;
  outstanding(id: string): number;
}

/** The effective weight of an instance under `weighted`. */
export function weightOf(i: Instance): number {
  const w = i.status === 'warning' ? i.weights.Warning : i.weights.Passing;
  return Number.isFinite(w) && w > 0 ? w : 0;
}

/** Builds a strategy by name; throws on an unknown name (the message lists the valid ones). */
export function createStrategy(name: StrategyName = 'round-robin', rng: () => number = Math.random): Strategy {
  if (!STRATEGIES.includes(name)) throw new Error(`unknown strategy "${name}" (valid: ${STRATEGIES.join(', ')})`);
  const inflight = new Map<string, number>();
  let rr = 0;
  const current = new Map<string, number>();
  const begin = (inst: Instance) => {
    inflight.set(inst.id, (inflight.get(inst.id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (inflight.get(inst.id) ?? 1) - 1;
      if (n <= 0) inflight.delete(inst.id); else inflight.set(inst.id, n);
    };
  };
  const outstanding = (id: string) => inflight.get(id) ?? 0;
  const pickers: Record<StrategyName, (l: readonly Instance[]) => Instance | undefined> = {
    'round-robin': l => l[rr++ % l.length],
    random: l => l[Math.min(l.length - 1, Math.floor(rng() * l.length))],
    weighted: l => {
      // Smooth weighted round-robin (nginx): add each weight to its current value, pick the max, subtract the total.
      let total = 0;
      let best: Instance | undefined;
      let bestCur = -Infinity;
      const seen = new Set<string>();
      for (const i of l) {
        const w = weightOf(i);
        seen.add(i.id);
        if (w === 0) continue;
        const cur = (current.get(i.id) ?? 0) + w;
        current.set(i.id, cur);
        total += w;
        if (cur > bestCur) { bestCur = cur; best = i; }
      }
      for (const id of current.keys()) if (!seen.has(id)) current.delete(id);
      if (!best) return l[rr++ % l.length];
      current.set(best.id, bestCur - total);
      return best;
    },
    'least-outstanding': l => {
      // Fewest in-flight requests; ties rotate so idle instances share the load.
      const start = rr++ % l.length;
      let best: Instance | undefined;
      let bestN = Infinity;
      for (let k = 0; k < l.length; k++) {
        const i = l[(start + k) % l.length]!;
        const n = outstanding(i.id);
        if (n < bestN) { bestN = n; best = i; }
      }
      return best;
    },
  };
  const p = pickers[name];
  return { name, pick: l => (l.length ? p(l) : undefined), begin, outstanding };
}

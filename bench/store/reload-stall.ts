/**
 * How long a catalog reload stalls the event loop (a DNS answer waits that long), issue 12 §3:
 *   node bench/store/reload-stall.ts [instances=100000] [runs=3]
 * In one process, no Redis: a CatalogView holding `instances` (5 per node, one node check each) with the
 * agent's 'change' listener (blocking-query topics) attached, then
 *  - reset: an authoritative reload (snapshot restore, flushed Redis) to a catalog of the same size whose
 *    records all differ; "before" = view.resetAll at once + one topic fired per node and service,
 *    "after" = built beside the view in ~2 ms slices (util/slices.ts) and swapped + fireAllPrefixed;
 *  - merge: a forced merged reload where 10 % of the nodes changed; "before" = 500 nodes per turn,
 *    then the nodes it lacked at once (finishSlices); "after" = ~2 ms of work per turn for both
 *    (the syncer's code paths, without the Redis read).
 * Node flags as the agent runs (bin/roster): pass them, e.g.
 *   node --max-old-space-size=1536 --max-semi-space-size=8 --expose-gc bench/store/reload-stall.ts 100000 3
 * Measures monitorEventLoopDelay (1 ms resolution) p99 and max while each runs, and its wall time.
 * Bounded: `runs` repetitions of 4 phases; stops by itself.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join, resolve } from 'node:path';

const SRC = resolve(process.env.ROSTER_SRC ?? join(import.meta.dirname, '../../src'));
const { CatalogView } = await import(join(SRC, 'catalog/view.ts'));
const { Notifier } = await import(join(SRC, 'http/blocking.ts'));
const { runSliced, runSteps } = await import(join(SRC, 'util/slices.ts'));
import type { NodeState, ServiceRec, CheckRec } from '../../src/catalog/model.ts';
import type { ViewChange } from '../../src/catalog/view.ts';

const instances = Number(process.argv[2] ?? 100_000);
const runs = Math.min(10, Number(process.argv[3] ?? 3));
const nodesN = Math.ceil(instances / 5);

function world(c: number, changedEvery = 1): NodeState[] {
  const out: NodeState[] = [];
  for (let i = 0; i < nodesN; i++) {
    const ci = i % changedEvery === 0 ? c : 1;
    const name = `node-${i}`;
    const services = new Map<string, ServiceRec>();
    for (let j = 0; j < 5; j++) {
      const id = `svc-${i}-${j}`;
      services.set(id, { ID: id, Service: `service-${(i * 5 + j) % 2000}`, Tags: ['a'], Address: `10.${i >> 16 & 255}.${i >> 8 & 255}.${i & 255}`, Meta: {}, Port: 8000 + j, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: ci, ModifyIndex: ci });
    }
    const checks = new Map<string, CheckRec>([['serfHealth', { Node: name, CheckID: 'serfHealth', Name: 'Serf', Status: 'passing', Notes: '', Output: '', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: ci, ModifyIndex: ci }]]);
    out.push({ node: { ID: `id-${i}`, Node: name, Address: `10.1.${i >> 8 & 255}.${i & 255}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: ci, ModifyIndex: ci }, services, checks });
  }
  return out;
}

const view = new CatalogView();
const notifier = new Notifier();
let mode: 'before' | 'after' = 'before';
// The agent's listener (src/agent/agent.ts), before and after this change.
view.on('change', (ch: ViewChange) => {
  if (ch.all && mode === 'after') notifier.fireAllPrefixed(['svc:', 'node:']);
  else {
    for (const s of ch.services) notifier.fire(`svc:${s}`);
    for (const n of ch.nodes) notifier.fire(`node:${n}`);
    if (ch.all) for (const s of view.serviceNames()) notifier.fire(`svc:${s}`);
  }
  for (const t of ['nodes', 'services', 'checks']) notifier.fire(`table:${t}`);
});
view.replaceAll(world(2), 2);

const turn = () => new Promise<void>(r => setImmediate(r));
const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms));

async function measure(label: string, fn: () => Promise<void> | void): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(50);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(20);
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  await sleep(20);
  h.disable();
  console.log(`${label.padEnd(16)} wall ${wall.toFixed(0).padStart(5)} ms   loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1).padStart(6)} ms  max ${(h.max / 1e6).toFixed(1).padStart(6)} ms`);
}

let rev = 10;
console.log(`${instances} instances (${nodesN} nodes), node ${process.version}`);
for (let r = 0; r < runs; r++) {
  for (const m of ['before', 'after'] as const) {
    mode = m;
    let snap = world(++rev);
    await measure(`reset ${m}`, async () => {
      if (m === 'before') { view.resetAll(snap, rev); return; }
      view.beginReset();
      await runSliced(snap.length, (a: number, b: number) => view.stageStates(snap.slice(a, b)), { budgetMs: 2 });
      view.commitReset(rev);
    });
    snap = world(++rev, 10);
    await measure(`merge ${m}`, async () => {
      const seen = new Set<string>();
      if (m === 'before') {
        for (let i = 0; i < snap.length; i += 500) { view.mergeSlice(snap.slice(i, i + 500), rev, undefined, seen); await turn(); }
        const f0 = performance.now();
        view.finishSlices(seen, rev);
        if (r === 0) console.log(`  (finishSlices alone: ${(performance.now() - f0).toFixed(1)} ms)`);
      } else {
        await runSliced(snap.length, (a: number, b: number) => view.mergeSlice(snap.slice(a, b), rev, undefined, seen), { budgetMs: 2 });
        const keys = view.nodeKeys();
        await runSteps(() => view.dropUnseen(keys, seen, rev, 256), { budgetMs: 2 });
        view.pruneAfterSlices(rev);
      }
    });
  }
}

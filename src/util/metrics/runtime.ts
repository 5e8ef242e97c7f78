/**
 * @module Consul's `consul.runtime.*` gauges, mapped onto Node's: alloc_bytes = V8 heap used,
 * sys_bytes = resident set size, heap_objects = V8 heap committed (V8 keeps no object count),
 * num_goroutines = active handles and requests (sockets, timers, ...), total_gc_runs and
 * total_gc_pause_ns from a GC observer, plus the sample `consul.runtime.gc_pause_ns` per collection.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { metrics } from './registry.ts';

let gcRuns = 0;
let gcPauseNs = 0;
let started = false;

const mem = () => process.memoryUsage();
metrics.gauge('consul.runtime.alloc_bytes', undefined, () => [{ value: mem().heapUsed }]);
metrics.gauge('consul.runtime.sys_bytes', undefined, () => [{ value: mem().rss }]);
metrics.gauge('consul.runtime.heap_objects', undefined, () => [{ value: mem().heapTotal }]);
metrics.gauge('consul.runtime.num_goroutines', undefined, () => [{ value: process.getActiveResourcesInfo().length }]);
metrics.gauge('consul.runtime.total_gc_runs', undefined, () => [{ value: gcRuns }]);
metrics.gauge('consul.runtime.total_gc_pause_ns', undefined, () => [{ value: gcPauseNs }]);
const gcPause = metrics.sample('consul.runtime.gc_pause_ns').series();

/** Starts observing garbage collections (once per process). */
export function startRuntimeMetrics(): void {
  if (started) return;
  started = true;
  const obs = new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      gcRuns++;
      const ns = e.duration * 1e6;
      gcPauseNs += ns;
      gcPause.observe(ns);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
}

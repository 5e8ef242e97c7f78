/**
 * @module The process's metrics: counters, samples (timers), histograms and gauges, kept as plain
 * numbers so that recording one costs a few additions and no allocation (the DNS hot path records
 * every query). Everything else is computed when someone reads: the Prometheus text (prometheus.ts,
 * through prom-client) and Consul's JSON shape of /v1/agent/metrics (json.ts).
 *
 * Names are dotted, as go-metrics keys are (`consul.dns.domain_query`, `roster.dns.cache_hits`);
 * Prometheus flattens them (`consul_dns_domain_query`). A family with labels keeps one series per
 * label set; series are created on first use (or up front with `series()`, which the hot path does
 * once and then only increments fields of the object it got).
 *
 * Like go-metrics' in-memory sink, series are grouped in 10 s intervals: `rotate()` closes the
 * current interval (the registry's own timer calls it on each 10 s boundary), and the JSON endpoint
 * shows the last closed one. Prometheus sees running totals; sample quantiles cover the last one to
 * two intervals (Consul's summaries use a 10 s window).
 */

export type Kind = 'counter' | 'sample' | 'histogram' | 'gauge';
export type Labels = Record<string, string>;

export const INTERVAL_MS = 10_000;

/** Log-scale buckets of sample values for quantiles: 8 per doubling from 1 µs-units (0.001) up. */
const Q_MIN = 0.001;
const Q_PER_OCTAVE = 8;
const Q_BUCKETS = 40 * Q_PER_OCTAVE;

/** One series: running totals for Prometheus, and the current and last interval's aggregate for JSON. */
export class Series {
  readonly labels: Labels;
  /** Observations (increments for a counter) and their sum, since start. */
  count = 0;
  sum = 0;
  /** Current interval: sum of squares, min, max; totals at its start. */
  sumSq = 0;
  min = Infinity;
  max = -Infinity;
  baseCount = 0;
  baseSum = 0;
  /** The last closed interval's aggregate (count 0 = not updated then). */
  last = { count: 0, sum: 0, sumSq: 0, min: 0, max: 0 };
  /** Wall-clock ms of the last update (series of labelled families expire after the retention). */
  touched = 0;
  /** Gauges: the value set last. */
  value = 0;
  /** Samples: quantile buckets of this and the previous interval; histograms: cumulative bucket counts. */
  readonly q: Float64Array | null;
  readonly qPrev: Float64Array | null;
  readonly buckets: Float64Array | null;

  constructor(labels: Labels, kind: Kind, bounds: readonly number[] | null) {
    this.labels = labels;
    this.q = kind === 'sample' ? new Float64Array(Q_BUCKETS) : null;
    this.qPrev = kind === 'sample' ? new Float64Array(Q_BUCKETS) : null;
    this.buckets = kind === 'histogram' ? new Float64Array(bounds!.length) : null;
    this.#bounds = bounds;
  }

  readonly #bounds: readonly number[] | null;

  /** Counters: adds `v` (1 by default). */
  inc(v = 1): void {
    this.count++;
    this.sum += v;
    this.sumSq += v * v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Samples and histograms: one observed value (timers in milliseconds, as go-metrics'). */
  observe(v: number): void {
    this.inc(v);
    if (this.q !== null) {
      let i = v <= Q_MIN ? 0 : Math.floor(Math.log2(v / Q_MIN) * Q_PER_OCTAVE);
      if (i >= Q_BUCKETS) i = Q_BUCKETS - 1;
      this.q[i]!++;
    } else if (this.buckets !== null) {
      const b = this.#bounds!;
      for (let i = 0; i < b.length; i++) if (v <= b[i]!) this.buckets[i]!++;
    }
  }

  /**
   * Samples recorded for one observation in `weight` (the hot path times 1 query in `weight`; a
   * clock read costs more than the rest of the recording): the others call `tally()`. Count stays
   * exact; sum, sum of squares and quantile buckets count this value `weight` times.
   */
  observeSampled(v: number, weight: number): void {
    this.count++;
    this.sum += v * weight;
    this.sumSq += v * v * weight;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.q !== null) {
      let i = v <= Q_MIN ? 0 : Math.floor(Math.log2(v / Q_MIN) * Q_PER_OCTAVE);
      if (i >= Q_BUCKETS) i = Q_BUCKETS - 1;
      this.q[i]! += weight;
    }
  }

  /** One observation not timed (see observeSampled). */
  tally(): void {
    this.count++;
  }

  /** A sample's value without counting an observation (its owner counts them separately, see addCount). */
  addSample(v: number, weight: number): void {
    this.count--;
    this.observeSampled(v, weight);
  }

  /**
   * `n` observations at once: for a counter, `n` increments of 1; for a sample, `n` observations whose values
   * were sampled elsewhere (addSample). Owners that count in their own plain numbers flush them with this.
   */
  addCount(n: number, counter: boolean): void {
    if (n <= 0) return;
    this.count += n;
    if (!counter) return;
    this.sum += n;
    this.sumSq += n;
    if (this.min > 1) this.min = 1;
    if (this.max < 1) this.max = 1;
  }

  /** Gauges set by their owner (callback gauges are read at scrape time instead). */
  set(v: number): void {
    this.value = v;
    this.count++;
  }

  /** Closes the interval: the current aggregate becomes `last`. */
  rotate(): void {
    this.last = this.current();
    this.baseCount = this.count; this.baseSum = this.sum;
    this.sumSq = 0; this.min = Infinity; this.max = -Infinity;
    if (this.q !== null) { this.qPrev!.set(this.q); this.q.fill(0); }
  }

  /** The current interval's aggregate (before the first interval closed). */
  current(): { count: number; sum: number; sumSq: number; min: number; max: number } {
    const n = this.count - this.baseCount;
    // Min/max stay unset when every observation of the interval was a tally (not timed).
    return n > 0
      ? { count: n, sum: this.sum - this.baseSum, sumSq: this.sumSq, min: this.min === Infinity ? 0 : this.min, max: this.max === -Infinity ? 0 : this.max }
      : { count: 0, sum: 0, sumSq: 0, min: 0, max: 0 };
  }

  /** Estimated quantile (0..1) of the samples of the last one to two intervals; NaN when none. */
  quantile(p: number): number {
    const q = this.q!; const prev = this.qPrev!;
    let total = 0;
    for (let i = 0; i < Q_BUCKETS; i++) total += q[i]! + prev[i]!;
    if (total === 0) return NaN;
    const rank = p * total;
    let acc = 0;
    for (let i = 0; i < Q_BUCKETS; i++) {
      acc += q[i]! + prev[i]!;
      if (acc >= rank) return i === 0 ? Q_MIN : Q_MIN * 2 ** ((i + 0.5) / Q_PER_OCTAVE);
    }
    return Q_MIN * 2 ** (Q_BUCKETS / Q_PER_OCTAVE);
  }
}

export interface FamilyDef {
  name: string;
  kind: Kind;
  help?: string;
  labelNames?: readonly string[];
  /** Histograms: upper bounds of the buckets. */
  buckets?: readonly number[];
  /**
   * Gauges read at scrape time: the current values, one per label set. An unlabelled counter may
   * be read too (a running total its owner keeps, e.g. the DNS cache's hits): its JSON interval
   * shows the increase over the interval.
   */
  read?: () => Iterable<{ labels?: Labels; value: number }>;
}

/** A metric and its series, one per label set. */
export class Family {
  readonly name: string;
  readonly kind: Kind;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly bounds: readonly number[] | null;
  read: FamilyDef['read'];
  readonly #series = new Map<string, Series>();
  /** Series created up front by their owner: never expire. */
  readonly #pinned = new Set<Series>();

  constructor(def: FamilyDef) {
    this.name = def.name;
    this.kind = def.kind;
    this.help = def.help ?? def.name;
    this.labelNames = def.labelNames ?? [];
    this.bounds = def.buckets ?? null;
    this.read = def.read;
  }

  /** The series for these label values (in labelNames order), created on first use. */
  with(...values: string[]): Series {
    const key = values.length === 0 ? '' : values.length === 1 ? values[0]! : values.join('\u0000');
    let s = this.#series.get(key);
    if (s === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => { labels[n] = values[i] ?? ''; });
      s = new Series(labels, this.kind, this.bounds);
      this.#series.set(key, s);
    }
    s.touched = Date.now();
    return s;
  }

  /** A series kept for good (the hot path holds it and updates its fields). */
  series(...values: string[]): Series {
    const s = this.with(...values);
    this.#pinned.add(s);
    return s;
  }

  all(): IterableIterator<Series> { return this.#series.values(); }

  /** Read counters: the total at the start of the current interval, and the last closed interval's increase. */
  readBase = 0;
  readLast = 0;

  /** A read counter's running total. */
  readTotal(): number {
    let v = 0;
    for (const x of this.read!()) v += x.value;
    return v;
  }

  rotate(now: number, retentionMs: number): void {
    if (this.read && this.kind === 'counter') {
      const v = this.readTotal();
      this.readLast = v - this.readBase;
      this.readBase = v;
    }
    for (const [k, s] of this.#series) {
      if (retentionMs > 0 && this.labelNames.length > 0 && !this.#pinned.has(s) && now - s.touched > retentionMs) { this.#series.delete(k); continue; }
      s.rotate();
    }
  }
}

/** Settings from `telemetry { ... }`. */
export interface TelemetrySettings {
  /** Recording on (telemetry { disable = true } turns it off; the endpoints still answer). */
  enabled: boolean;
  /** First part of Consul's names. @defaultValue 'consul' */
  prefix: string;
  /** Labelled series not updated for this long are dropped (0 = kept). @defaultValue 60s */
  retentionMs: number;
  /** Insert the host name in gauge names, as go-metrics does (only when `disable_hostname = false` was set). */
  hostname: string;
}

export class MetricsRegistry {
  readonly families: Family[] = [];
  readonly #byName = new Map<string, Family>();
  settings: TelemetrySettings = { enabled: true, prefix: 'consul', retentionMs: 60_000, hostname: '' };
  /** Start of the current interval, and of the last closed one (0 = none yet). */
  intervalStart = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS;
  lastStart = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #flushers = new Set<() => void>();

  /**
   * Adds a function run before every read and interval close: owners that count in their own plain numbers
   * (the DNS handler) move them into their series there. Returns its removal.
   */
  onRead(fn: () => void): () => void {
    this.#flushers.add(fn);
    return () => this.#flushers.delete(fn);
  }

  define(def: FamilyDef): Family {
    const had = this.#byName.get(def.name);
    if (had) { if (def.read) had.read = def.read; return had; }
    const f = new Family(def);
    this.families.push(f);
    this.#byName.set(def.name, f);
    return f;
  }

  counter(name: string, help?: string, labelNames?: readonly string[]): Family { return this.define({ name, kind: 'counter', help, labelNames }); }
  sample(name: string, help?: string, labelNames?: readonly string[]): Family { return this.define({ name, kind: 'sample', help, labelNames }); }
  histogram(name: string, buckets: readonly number[], help?: string, labelNames?: readonly string[]): Family { return this.define({ name, kind: 'histogram', help, labelNames, buckets }); }
  /** A gauge whose values are read at scrape time. */
  gauge(name: string, help: string | undefined, read: () => Iterable<{ labels?: Labels; value: number }>, labelNames?: readonly string[]): Family {
    return this.define({ name, kind: 'gauge', help, labelNames, read });
  }
  /** An unlabelled counter whose running total is read at scrape time (see FamilyDef.read). */
  readCounter(name: string, help: string | undefined, read: () => number): Family {
    return this.define({ name, kind: 'counter', help, read: () => [{ value: read() }] });
  }
  /** A gauge its owner sets. */
  setGauge(name: string, help?: string, labelNames?: readonly string[]): Family { return this.define({ name, kind: 'gauge', help, labelNames }); }

  get(name: string): Family | undefined { return this.#byName.get(name); }

  /** Closes the interval that contains `now`'s predecessor boundary. */
  rotate(now = Date.now()): void {
    for (const f of this.#flushers) f();
    const start = Math.floor(now / INTERVAL_MS) * INTERVAL_MS;
    if (start <= this.intervalStart) return;
    for (const f of this.families) f.rotate(now, this.settings.retentionMs);
    // A gap of more than one interval (a timer that could not run): the last closed one is the one just before now.
    this.lastStart = start - INTERVAL_MS >= this.intervalStart ? start - INTERVAL_MS : this.intervalStart;
    this.intervalStart = start;
  }

  /** Rotates on every 10 s boundary until stop(); the timer never holds the process open. */
  start(): void {
    if (this.#timer) return;
    const tick = () => {
      this.rotate();
      this.#timer = setTimeout(tick, INTERVAL_MS - (Date.now() % INTERVAL_MS) + 5);
      this.#timer.unref();
    };
    this.#timer = setTimeout(tick, INTERVAL_MS - (Date.now() % INTERVAL_MS) + 5);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** A Consul name with the configured prefix (`consul.x` → `<prefix>.x`). */
  displayName(f: Family): string {
    let n = f.name;
    const { prefix, hostname } = this.settings;
    if (n.startsWith('consul.')) {
      const rest = n.slice(7);
      n = f.kind === 'gauge' && hostname ? `${prefix}.${hostname}.${rest}` : `${prefix}.${rest}`;
    }
    return n;
  }
}

/** The process's registry: dns, http, checks, catalog and store record into it; the HTTP route reads it. */
export const metrics = new MetricsRegistry();

/** Prometheus's name for a dotted metric name (go-metrics' flattenKey: `[ .=\-/]` → `_`). */
export function promName(name: string): string {
  return name.replace(/[ .=\-/]/g, '_');
}

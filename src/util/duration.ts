/** @module Go-style durations: Consul accepts "10s", "1.5s", "120000ms", "1m30s" and nanosecond numbers. */

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const PART = /(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/y;

/** Parses a Go duration string into nanoseconds; throws on anything Go's time.ParseDuration rejects. */
export function parseDurationNs(s: string): number {
  let str = s.trim();
  if (str === '0' || str === '+0' || str === '-0') return 0;
  let sign = 1;
  if (str.startsWith('-')) { sign = -1; str = str.slice(1); } else if (str.startsWith('+')) str = str.slice(1);
  if (str === '') throw new Error(`time: invalid duration "${s}"`);
  let total = 0; let pos = 0;
  while (pos < str.length) {
    PART.lastIndex = pos;
    const m = PART.exec(str);
    if (!m || m[1] === '' || m[1] === '.') throw new Error(`time: invalid duration "${s}"`);
    total += Number(m[1]) * UNIT_NS[m[2]!]!;
    pos = PART.lastIndex;
  }
  // Go's Duration is an int64 of nanoseconds (about 292 years): past it ParseDuration fails.
  if (!(total <= MAX_DURATION_NS)) throw new Error(`time: invalid duration "${s}"`);
  return sign * Math.round(total);
}

/** The largest Go time.Duration, 2^63 − 1 ns. */
export const MAX_DURATION_NS = 9_223_372_036_854_775_807;

/** Milliseconds from a Go duration string (or a number already in nanoseconds, as Go clients may send). */
export function parseDurationMs(v: string | number): number {
  return typeof v === 'number' ? v / 1e6 : parseDurationNs(v) / 1e6;
}

/** Formats nanoseconds as Go's Duration.String(): "10s", "1m0s", "1.5s", "500ms", "0s". */
export function formatDurationNs(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0; let u = Math.abs(Math.round(ns));
  let out: string;
  if (u < 1e9) {
    if (u < 1e3) out = `${u}ns`;
    else if (u < 1e6) out = `${trim(u / 1e3)}µs`;
    else out = `${trim(u / 1e6)}ms`;
  } else {
    const h = Math.floor(u / 3600e9); u -= h * 3600e9;
    const m = Math.floor(u / 60e9); u -= m * 60e9;
    const s = trim(u / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(x: number): string {
  return Number(x.toFixed(9)).toString();
}

/**
 * @module The messages between the main thread (answer-thread.ts) and the answer thread
 * (answer-worker.ts), and the slots of the counters they share.
 */
import type { TcpOptions } from './tcp.ts';
import type { RateLimitConfig } from '../config/schema.ts';
import type { Transport } from './cached-reply.ts';

/** A cache entry as it crosses threads (no closures: rotation is asked of the main thread). */
export interface WireEntry { variants: { buf: Uint8Array; serials: number[] }[]; deps: readonly string[]; refreshAfter: number; kind: number }

export type ToThread =
  | { t: 'set'; key: string; e: WireEntry }
  /** Cached answers dropped (deps null: all), then `fresh` ones built again at once; `seq` is the shared counter's value once sent. */
  | { t: 'inv'; seq: number; deps: readonly string[] | null; fresh: [string, WireEntry][] }
  | { t: 'a'; id: number; reply: Uint8Array | null }
  | { t: 'listen'; hosts: string[]; port: number; tcp: TcpOptions; rrl: RateLimitConfig | null }
  | { t: 'config'; rrl: RateLimitConfig | null }
  | { t: 'close' };

export type FromThread =
  | { t: 'q'; id: number; key: string; msg: Uint8Array; transport: Transport; refresh: boolean }
  | { t: 'listening'; port: number }
  | { t: 'listen-failed'; error: Error }
  | { t: 'log'; level: 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { t: 'closed' }
  /** Keys answered or asked for since the last report (every HOT_REPORT_MS). */
  | { t: 'hot'; keys: string[] };

/** How often the answer thread reports the keys in demand, and how many at most. */
export const HOT_REPORT_MS = 500;
export const HOT_MAX = 4096;

/**
 * Slots of the shared Float64Array: 0–31 answers by kind (RCODE, + 16 for a reverse lookup) and DROPPED
 * (nothing sent), as src/dns/metrics.ts counts them; then cache hits, RRL slips and drops, questions
 * refused because too many were waiting for the main thread, and questions it did not answer in time.
 */
export const S = { DROPPED: 32, HITS: 33, SLIPPED: 34, RRL_DROPPED: 35, OVERLOAD: 36, TIMEOUTS: 37, SIZE: 38 } as const;

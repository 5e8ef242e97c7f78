/**
 * @module Follows the change hints stream (`keys.hints`): one entry per KV, session, user-event or ACL
 * change, appended by the changing Lua script itself (src/store/scripts/hints.lua), read by one
 * `XREAD BLOCK` reader per agent on a connection of its own (src/store/change-log.ts).
 *
 * One stream for all four, not one per table: an agent holds one reader connection for them (two with
 * the catalog's log), one position and one check, and a KV write storm costs the ACL side nothing but
 * skipping entries it does not handle. (The catalog keeps its own log: its entries carry the catalog
 * revision its reloads are fixed by.)
 *
 * After a dropped connection, a reconnect or a failover the reader goes on from its last ID, so an agent
 * hears every change it missed, in order. Only when the stream no longer follows on from that position
 * does it fall back to "everything may have changed" (every KV/session/event watcher woken, the ACL
 * policies reloaded: `onLost`): each entry carries `r`, the previous entry's plus one, so
 *  - a hole (r skips: the entries in between were trimmed while this agent was away),
 *  - a step back (r not above the last one read: the stream was deleted, Redis flushed, a replica that
 *    lost the tail took over, an old RDB file was loaded),
 *  - the datacenter's epoch changed (a snapshot restore: its entry carries the new `epoch`),
 * each cost one wake-up of everything. A check on every reconnect and every `checkIntervalMs` compares
 * the stream's last entry with the reader's, so a stream gone back is noticed without waiting for the
 * next write, and a reader that is behind and no longer moves is realigned.
 *
 * Deadlines: every read has one (the reader's blockMs + deadlineMs; the check's deadlineMs); handlers are
 * synchronous and nothing queues (one read in flight, entries handed on as they come).
 */
import type { Redis } from 'ioredis';
import { ChangeLogReader, type ChangeEntry } from './change-log.ts';
import type { Keys } from './keys.ts';
import { withDeadline } from '../util/deadline.ts';
import { logger } from '../log.ts';
import { M } from '../util/metrics/index.ts';

const log = logger('agent.hints');

/** The client name of the hints reader's connection (`CLIENT LIST` shows it; tests kill it by name). */
export const HINTS_CLIENT = 'roster-hints';

/** What an entry is about: its second field's name. */
export type HintKind = 'kv' | 'acl';

/** What KV and ACL code subscribes to (the HintLog, or a fake in unit tests). */
export interface HintSource {
  /** Calls `fn` with the value of every entry of `kind`, in stream order; returns the unsubscribe function. */
  on(kind: HintKind, fn: (value: string) => void): () => void;
  /** Calls `fn` when entries may have been missed: everything of its kind may have changed. */
  onLost(fn: (reason: string) => void): () => void;
}

export interface HintLogOptions {
  /** How long one XREAD blocks on Redis (ms). */
  blockMs?: number;
  /** Deadline of the check's reads, and of a read past blockMs (redis_timeout, ms). */
  deadlineMs?: number;
  /** How often the stream's head is compared with the reader's position (ms; catalog_resync_interval). */
  checkIntervalMs?: number;
  /** The reader's connection (role 'blocking' of src/store/connect.ts); default: a duplicate of `redis`. */
  conn?: Redis;
}

/** The stream's last entry: its ID and `r` ('0-0' and 0 when the stream is empty or absent), and the epoch. */
interface Head { id: string; r: number; epoch: number }

export class HintLog implements HintSource {
  #redis: Redis;
  #keys: Keys;
  #reader: ChangeLogReader;
  #handlers = new Map<HintKind, Set<(value: string) => void>>();
  #lost = new Set<(reason: string) => void>();
  /** `r` of the last entry read (or of the position a start or realignment fixed); -1 before start. */
  #lastR = -1;
  #epoch = 0;
  /** Realignments so far: a check that began before one is stale. */
  #seeks = 0;
  /** Where the reader was when a check last found it behind the stream (-1: it was not). */
  #behindAt = -1;
  #checking = false;
  #closed = false;
  #timer?: NodeJS.Timeout;
  #deadlineMs: number;
  #intervalMs: number;
  /** Entries handed on, and fallbacks to "everything may have changed" (for tests and benchmarks). */
  stats = { entries: 0, lost: 0 };

  constructor(redis: Redis, keys: Keys, opts: HintLogOptions = {}) {
    this.#redis = redis;
    this.#keys = keys;
    this.#deadlineMs = opts.deadlineMs ?? 5_000;
    this.#intervalMs = opts.checkIntervalMs ?? 30_000;
    this.#reader = new ChangeLogReader(redis, keys.hints, {
      blockMs: opts.blockMs ?? 5_000, deadlineMs: this.#deadlineMs, clientName: HINTS_CLIENT, conn: opts.conn,
      onEntries: e => this.#onEntries(e),
      onReconnect: () => void this.#check('reconnect'),
    });
  }

  /** The reader (stats for tests and benchmarks). */
  get reader(): ChangeLogReader { return this.#reader; }

  on(kind: HintKind, fn: (value: string) => void): () => void {
    let set = this.#handlers.get(kind);
    if (!set) this.#handlers.set(kind, set = new Set());
    set.add(fn);
    return () => { set.delete(fn); };
  }

  onLost(fn: (reason: string) => void): () => void {
    this.#lost.add(fn);
    return () => { this.#lost.delete(fn); };
  }

  /**
   * Fixes the position at the stream's end, then follows it. Whatever changed before is the subscribers'
   * own first read's to see: they subscribe after start() and read after subscribing.
   */
  async start(): Promise<void> {
    const head = await this.#head();
    this.#reader.seek(head.id);
    this.#lastR = head.r;
    this.#epoch = head.epoch;
    await this.#reader.start();
    this.#timer = setInterval(() => void this.#check('periodic'), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#reader.stop();
  }

  async #head(): Promise<Head> {
    const res = await withDeadline(this.#redis.multi().xrevrange(this.#keys.hints, '+', '-', 'COUNT', 1).get(this.#keys.epoch).exec(), this.#deadlineMs, 'hints head read');
    if (!res) throw new Error('hints head read aborted');
    for (const [err] of res) if (err) throw err;
    const last = (res[0]![1] as [string, string[]][])[0];
    const r = last ? rOf(last[1]) : 0;
    return { id: last?.[0] ?? '0-0', r: Number.isInteger(r) ? r : 0, epoch: Number(res[1]![1]) || 0 };
  }

  #onEntries(entries: ChangeEntry[]): void {
    let lost = '';
    for (const { fields } of entries) {
      this.stats.entries++;
      if (fields.epoch !== undefined) {
        // A snapshot restore: everything was replaced.
        lost ||= `snapshot restored (epoch ${this.#epoch} → ${fields.epoch})`;
        this.#epoch = Number(fields.epoch) || 0;
      }
      const r = Number(fields.r);
      if (!Number.isInteger(r)) lost ||= 'malformed entry';
      else {
        if (r > this.#lastR + 1) lost ||= `entries trimmed (${this.#lastR} → ${r})`;
        else if (r <= this.#lastR) lost ||= `stream recreated (${this.#lastR} → ${r})`;
        this.#lastR = r;
      }
      for (const [kind, fns] of this.#handlers) {
        const v = fields[kind];
        if (v !== undefined) for (const fn of fns) this.#call(fn, v);
      }
    }
    if (lost) this.#fallBack(lost);
  }

  /** Entries may have been missed: everything may have changed. */
  #fallBack(reason: string): void {
    this.stats.lost++;
    M.hintsLost.with().inc();
    log.info('change hints lost; waking every watcher', { reason });
    for (const fn of this.#lost) this.#call(fn, reason);
  }

  /** A handler that throws is logged; it never stops the reader. */
  #call(fn: (v: string) => void, v: string): void {
    try { fn(v); } catch (err) { log.warn('change hint handler failed', { err: (err as Error).message }); }
  }

  /**
   * Compares the stream's head with the reader's position: a stream gone back (flushed, deleted, a replica
   * without the tail), a changed epoch, or a reader behind and not moving since the last check realign the
   * reader to the head and fall back.
   */
  async #check(reason: string, attempt = 0): Promise<void> {
    if (this.#checking || this.#closed || this.#lastR < 0) return;
    this.#checking = true;
    // What the reader had read before asking: it goes on meanwhile, and a head read before entries it then
    // reads is not "the stream went back".
    const lastR = this.#lastR;
    const seeks = this.#seeks;
    try {
      const head = await this.#head();
      if (seeks !== this.#seeks) return;
      let why = '';
      if (head.epoch !== this.#epoch) why = `epoch changed (${this.#epoch} → ${head.epoch})`;
      else if (head.r < lastR && head.r < this.#lastR) why = `stream went back (${lastR} → ${head.r})`;
      else if (head.r > this.#lastR && this.#behindAt === this.#lastR) why = `reader stuck at ${this.#lastR} (stream at ${head.r})`;
      if (why) {
        this.#reader.seek(head.id);
        this.#seeks++;
        this.#lastR = head.r;
        this.#epoch = head.epoch;
        this.#behindAt = -1;
        this.#fallBack(why);
      } else this.#behindAt = head.r > this.#lastR ? this.#lastR : -1;
    } catch (err) {
      log.debug('hints check failed', { reason, err: (err as Error).message });
      // After a reconnect the command connection may come back later than the reader: look again soon (bounded).
      if (reason !== 'periodic' && attempt < 10) setTimeout(() => void this.#check(reason, attempt + 1), 1000).unref();
    } finally {
      this.#checking = false;
    }
  }
}

/** An entry's `r` (its first field; NaN when missing). */
function rOf(kv: string[]): number {
  for (let i = 0; i + 1 < kv.length; i += 2) if (kv[i] === 'r') return Number(kv[i + 1]);
  return NaN;
}

/**
 * @module Reads a change stream (`XREAD BLOCK`) on a connection of its own: the catalog's change log
 * (src/catalog/syncer.ts) and the KV/session/event/ACL hints (src/store/hint-log.ts).
 *
 * The reader keeps a position (the ID of the last entry handed on) and reads from it, in order,
 * forever: after a dropped connection, a reconnect or a failover it simply goes on from there, so a
 * reconnect costs reads proportional to the changes missed. Whether what it reads still follows on
 * from what the view holds (a trimmed or recreated stream) is its owner's judgement, not the
 * reader's: it hands every entry on, and the owner moves the position with `seek` when it reloads.
 *
 * Deadlines: a blocking read waits up to `blockMs` on Redis; the connection's own command timeout
 * would cut it short, so the reader has none and puts its own deadline (`blockMs + deadlineMs`) on
 * every read. A read past it (a frozen or partitioned Redis) drops the connection, which ioredis
 * re-opens with backoff; nothing waits forever and nothing queues (one read in flight at a time).
 */
import type { Redis } from 'ioredis';
import { withDeadline } from '../util/deadline.ts';
import { logger } from '../log.ts';

const log = logger('agent.changes');

/** The client name of the catalog reader's connection (`CLIENT LIST` shows it; tests kill it by name). */
export const CHANGE_LOG_CLIENT = 'roster-changes';

/** One stream entry: its ID and fields. */
export interface ChangeEntry { id: string; fields: Record<string, string> }

export interface ChangeLogOptions {
  /** How long one XREAD blocks on Redis (ms). */
  blockMs?: number;
  /** Extra time a read may take past blockMs before the connection is dropped (ms; redis_timeout). */
  deadlineMs?: number;
  /** Entries per read (a catch-up after a long absence takes several reads). */
  count?: number;
  /** Every entry, in stream order; the next read waits until the returned promise settles (backpressure). */
  onEntries(entries: ChangeEntry[]): void | Promise<void>;
  /** A read returned (entries or not): Redis was reachable just now. */
  onContact?(): void;
  /** The connection is ready again after having been lost. */
  onReconnect?(): void;
  /**
   * The connection to read on (lazy, no command deadline: src/store/connect.ts's 'blocking' role, which
   * follows Sentinel and Cluster failovers). Without it the reader duplicates `base`.
   */
  conn?: Redis;
  /** The connection's client name (CLIENT SETNAME); default CHANGE_LOG_CLIENT. */
  clientName?: string;
}

export class ChangeLogReader {
  #conn: Redis;
  #key: string;
  #opts: Required<Omit<ChangeLogOptions, 'onContact' | 'onReconnect' | 'conn' | 'clientName'>> & ChangeLogOptions;
  #pos = '$';
  /** Bumped by seek(): a read issued before it is discarded (it read from the old position). */
  #gen = 0;
  #closed = false;
  #loop: Promise<void> | null = null;
  #everReady = false;
  #wake: (() => void) | null = null;
  /** Reads answered, entries handed on, reads that hit the deadline (for tests and benchmarks). */
  stats = { reads: 0, entries: 0, timeouts: 0 };
  /** When the read in flight was issued (wall-clock ms); 0 while none is (src/catalog/freshness.ts). */
  readingSince = 0;
  /** Redis has answered on the current connection (a read returned, or the PING sent before the first read). */
  #verified = false;

  constructor(base: Redis, key: string, opts: ChangeLogOptions) {
    this.#key = key;
    this.#opts = { blockMs: 5_000, deadlineMs: 5_000, count: 1_000, ...opts };
    const given = opts.conn;
    const name = opts.clientName ?? CHANGE_LOG_CLIENT;
    this.#conn = given ?? base.duplicate({
      lazyConnect: true, commandTimeout: undefined, enableOfflineQueue: false, maxRetriesPerRequest: 1,
      connectionName: name, retryStrategy: (t: number) => Math.min(t * 50, 500),
    });
    this.#conn.on('error', err => log.debug('change log reader connection error', { err: err.message }));
    this.#conn.on('ready', () => {
      this.#verified = false; // a new connection: a read parked on it proves nothing until Redis answered on it
      // A connection made elsewhere is named here, so operators (and tests) can find the reader in CLIENT LIST.
      if (given) void this.#conn.call('CLIENT', 'SETNAME', name).catch(() => undefined);
      if (this.#everReady) this.#opts.onReconnect?.();
      this.#everReady = true;
      this.#wake?.();
    });
  }

  /** The ID of the last entry handed on (or the position set by seek). */
  get position(): string { return this.#pos; }

  /** How long one read blocks on Redis (ms). */
  get blockMs(): number { return this.#opts.blockMs; }

  /** Reads from `id` on (exclusive) from now on; a read in flight from the old position is discarded. */
  seek(id: string): void {
    this.#pos = id;
    this.#gen++;
  }

  async start(): Promise<void> {
    await this.#conn.connect();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.#conn.disconnect();
    await this.#loop;
  }

  /** Waits for the connection to be ready (or up to 500 ms, then the caller looks again). */
  #ready(): Promise<void> {
    return new Promise<void>(resolve => {
      const t = setTimeout(done, 500);
      function done(): void { clearTimeout(t); resolve(); }
      this.#wake = done;
    }).finally(() => { this.#wake = null; });
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#conn.status !== 'ready') { await this.#ready(); continue; }
      // A read parked on a connection Redis has not answered yet says nothing of the view's freshness (a
      // reconnect to a frozen Redis can look ready): a PING first, under the same deadline, proves contact.
      if (!this.#verified) {
        const ping = this.#conn.ping();
        try {
          await withDeadline(ping, this.#opts.deadlineMs, 'change log connection check');
          this.#verified = true;
          this.#opts.onContact?.();
        } catch (err) {
          ping.catch(() => undefined);
          if (this.#closed) break;
          if ((err as Error).message.includes('timed out')) this.#conn.disconnect(true);
          await this.#ready();
          continue;
        }
      }
      const gen = this.#gen;
      const read = this.#conn.xread('COUNT', this.#opts.count, 'BLOCK', this.#opts.blockMs, 'STREAMS', this.#key, this.#pos) as Promise<[string, [string, string[]][]][] | null>;
      let res: [string, [string, string[]][]][] | null;
      this.readingSince = Date.now();
      try {
        res = await withDeadline(read, this.#opts.blockMs + this.#opts.deadlineMs, 'change log read');
      } catch (err) {
        this.readingSince = 0;
        read.catch(() => undefined);
        if (this.#closed) break;
        const msg = (err as Error).message;
        this.#verified = false;
        if (msg.includes('timed out')) {
          this.stats.timeouts++;
          log.warn('change log read timed out; reconnecting', { stream: this.#key, err: msg });
          this.#conn.disconnect(true);
        } else log.debug('change log read failed', { err: msg });
        await this.#ready();
        continue;
      }
      this.readingSince = 0;
      this.stats.reads++;
      if (this.#closed) break;
      this.#opts.onContact?.();
      if (gen !== this.#gen || !res) continue;
      const raw = res[0]?.[1] ?? [];
      if (raw.length === 0) continue;
      const entries: ChangeEntry[] = raw.map(([id, kv]) => {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < kv.length; i += 2) fields[kv[i]!] = kv[i + 1]!;
        return { id, fields };
      });
      this.#pos = entries.at(-1)!.id;
      this.stats.entries += entries.length;
      await this.#opts.onEntries(entries);
    }
  }
}

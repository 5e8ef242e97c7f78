/**
 * @module One `/v1/agent/monitor` subscriber's stream: log lines at or above its level, with a
 * bounded buffer as Consul's (512 lines). A client that reads slower than the agent logs gets its
 * lines dropped once the buffer is full, never an ever-growing queue; the number dropped is written
 * into the stream when it catches up, and logged at WARN when the request ends.
 */
import { Readable } from 'node:stream';
import { logger, subscribeLog, type Level } from '../log.ts';

const log = logger('agent.http');

/** Lines kept for a subscriber that is not reading (Consul's monitor buffer). */
export const MONITOR_BUFFER_LINES = 512;

export class MonitorStream extends Readable {
  readonly #q: string[] = [];
  readonly #max: number;
  readonly #unsubscribe: () => void;
  readonly #json: boolean;
  /** The consumer asked for data and nothing was pushed since. */
  #reading = false;
  /** Dropped lines not yet reported in the stream, and in all. */
  #pendingDrops = 0;
  dropped = 0;

  constructor(level: Level, json: boolean, max = MONITOR_BUFFER_LINES) {
    // A small stream buffer: the line queue, not node's buffer, is what bounds the memory held.
    super({ highWaterMark: 16 * 1024 });
    this.#max = max;
    this.#json = json;
    this.#unsubscribe = subscribeLog({ level, json, line: l => this.#offer(l) });
  }

  #offer(line: string): void {
    if (this.destroyed) return;
    if (this.#reading && this.#q.length === 0 && this.#pendingDrops === 0) { this.#reading = this.push(line); return; }
    if (this.#q.length >= this.#max) { this.dropped++; this.#pendingDrops++; return; }
    this.#q.push(line);
    if (this.#reading) this._read();
  }

  override _read(): void {
    this.#reading = true;
    while (this.#reading) {
      if (this.#pendingDrops > 0 && this.#q.length < this.#max / 2) {
        this.#reading = this.push(this.#dropLine(this.#pendingDrops));
        this.#pendingDrops = 0;
        continue;
      }
      const l = this.#q.shift();
      if (l === undefined) break;
      this.#reading = this.push(l);
    }
  }

  #dropLine(n: number): string {
    const ts = new Date().toISOString();
    const msg = 'Dropped logs during monitor request';
    return this.#json
      ? JSON.stringify({ '@timestamp': ts, '@level': 'warn', '@module': 'agent.http', '@message': msg, dropped_count: n }) + '\n'
      : `${ts} [WARN]  agent.http: ${msg}: dropped_count=${n}\n`;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#unsubscribe();
    this.#q.length = 0;
    if (this.dropped > 0) log.warn('Dropped logs during monitor request', { dropped_count: this.dropped });
    cb(err);
  }
}

/**
 * @module Transmit-limited broadcast queue (memberlist queue.go). Each message is piggybacked on
 * up to `retransmitMult × ceil(log10(n+1))` outgoing packets, least-transmitted first; a newer
 * message with the same name (node) replaces a queued one.
 */

/** Number of times each broadcast is sent in a cluster of `n` nodes. */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** A queued broadcast. */
export interface Broadcast {
  /** Messages with the same name invalidate each other (null: never invalidated). */
  name: string | null;
  msg: Uint8Array;
  /** Called once when the message was sent `limit` times or replaced. */
  finished?: () => void;
}

interface Item { b: Broadcast; transmits: number; id: number }

/** Priority queue of broadcasts with per-message retransmit limits. */
export class TransmitLimitedQueue {
  retransmitMult: number;
  readonly numNodes: () => number;
  #items: Item[] = [];
  #nextId = 0;

  constructor(retransmitMult: number, numNodes: () => number) {
    this.retransmitMult = retransmitMult; this.numNodes = numNodes;
  }

  /** Queued message count. */
  get length(): number { return this.#items.length; }

  /** Adds a broadcast, dropping (and finishing) queued ones with the same name. */
  queue(b: Broadcast): void {
    if (b.name !== null) {
      const keep: Item[] = [];
      for (const it of this.#items) {
        if (it.b.name === b.name) it.b.finished?.(); else keep.push(it);
      }
      this.#items = keep;
    }
    this.#items.push({ b, transmits: 0, id: this.#nextId++ });
  }

  /**
   * Takes as many messages as fit in `limit` bytes, charging `overhead` per message. Order: fewest
   * transmits first, then largest, then newest. Messages reaching the limit are removed.
   */
  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    if (this.#items.length === 0) return [];
    const max = retransmitLimit(this.retransmitMult, this.numNodes());
    this.#items.sort((a, b) => a.transmits - b.transmits || b.b.msg.length - a.b.msg.length || b.id - a.id);
    const out: Uint8Array[] = [];
    let used = 0;
    const done: Item[] = [];
    for (const it of this.#items) {
      const free = limit - used - overhead;
      if (free <= 0) break;
      if (it.b.msg.length > free) continue;
      used += overhead + it.b.msg.length;
      out.push(it.b.msg);
      it.transmits++;
      if (it.transmits >= max) done.push(it);
    }
    if (done.length > 0) {
      const set = new Set(done);
      this.#items = this.#items.filter(i => !set.has(i));
      for (const it of done) it.b.finished?.();
    }
    return out;
  }

  /** Drops the oldest, most-transmitted messages beyond `maxDepth`. */
  prune(maxDepth: number): void {
    if (this.#items.length <= maxDepth) return;
    this.#items.sort((a, b) => b.transmits - a.transmits || a.id - b.id);
    const drop = this.#items.splice(0, this.#items.length - maxDepth);
    for (const it of drop) it.b.finished?.();
  }

  /** Removes everything (finishing each). */
  reset(): void {
    const all = this.#items; this.#items = [];
    for (const it of all) it.b.finished?.();
  }
}

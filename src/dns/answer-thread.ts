/**
 * @module The answer thread, main thread's side (dns_config.answer_thread, on by default with two or more CPUs).
 *
 * DNS used to be answered on the agent's main thread, which also holds the catalog (~90 MB of live
 * heap at 100,000 instances): every major garbage collection of that heap (7–20 ms at that size,
 * more on a busy machine) held every DNS answer, however small the change that set it off. Here the
 * sockets, the response-rate limiter and a copy of the answer cache live in a worker
 * (answer-worker.ts) whose heap holds encoded answers only. It answers what its copy holds; anything
 * else is asked of the main thread's DnsHandler, whose reply and new cache entry come back in order.
 * Invalidations follow every view change at once, and the worker takes them before it answers from
 * its copy (a shared counter, see answer-worker.ts), so a change applied before a question arrived
 * is never answered around.
 *
 * If the worker dies, it is started again on the same port (its cache starts empty).
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import type { DnsHandler } from './handler.ts';
import type { Entry } from './answer-cache.ts';
import type { TcpOptions } from './tcp.ts';
import type { RateLimitConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { S, type FromThread, type ToThread, type WireEntry } from './answer-protocol.ts';

export interface AnswerThreadOptions {
  handler: DnsHandler;
  hosts: string[];
  port: number;
  tcp: TcpOptions;
  rrl: RateLimitConfig | null;
  log?: Logger;
  /** Questions waiting for the main thread at once; past it, nothing is sent (UDP clients retry). @defaultValue 4096 */
  maxPending?: number;
  /** A question the main thread has not answered within this gets nothing. @defaultValue 5000 */
  askTimeoutMs?: number;
}

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './answer-worker.ts' : './answer-worker.js', import.meta.url);

export class AnswerThread {
  readonly #o: AnswerThreadOptions;
  readonly #seq = new Int32Array(new SharedArrayBuffer(4));
  /** Counters the worker writes (answer-protocol.ts S); read by metrics and stats. */
  readonly shared = new Float64Array(new SharedArrayBuffer(8 * S.SIZE));
  #n = 0;
  /** Waiting for the worker's answer to 'listen', and to 'close'. */
  #binding: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #onClosed: (() => void) | null = null;
  #hotBefore = new Set<string>();
  #worker!: Worker;
  #port!: MessagePort;
  #closing = false;
  #rrl: RateLimitConfig | null;
  /** The port bound (the same for UDP and TCP, every address). */
  port = 0;
  /** Times the worker was started again after it died. */
  restarts = 0;

  private constructor(o: AnswerThreadOptions) { this.#o = o; this.#rrl = o.rrl; }

  /** Starts the worker and binds its sockets; rejects (and stops it) when they cannot be bound. */
  static async start(o: AnswerThreadOptions): Promise<AnswerThread> {
    const t = new AnswerThread(o);
    try {
      await t.#spawn(o.port);
    } catch (e) {
      t.#closing = true; // nothing left running: the caller's start-up fails
      t.#port.close();
      await t.#worker.terminate();
      throw e;
    }
    return t;
  }

  #spawn(port: number): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#worker = new Worker(WORKER_URL, {
      workerData: { port: port2, seq: this.#seq, shared: this.shared, maxPending: this.#o.maxPending ?? 4096, askTimeoutMs: this.#o.askTimeoutMs ?? 5000 },
      transferList: [port2],
    });
    // Invalidations already sent count as taken: a new worker's cache is empty.
    port1.on('message', (m: FromThread) => this.#onMessage(m));
    const listening = new Promise<void>((resolve, reject) => {
      this.#binding = { resolve, reject };
      this.#worker.once('error', reject);
      this.#worker.once('exit', () => reject(new Error('dns answer thread exited while binding')));
    });
    this.#worker.on('error', e => this.#o.log?.error('dns: answer thread failed', { error: e.message }));
    this.#worker.on('exit', code => { if (!this.#closing) this.#restart(code); });
    this.#post({ t: 'inv', seq: this.#n, deps: null, fresh: [] });
    this.#post({ t: 'listen', hosts: this.#o.hosts, port, tcp: this.#o.tcp, rrl: this.#rrl });
    return listening;
  }

  #restart(code: number): void {
    this.#o.log?.error('dns: answer thread exited; starting it again', { code });
    this.restarts++;
    this.#port.close();
    this.#spawn(this.port).catch(e => this.#o.log?.error('dns: answer thread could not be started again', { error: (e as Error).message }));
  }

  #post(m: ToThread): void { this.#port.postMessage(m); }

  #onMessage(m: FromThread): void {
    switch (m.t) {
      case 'q': return this.#ask(m.id, m.key, Buffer.from(m.msg.buffer, m.msg.byteOffset, m.msg.byteLength), m.transport, m.refresh);
      case 'log': this.#o.log?.[m.level](m.msg, m.fields); return;
      case 'listening': this.port = m.port; this.#binding?.resolve(); return;
      case 'listen-failed': this.#binding?.reject(m.error); return;
      case 'closed': this.#onClosed?.(); return;
      case 'hot': { // in demand: reported now or one report ago
        const now = new Set(m.keys);
        this.#o.handler.hot = new Set([...this.#hotBefore, ...now]);
        this.#hotBefore = now;
        return;
      }
      default: return;
    }
  }

  /** A question the worker had no answer for: answered by the handler; its cache entry goes back first. */
  #ask(id: number, key: string, msg: Buffer, transport: 'udp' | 'tcp', refresh: boolean): void {
    let r: ReturnType<DnsHandler['forThread']>;
    try { r = this.#o.handler.forThread(msg, transport, key, refresh); } catch { this.#post({ t: 'a', id, reply: null }); return; }
    if (r.reply instanceof Promise) {
      r.reply.then(b => this.#post({ t: 'a', id, reply: b ? copy(b) : null }), () => this.#post({ t: 'a', id, reply: null }));
      return;
    }
    if (r.entry !== undefined && r.entry.variants.length > 0) this.#post({ t: 'set', key, e: wire(r.entry) });
    this.#post({ t: 'a', id, reply: r.reply ? copy(r.reply) : null });
  }

  /** Cached answers dropped (null: all) and those built again at once: sent before the change that dropped them can be read anywhere. */
  invalidated(deps: readonly string[] | null, fresh: [string, Entry][]): void {
    const n = ++this.#n;
    this.#post({ t: 'inv', seq: n, deps, fresh: fresh.map(([k, e]) => [k, wire(e)]) });
    Atomics.store(this.#seq, 0, n);
  }

  /** New response-rate-limiting settings (a config reload). */
  reconfigure(rrl: RateLimitConfig | null): void {
    this.#rrl = rrl;
    this.#post({ t: 'config', rrl });
  }

  /** Stops the worker as a crash would (tests: it is started again on the same port). */
  async crash(): Promise<void> { await this.#worker.terminate(); }

  /** Cache keys the worker reported in demand (built again at once when a change drops them). */
  get hot(): ReadonlySet<string> { return this.#o.handler.hot; }

  /** Answers the worker served from its cache. */
  get hits(): number { return this.shared[S.HITS]!; }

  /** Closes the sockets and stops the worker. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>(resolve => {
      const t = setTimeout(resolve, 2000);
      this.#onClosed = () => { clearTimeout(t); resolve(); };
    });
    this.#post({ t: 'close' });
    await closed;
    this.#port.close();
    await this.#worker.terminate();
  }
}

/** Exactly the bytes (a pooled Buffer would carry its whole 8 KiB pool across). */
const copy = (b: Buffer): Uint8Array => new Uint8Array(b);

const wire = (e: Entry): WireEntry => ({
  variants: e.variants.map(v => ({ buf: copy(v.buf), serials: v.serials })), deps: e.deps, refreshAfter: e.refreshAfter, kind: e.kind,
});

/**
 * @module The per-request context handlers get (Ctx), built to be cheap for a request that parks:
 * methods on the prototype instead of closures per request, the client address read only when
 * needed, and no AbortController or 'close' listener until a handler asks for one. One shared
 * 'close' listener per response serves the abort signal, the blocking-query slot and a parked
 * query's gone-watch.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientKey, takeBlockingSlot, type PerClient } from './limits.ts';
import { DEFAULT_BODY_LIMIT, parseJson, readBody, type BodyLimit } from './body.ts';

export interface Ctx {
  req: IncomingMessage;
  method: string;
  /** The decoded path. */
  path: string;
  query: URLSearchParams;
  /** The remainder of the path after a prefix route, percent-decoded. */
  param: string;
  /** Reads the whole request body; a body over the limit (default DEFAULT_BODY_LIMIT) is refused with 413, unread. */
  body(limit?: BodyLimit): Promise<Buffer>;
  /**
   * Parses the body as JSON (empty body → undefined); 400 on bad JSON as Consul words it, on
   * nesting deeper than Go's 10,000 and on strings with lone UTF-16 surrogates.
   */
  json(limit?: BodyLimit): Promise<unknown>;
  /**
   * Takes one of the client's blocking-query slots, held until the answer is sent or the client goes
   * away (429 past the per-client limit). Call where a blocking wait starts; calling again is a no-op.
   */
  enterBlocking(): void;
  /** True when the query has the key (Consul's presence flags: ?recurse, ?stale, ...). */
  has(name: string): boolean;
  /** Aborted when the client goes away (for blocking queries). */
  signal: AbortSignal;
  /**
   * A cheaper `signal` for a parked query: `l.handleEvent()` is called once if the client goes away
   * before the answer is complete, until replaced (null stops watching). Returns true, and watches
   * nothing, when the client is already gone. Optional: without it, `signal` is watched.
   */
  watchGone?(l: { handleEvent(): void } | null): boolean;
}

/** Where a response keeps its RequestCtx, for the shared 'close' listener. */
const kCtx = Symbol('roster.ctx');
type Res = ServerResponse & { [kCtx]?: RequestCtx };

export class RequestCtx implements Ctx {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly param: string;
  readonly #res: Res;
  readonly #slots: PerClient;
  #client: string | null = null;
  #bodyP: Promise<Buffer> | null = null;
  #ac: AbortController | null = null;
  /** The client key holding a blocking-query slot, until the response closes. */
  #slot: string | null = null;
  #gone: { handleEvent(): void } | null = null;
  /** The response closed before it was complete (the client went away). */
  #left = false;

  constructor(req: IncomingMessage, res: ServerResponse, method: string, path: string, query: URLSearchParams, param: string, slots: PerClient) {
    this.req = req;
    this.#res = res;
    this.method = method;
    this.path = path;
    this.query = query;
    this.param = param;
    this.#slots = slots;
  }

  /** The client's address as the per-client limits count it. */
  get client(): string {
    return (this.#client ??= clientKey(this.req.socket.remoteAddress));
  }

  has(name: string): boolean { return this.query.has(name); }

  body(limit: BodyLimit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
    return (this.#bodyP ??= readBody(this.req, limit));
  }

  async json(limit?: BodyLimit): Promise<unknown> {
    return parseJson(await this.body(limit));
  }

  enterBlocking(): void {
    // A client already gone takes no slot (its 'close' has passed: nothing would give the slot back).
    if (this.#slot !== null || this.#hasLeft()) return;
    takeBlockingSlot(this.#slots, this.client);
    this.#slot = this.client;
    this.#listen();
  }

  /** Created on first use; aborted when the client goes away before the answer is complete. */
  get signal(): AbortSignal {
    if (!this.#ac) {
      this.#ac = new AbortController();
      if (this.#hasLeft()) this.#ac.abort();
      else this.#listen();
    }
    return this.#ac.signal;
  }

  watchGone(l: { handleEvent(): void } | null): boolean {
    if (l && this.#hasLeft()) return true;
    this.#gone = l;
    if (l) this.#listen();
    return false;
  }

  #hasLeft(): boolean {
    return this.#left || (this.#res.destroyed && !this.#res.writableFinished);
  }

  #listen(): void {
    if (this.#res[kCtx]) return;
    this.#res[kCtx] = this;
    this.#res.on('close', RequestCtx.#onClose);
  }

  /** The response's 'close' listener (shared by every request: `this` is the response). */
  static #onClose(this: Res): void {
    const c = this[kCtx];
    if (!c) return;
    if (c.#slot !== null) { c.#slots.leave(c.#slot); c.#slot = null; }
    // Only a client that goes away before the answer is complete aborts.
    if (this.writableFinished) return;
    c.#left = true;
    c.#ac?.abort();
    const g = c.#gone;
    c.#gone = null;
    g?.handleEvent();
  }
}

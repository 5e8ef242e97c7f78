/**
 * @module Serf queries (serf/query.go, internal_query.go): dedup ring, filters, acks, direct UDP
 * responses (optionally relayed), response collection, and the internal `_serf_*` queries
 * (ping, conflict, install/use/remove/list-keys).
 */
import { EventEmitter } from 'node:events';
import { SerfCore } from './serf-core.ts';
import type { Member } from './serf-core.ts';
import { encodeTyped, decodeStruct, bytes, bytesToIp, ipToBytes } from './codec.ts';
import { QueryFlag, SerfMsgType, MemberStatusNum, encodeQueryResponse, decodeFilter, encodeRelay } from './serf-messages.ts';
import type { MessageQuery, MessageQueryResponse } from './serf-messages.ts';

/** Options of {@link Serf.query}. */
export interface QueryParams {
  /** Only these nodes act on the query. */
  filterNodes?: string[];
  /** Only nodes whose tag matches the (unanchored) regular expression act on it. */
  filterTags?: Record<string, string>;
  /** Ask every recipient to ack on receipt. */
  requestAck?: boolean;
  /** Responses are also relayed through this many random members. */
  relayFactor?: number;
  /** Default: gossipInterval × queryTimeoutMult × ceil(log10(n+1)). */
  timeoutMs?: number;
}

/** One node's answer. */
export interface NodeResponse { from: string; payload: Uint8Array }

/** A query delivered to the 'query' listener. Call `respond` once before `deadline`. */
export interface QueryEvent {
  name: string;
  payload: Uint8Array;
  ltime: number;
  id: number;
  sourceNode: string;
  /** Epoch ms after which responses are refused. */
  deadline: number;
  respond(payload: Uint8Array): Promise<void>;
}

/** Collected results of a query. */
export interface QueryResult { acks: string[]; responses: NodeResponse[] }

/**
 * Handle for an outstanding query. Emits 'ack' (node name) and 'response' ({@link NodeResponse});
 * `done` resolves at the deadline (or {@link close}) with everything collected.
 */
export class QueryResponse extends EventEmitter {
  readonly name: string;
  readonly id: number;
  readonly ltime: number;
  readonly deadline: number;
  readonly acks = new Set<string>();
  readonly responses = new Map<string, Uint8Array>();
  readonly done: Promise<QueryResult>;
  #closed = false;
  #resolve!: (r: QueryResult) => void;
  #timer: NodeJS.Timeout;
  #onClose: () => void;

  constructor(name: string, id: number, ltime: number, timeoutMs: number, onClose: () => void) {
    super();
    this.name = name; this.id = id; this.ltime = ltime; this.deadline = Date.now() + timeoutMs; this.#onClose = onClose;
    this.done = new Promise(r => { this.#resolve = r; });
    this.#timer = setTimeout(() => this.close(), timeoutMs);
  }

  /** True once closed (deadline passed or closed by the caller). */
  finished(): boolean { return this.#closed; }

  /** Stops collecting and resolves `done`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#onClose();
    this.#resolve({ acks: [...this.acks], responses: [...this.responses].map(([from, payload]) => ({ from, payload })) });
    this.emit('done');
  }

  /** @internal */
  addAck(from: string): void {
    if (this.#closed || this.acks.has(from)) return;
    this.acks.add(from);
    this.emit('ack', from);
  }

  /** @internal */
  addResponse(from: string, payload: Uint8Array): void {
    if (this.#closed || this.responses.has(from)) return;
    this.responses.set(from, payload);
    this.emit('response', { from, payload } satisfies NodeResponse);
  }
}

const INTERNAL_PREFIX = '_serf_';

/** Query handling on top of the membership core. */
export class SerfQueries extends SerfCore {
  protected readonly queryBuffer: ({ ltime: number; ids: number[] } | null)[] = [];
  protected queryMinTime = 0;
  protected readonly queryResponses = new Map<number, QueryResponse>();

  /** Serf's default query timeout for the current cluster size. */
  defaultQueryTimeoutMs(): number {
    const n = this.memberlist.numMembers();
    return this.config.gossipIntervalMs * this.config.queryTimeoutMult * Math.ceil(Math.log10(n + 1));
  }

  protected override handleQuery(q: MessageQuery): boolean {
    this.queryClock.witness(q.ltime);
    if (q.ltime < this.queryMinTime) return false;
    const size = this.config.queryBuffer;
    const cur = this.queryClock.time();
    if (cur > size && q.ltime < cur - size) return false;
    const idx = q.ltime % size;
    let seen = this.queryBuffer[idx];
    if (seen && seen.ltime === q.ltime) {
      if (seen.ids.includes(q.id)) return false;
    } else {
      seen = { ltime: q.ltime, ids: [] };
      this.queryBuffer[idx] = seen;
    }
    seen.ids.push(q.id);
    const rebroadcast = (q.flags & QueryFlag.noBroadcast) === 0;
    if (!this.#shouldProcess(q.filters)) return rebroadcast;
    const addr = bytesToIp(q.addr);
    if (q.flags & QueryFlag.ack) {
      const ack = encodeQueryResponse({ ltime: q.ltime, id: q.id, from: this.config.name, flags: QueryFlag.ack, payload: null });
      this.memberlist.sendUserPacket(addr, q.port, ack);
      this.#relay(q.relayFactor, addr, q.port, q.sourceNode, ack);
    }
    let responded = false;
    const deadline = Date.now() + q.timeoutNs / 1e6;
    const ev: QueryEvent = {
      name: q.name, payload: q.payload, ltime: q.ltime, id: q.id, sourceNode: q.sourceNode, deadline,
      respond: async (payload: Uint8Array) => {
        if (responded) throw new Error('response already sent');
        if (Date.now() > deadline) throw new Error('response is past the deadline');
        const raw = encodeQueryResponse({ ltime: q.ltime, id: q.id, from: this.config.name, flags: 0, payload });
        if (raw.length > this.config.queryResponseSizeLimit) throw new Error(`response exceeds limit of ${this.config.queryResponseSizeLimit} bytes`);
        responded = true;
        this.memberlist.sendUserPacket(addr, q.port, raw);
        this.#relay(q.relayFactor, addr, q.port, q.sourceNode, raw);
      },
    };
    if (q.name.startsWith(INTERNAL_PREFIX)) this.#handleInternal(ev);
    else this.emitSafe('query', ev);
    return rebroadcast;
  }

  protected override handleQueryResponse(r: MessageQueryResponse): void {
    const q = this.queryResponses.get(r.ltime);
    if (!q || q.id !== r.id || q.finished()) return;
    if (r.flags & QueryFlag.ack) q.addAck(r.from);
    else q.addResponse(r.from, r.payload ?? new Uint8Array(0));
  }

  #shouldProcess(filters: Uint8Array[]): boolean {
    for (const raw of filters) {
      let f;
      try { f = decodeFilter(raw); } catch { return false; }
      if (f.type === 'node') { if (!f.nodes.includes(this.config.name)) return false; }
      else if (f.type === 'tag') {
        let re: RegExp;
        try { re = new RegExp(f.expr); } catch { return false; }
        if (!re.test(this.tags[f.tag] ?? '')) return false;
      } else return false;
    }
    return true;
  }

  /** Sends a response through `relayFactor` random alive members with protocol ≥ 5. */
  #relay(relayFactor: number, addr: string, port: number, destName: string, resp: Uint8Array): void {
    if (!relayFactor) return;
    const members = this.members();
    if (members.length < relayFactor + 1) return;
    const raw = encodeRelay(addr, port, destName, resp);
    const candidates = members.filter(m => m.status === 'alive' && m.protocolMax >= 5 && m.name !== this.config.name);
    for (let i = candidates.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!]; }
    for (const m of candidates.slice(0, relayFactor)) this.memberlist.sendUserPacket(m.addr, m.port, raw);
  }

  /** Registers a response collector for our own query. */
  protected registerQueryResponse(name: string, id: number, ltime: number, timeoutMs: number): QueryResponse {
    const resp = new QueryResponse(name, id, ltime, timeoutMs, () => {
      if (this.queryResponses.get(ltime) === resp) this.queryResponses.delete(ltime);
    });
    this.queryResponses.set(ltime, resp);
    return resp;
  }

  #handleInternal(q: QueryEvent): void {
    const name = q.name.slice(INTERNAL_PREFIX.length);
    const send = (p: Uint8Array): void => { q.respond(p).catch(e => this.log('error', 'serf: failed to respond to internal query', { query: q.name, err: String(e) })); };
    switch (name) {
      case 'ping': return;
      case 'conflict': {
        const node = new TextDecoder().decode(q.payload);
        if (node === this.config.name) return;
        const ms = this.memberMap.get(node);
        send(encodeTyped(SerfMsgType.conflictResponse, ms ? memberStruct(ms.member) : null));
        return;
      }
      case 'install-key': case 'use-key': case 'remove-key': case 'list-keys': {
        const resp = { Result: false, Message: '', Keys: [] as string[], PrimaryKey: '' };
        try {
          if (!this.keyring) throw new Error('No keyring to modify (encryption not enabled)');
          if (name === 'list-keys') {
            resp.Keys = this.keyring.getKeys().map(k => Buffer.from(k).toString('base64'));
            resp.PrimaryKey = Buffer.from(this.keyring.getPrimaryKey()).toString('base64');
          } else {
            const key = bytes(decodeStruct(q.payload.subarray(1)).Key);
            if (name === 'install-key') this.keyring.addKey(key);
            else if (name === 'use-key') this.keyring.useKey(key);
            else this.keyring.removeKey(key);
          }
          resp.Result = true;
        } catch (e) {
          resp.Message = e instanceof Error ? e.message : String(e);
        }
        send(encodeTyped(SerfMsgType.keyResponse, resp));
        return;
      }
      default:
        this.log('warn', 'serf: unhandled internal query', { query: q.name });
    }
  }
}

/** Serf's Go `Member` struct as msgpack (conflict responses). */
function memberStruct(m: Member): unknown {
  return {
    Name: m.name, Addr: ipToBytes(m.addr), Port: m.port, Tags: m.tags, Status: MemberStatusNum[m.status],
    ProtocolMin: m.protocolMin, ProtocolMax: m.protocolMax, ProtocolCur: m.protocolCur,
    DelegateMin: m.delegateMin, DelegateMax: m.delegateMax, DelegateCur: m.delegateCur,
  };
}

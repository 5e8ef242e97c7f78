/**
 * @module Serf membership core (serf/serf.go, delegate.go): member status derived from memberlist
 * events plus join/leave intents ordered by a Lamport clock, user events with a dedup ring, the
 * push-pull user state, reaping and reconnects. Queries live in serf-query.ts, the public API in serf.ts.
 */
import { EventEmitter } from 'node:events';
import type { ResolvedConfig, Logger } from './config.ts';
import type { Transport } from './transport.ts';
import type { Keyring } from './keyring.ts';
import { Memberlist } from './memberlist.ts';
import type { NodeState, NodeInfo, MemberlistDelegate } from './state.ts';
import { TransmitLimitedQueue } from './broadcast.ts';
import { LamportClock } from './clock.ts';
import { decodeStruct, bytesToIp } from './codec.ts';
import {
  SerfMsgType, encodeJoin, decodeJoin, decodeLeave, decodeUserEvent, decodeQuery, decodeQueryResponse, encodePushPull,
  decodePushPull, encodeTags, decodeTags, decodeRelay,
} from './serf-messages.ts';
import type { MessageLeave, MessageJoin, MessageUserEvent, MessageQuery, MessageQueryResponse, UserEvents } from './serf-messages.ts';

/** Member status as `serf members` prints it. */
export type MemberStatus = 'none' | 'alive' | 'leaving' | 'left' | 'failed';

/** A cluster member as seen by Serf. */
export interface Member {
  name: string;
  /** IP address (no port). */
  addr: string;
  port: number;
  tags: Record<string, string>;
  status: MemberStatus;
  /** memberlist protocol versions. */
  protocolMin: number; protocolMax: number; protocolCur: number;
  /** Serf protocol versions (what `serf members` shows as "protocol"). */
  delegateMin: number; delegateMax: number; delegateCur: number;
}

/** A user event delivered to the 'user' listener. */
export interface UserEvent { name: string; payload: Uint8Array; ltime: number; coalesce: boolean }

interface MemberState { member: Member; statusLTime: number; leaveTime: number }
interface Intent { type: 'join' | 'leave'; ltime: number; witnessed: number }

/** Serf lifecycle state. */
export type SerfState = 'alive' | 'leaving' | 'left' | 'shutdown';

function cloneMember(m: Member): Member {
  return { ...m, tags: { ...m.tags } };
}

/** Membership, intents, events and push-pull state of a Serf node. */
export class SerfCore extends EventEmitter {
  protected readonly config: ResolvedConfig;
  protected readonly log: Logger;
  protected readonly memberlist: Memberlist;
  protected readonly keyring: Keyring | null;
  readonly clock = new LamportClock();
  readonly eventClock = new LamportClock();
  readonly queryClock = new LamportClock();
  protected readonly memberMap = new Map<string, MemberState>();
  protected failedMembers: MemberState[] = [];
  protected leftMembers: MemberState[] = [];
  protected readonly recentIntents = new Map<string, Intent>();
  protected readonly eventBuffer: (UserEvents | null)[];
  protected eventMinTime = 0;
  protected eventJoinIgnore = false;
  protected readonly broadcasts: TransmitLimitedQueue;
  protected readonly eventBroadcasts: TransmitLimitedQueue;
  protected readonly queryBroadcasts: TransmitLimitedQueue;
  protected serfState: SerfState = 'alive';
  protected tags: Record<string, string>;
  protected readonly timers = new Set<NodeJS.Timeout>();
  /** Smoothed round-trip time of direct probes per member, in ms (the WAN pool orders datacenters by it). */
  readonly rttMs = new Map<string, number>();

  constructor(config: ResolvedConfig, transport: Transport, keyring: Keyring | null) {
    super();
    this.config = config;
    this.log = config.logger;
    this.keyring = keyring;
    this.tags = { ...config.tags };
    this.eventBuffer = new Array<UserEvents | null>(config.eventBuffer).fill(null);
    const n = (): number => this.memberMap.size;
    this.broadcasts = new TransmitLimitedQueue(config.retransmitMult, n);
    this.eventBroadcasts = new TransmitLimitedQueue(config.retransmitMult, n);
    this.queryBroadcasts = new TransmitLimitedQueue(config.retransmitMult, n);
    // Clocks start at 1 so a default join LTime of 0 never wins.
    this.clock.increment(); this.eventClock.increment(); this.queryClock.increment();
    this.memberlist = new Memberlist(config, this.#delegate(), transport, keyring);
  }

  #delegate(): MemberlistDelegate {
    return {
      nodeMeta: limit => {
        const meta = encodeTags(this.tags);
        if (meta.length > limit) throw new Error(`encoded tags exceed limit of ${limit} bytes`);
        return meta;
      },
      notifyMsg: buf => this.notifyMsg(buf),
      getBroadcasts: (overhead, limit) => this.#getBroadcasts(overhead, limit),
      localState: join => this.#localState(join),
      mergeRemoteState: (buf, join) => this.#mergeRemoteState(buf, join),
      notifyJoin: n => this.handleNodeJoin(n),
      notifyLeave: n => this.handleNodeLeave(n),
      notifyUpdate: n => this.handleNodeUpdate(n),
      notifyConflict: (existing, other) => this.handleNodeConflict(existing, other),
      ackPayload: () => null,
      notifyPingComplete: (n, rtt) => {
        const prev = this.rttMs.get(n.name);
        this.rttMs.set(n.name, prev === undefined ? rtt : prev * 0.8 + rtt * 0.2);
      },
    };
  }

  /** Emits without letting a throwing listener break protocol handling. */
  protected emitSafe(event: string, arg: unknown): void {
    try { this.emit(event, arg); } catch (e) { this.log('error', 'serf: event listener threw', { event, err: String(e) }); }
  }

  protected every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    this.timers.add(t);
  }

  protected later(ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
  }

  #memberFromNode(n: NodeState, status: MemberStatus): Member {
    return {
      name: n.name, addr: bytesToIp(n.addr), port: n.port, tags: decodeTags(n.meta), status,
      protocolMin: n.vsn[0] ?? 0, protocolMax: n.vsn[1] ?? 0, protocolCur: n.vsn[2] ?? 0,
      delegateMin: n.vsn[3] ?? 0, delegateMax: n.vsn[4] ?? 0, delegateCur: n.vsn[5] ?? 0,
    };
  }

  protected handleNodeJoin(n: NodeState): void {
    let ms = this.memberMap.get(n.name);
    let oldStatus: MemberStatus = 'none';
    if (!ms) {
      ms = { member: this.#memberFromNode(n, 'alive'), statusLTime: 0, leaveTime: 0 };
      const intent = this.recentIntents.get(n.name);
      if (intent?.type === 'join') ms.statusLTime = intent.ltime;
      if (intent?.type === 'leave') { ms.member.status = 'leaving'; ms.statusLTime = intent.ltime; }
      this.memberMap.set(n.name, ms);
    } else {
      oldStatus = ms.member.status;
      const fresh = this.#memberFromNode(n, 'alive');
      ms.member = fresh;
      ms.leaveTime = 0;
    }
    const m = ms.member;
    [m.protocolMin, m.protocolMax, m.protocolCur, m.delegateMin, m.delegateMax, m.delegateCur] = [n.vsn[0] ?? 0, n.vsn[1] ?? 0, n.vsn[2] ?? 0, n.vsn[3] ?? 0, n.vsn[4] ?? 0, n.vsn[5] ?? 0];
    if (oldStatus === 'failed' || oldStatus === 'left') {
      this.failedMembers = this.failedMembers.filter(x => x.member.name !== n.name);
      this.leftMembers = this.leftMembers.filter(x => x.member.name !== n.name);
    }
    this.log('info', 'serf: EventMemberJoin', { node: m.name, addr: m.addr });
    this.emitSafe('member-join', [cloneMember(m)]);
  }

  protected handleNodeLeave(n: NodeState): void {
    const ms = this.memberMap.get(n.name);
    if (!ms) return;
    if (ms.member.status === 'leaving') {
      ms.member.status = 'left'; ms.leaveTime = Date.now(); this.leftMembers.push(ms);
    } else if (ms.member.status === 'alive') {
      ms.member.status = 'failed'; ms.leaveTime = Date.now(); this.failedMembers.push(ms);
    } else {
      this.log('warn', 'serf: bad state when leave', { node: n.name, status: ms.member.status });
      return;
    }
    const ev = ms.member.status === 'left' ? 'member-leave' : 'member-failed';
    this.log('info', `serf: ${ev === 'member-leave' ? 'EventMemberLeave' : 'EventMemberFailed'}`, { node: n.name, addr: ms.member.addr });
    this.emitSafe(ev, [cloneMember(ms.member)]);
  }

  protected handleNodeUpdate(n: NodeState): void {
    const ms = this.memberMap.get(n.name);
    if (!ms) return;
    const fresh = this.#memberFromNode(n, ms.member.status);
    ms.member = fresh;
    this.log('info', 'serf: EventMemberUpdate', { node: n.name });
    this.emitSafe('member-update', [cloneMember(fresh)]);
  }

  protected handleNodeConflict(existing: NodeState, other: NodeInfo): void {
    if (existing.name !== this.config.name) {
      this.log('warn', 'serf: name conflict', { node: existing.name, theirs: `${bytesToIp(other.addr)}:${other.port}` });
      return;
    }
    this.log('error', 'serf: node name conflicts with another node', { node: existing.name, theirs: `${bytesToIp(other.addr)}:${other.port}` });
    this.emitSafe('conflict', { name: other.name, addr: bytesToIp(other.addr), port: other.port });
  }

  /** Returns true if the intent is new and should be re-gossiped. */
  #upsertIntent(node: string, type: 'join' | 'leave', ltime: number): boolean {
    const cur = this.recentIntents.get(node);
    if (!cur || ltime > cur.ltime) { this.recentIntents.set(node, { type, ltime, witnessed: Date.now() }); return true; }
    return false;
  }

  protected handleNodeLeaveIntent(msg: MessageLeave): boolean {
    this.clock.witness(msg.ltime);
    const ms = this.memberMap.get(msg.node);
    if (!ms) return this.#upsertIntent(msg.node, 'leave', msg.ltime);
    if (msg.ltime <= ms.statusLTime) return false;
    if (msg.node === this.config.name && this.serfState === 'alive') {
      this.log('debug', 'serf: refuting an older leave intent');
      queueMicrotask(() => this.broadcastJoin(this.clock.time()));
      return false;
    }
    ms.statusLTime = msg.ltime;
    switch (ms.member.status) {
      case 'alive':
        ms.member.status = 'leaving';
        if (msg.prune) this.handlePrune(ms);
        return true;
      case 'failed':
        ms.member.status = 'left';
        this.failedMembers = this.failedMembers.filter(x => x !== ms);
        this.leftMembers.push(ms);
        this.log('info', 'serf: EventMemberLeave (forced)', { node: ms.member.name });
        this.emitSafe('member-leave', [cloneMember(ms.member)]);
        if (msg.prune) this.handlePrune(ms);
        return true;
      case 'leaving': case 'left':
        if (msg.prune) this.handlePrune(ms);
        return true;
      default:
        return false;
    }
  }

  /** Erases a member right away (force-leave with prune). */
  protected handlePrune(ms: MemberState): void {
    const erase = (): void => {
      this.failedMembers = this.failedMembers.filter(x => x !== ms);
      this.leftMembers = this.leftMembers.filter(x => x !== ms);
      if (this.memberMap.get(ms.member.name) !== ms) return;
      this.memberMap.delete(ms.member.name);
      this.log('info', 'serf: EventMemberReap (forced)', { node: ms.member.name });
      this.emitSafe('member-reap', [cloneMember(ms.member)]);
    };
    if (ms.member.status === 'leaving') this.later(this.config.broadcastTimeoutMs + this.config.leavePropagateDelayMs, erase);
    else erase();
  }

  protected handleNodeJoinIntent(msg: MessageJoin): boolean {
    this.clock.witness(msg.ltime);
    const ms = this.memberMap.get(msg.node);
    if (!ms) return this.#upsertIntent(msg.node, 'join', msg.ltime);
    if (msg.ltime <= ms.statusLTime) return false;
    ms.statusLTime = msg.ltime;
    if (ms.member.status === 'leaving') ms.member.status = 'alive';
    return true;
  }

  /** Broadcasts a join intent for ourselves at `ltime`. */
  protected broadcastJoin(ltime: number): void {
    const msg = { ltime, node: this.config.name };
    this.clock.witness(ltime);
    this.handleNodeJoinIntent(msg);
    this.broadcast(encodeJoin(msg));
  }

  /** Queues a Serf message on the intent queue; `notify` fires once it was fully transmitted. */
  protected broadcast(msg: Uint8Array, notify?: () => void): void {
    this.broadcasts.queue({ name: null, msg, finished: notify });
    this.broadcasts.prune(this.config.maxQueueDepth);
  }

  protected handleUserEvent(msg: MessageUserEvent): boolean {
    this.eventClock.witness(msg.ltime);
    if (msg.ltime < this.eventMinTime) return false;
    const cur = this.eventClock.time();
    const size = this.eventBuffer.length;
    if (cur > size && msg.ltime < cur - size) {
      this.log('warn', 'serf: received old event', { name: msg.name, ltime: msg.ltime, current: cur });
      return false;
    }
    const idx = msg.ltime % size;
    let seen = this.eventBuffer[idx];
    if (seen && seen.ltime === msg.ltime) {
      if (seen.events.some(e => e.name === msg.name && Buffer.compare(e.payload, msg.payload) === 0)) return false;
    } else {
      seen = { ltime: msg.ltime, events: [] };
      this.eventBuffer[idx] = seen;
    }
    seen.events.push({ name: msg.name, payload: msg.payload });
    this.emitSafe('user', { name: msg.name, payload: msg.payload, ltime: msg.ltime, coalesce: msg.cc } satisfies UserEvent);
    return true;
  }

  /** Query handling is provided by the query layer. */
  protected handleQuery(_q: MessageQuery): boolean { return false; }
  protected handleQueryResponse(_r: MessageQueryResponse): void {}

  protected notifyMsg(buf: Uint8Array): void {
    if (buf.length === 0) return;
    const t = buf[0]!;
    const body = buf.subarray(1);
    let rebroadcast = false;
    let queue = this.broadcasts;
    try {
      switch (t) {
        case SerfMsgType.leave: rebroadcast = this.handleNodeLeaveIntent(decodeLeave(decodeStruct(body))); break;
        case SerfMsgType.join: rebroadcast = this.handleNodeJoinIntent(decodeJoin(decodeStruct(body))); break;
        case SerfMsgType.userEvent: rebroadcast = this.handleUserEvent(decodeUserEvent(decodeStruct(body))); queue = this.eventBroadcasts; break;
        case SerfMsgType.query: rebroadcast = this.handleQuery(decodeQuery(decodeStruct(body))); queue = this.queryBroadcasts; break;
        case SerfMsgType.queryResponse: this.handleQueryResponse(decodeQueryResponse(decodeStruct(body))); break;
        case SerfMsgType.relay: {
          const r = decodeRelay(body);
          this.memberlist.sendUserPacket(r.addr, r.port, r.inner);
          break;
        }
        default: this.log('warn', 'serf: received message of unknown type', { type: t });
      }
    } catch (e) {
      this.log('error', 'serf: failed to decode message', { type: t, err: String(e) });
      return;
    }
    if (rebroadcast) {
      queue.queue({ name: null, msg: new Uint8Array(buf) });
      queue.prune(this.config.maxQueueDepth);
    }
  }

  #getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    const out = this.broadcasts.getBroadcasts(overhead, limit);
    let used = 0;
    for (const m of out) used += m.length + overhead;
    const q = this.queryBroadcasts.getBroadcasts(overhead, limit - used);
    for (const m of q) used += m.length + overhead;
    const e = this.eventBroadcasts.getBroadcasts(overhead, limit - used);
    return [...out, ...q, ...e];
  }

  #localState(_join: boolean): Uint8Array {
    const status = new Map<string, number>();
    for (const [name, ms] of this.memberMap) status.set(name, ms.statusLTime);
    return encodePushPull({
      ltime: this.clock.time(), statusLTimes: status, leftMembers: this.leftMembers.map(m => m.member.name),
      eventLTime: this.eventClock.time(), events: this.eventBuffer.filter((e): e is UserEvents => e !== null), queryLTime: this.queryClock.time(),
    });
  }

  #mergeRemoteState(buf: Uint8Array, join: boolean): void {
    if (buf[0] !== SerfMsgType.pushPull) { this.log('error', 'serf: remote state has bad type prefix', { type: buf[0] }); return; }
    let pp;
    try { pp = decodePushPull(decodeStruct(buf.subarray(1))); } catch (e) { this.log('error', 'serf: failed to decode remote state', { err: String(e) }); return; }
    if (pp.ltime > 0) this.clock.witness(pp.ltime - 1);
    if (pp.eventLTime > 0) this.eventClock.witness(pp.eventLTime - 1);
    if (pp.queryLTime > 0) this.queryClock.witness(pp.queryLTime - 1);
    const left = new Set(pp.leftMembers);
    for (const name of pp.leftMembers) this.handleNodeLeaveIntent({ ltime: (pp.statusLTimes.get(name) ?? 0) + 1, node: name, prune: false });
    for (const [name, ltime] of pp.statusLTimes) if (!left.has(name)) this.handleNodeJoinIntent({ ltime, node: name });
    if (join && this.eventJoinIgnore && pp.eventLTime > this.eventMinTime) this.eventMinTime = pp.eventLTime;
    for (const ev of pp.events) for (const e of ev.events) this.handleUserEvent({ ltime: ev.ltime, name: e.name, payload: e.payload, cc: false });
  }

  /** Drops failed/left members past their timeouts and stale intents. */
  protected reap(): void {
    const now = Date.now();
    const reapList = (list: MemberState[], timeout: number): MemberState[] => list.filter(ms => {
      if (now - ms.leaveTime <= timeout) return true;
      if (this.memberMap.get(ms.member.name) === ms) this.memberMap.delete(ms.member.name);
      this.log('info', 'serf: EventMemberReap', { node: ms.member.name });
      this.emitSafe('member-reap', [cloneMember(ms.member)]);
      return false;
    });
    this.failedMembers = reapList(this.failedMembers, this.config.reconnectTimeoutMs);
    this.leftMembers = reapList(this.leftMembers, this.config.tombstoneTimeoutMs);
    for (const [name, intent] of this.recentIntents) {
      if (now - intent.witnessed > this.config.recentIntentTimeoutMs) this.recentIntents.delete(name);
    }
  }

  /** Tries to rejoin one random failed member (probability failed/alive, as Serf). */
  protected reconnect(): void {
    const n = this.failedMembers.length;
    if (n === 0 || this.serfState !== 'alive') return;
    const alive = Math.max(1, this.memberMap.size - n - this.leftMembers.length);
    if (Math.random() > n / alive) return;
    const ms = this.failedMembers[Math.floor(Math.random() * n)]!;
    const addr = ms.member.addr.includes(':') ? `[${ms.member.addr}]:${ms.member.port}` : `${ms.member.addr}:${ms.member.port}`;
    this.log('info', 'serf: attempting reconnect', { node: ms.member.name, addr });
    void this.memberlist.join([addr]).catch(() => {});
  }

  /** Snapshot of all members (including failed and left ones not yet reaped). */
  members(): Member[] {
    return [...this.memberMap.values()].map(ms => cloneMember(ms.member));
  }
}

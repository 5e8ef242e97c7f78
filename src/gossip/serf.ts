/**
 * @module Public Serf API: a gossip cluster member wire-compatible with HashiCorp Serf 0.9 /
 * memberlist (and therefore Consul LAN gossip framing).
 */
import { randomInt } from 'node:crypto';
import { SerfQueries, QueryResponse } from './serf-query.ts';
import type { QueryParams } from './serf-query.ts';
import type { Member, SerfState } from './serf-core.ts';
import { resolveConfig, META_MAX_SIZE } from './config.ts';
import type { GossipConfig, ResolvedConfig } from './config.ts';
import { NetTransport } from './transport.ts';
import type { Transport } from './transport.ts';
import { Keyring, parseKey } from './keyring.ts';
import { ipToBytes, utf8Bytes } from './codec.ts';
import {
  encodeLeave, encodeUserEvent, encodeQuery, encodeTags, encodeNodeFilter, encodeTagFilter, QueryFlag,
} from './serf-messages.ts';

/** Counters mirroring `serf info` / Serf.Stats(). */
export interface SerfStats {
  members: number; failed: number; left: number; healthScore: number;
  memberTime: number; eventTime: number; queryTime: number;
  intentQueue: number; eventQueue: number; queryQueue: number; encrypted: boolean;
  /** Transport counters of this node. */
  packetsSent: number; packetBytesSent: number; packetsReceived: number; packetBytesReceived: number; streamBytesSent: number;
}

/**
 * A Serf cluster member.
 *
 * Events (each member event carries `Member[]`): 'member-join', 'member-leave', 'member-failed',
 * 'member-update', 'member-reap'; 'user' ({@link UserEvent}); 'query' ({@link QueryEvent});
 * 'conflict' (another node claims our name).
 */
export class Serf extends SerfQueries {
  private constructor(config: ResolvedConfig, transport: Transport, keyring: Keyring | null) {
    super(config, transport, keyring);
  }

  /** Binds UDP+TCP, announces ourselves locally and starts the background loops. */
  static async create(cfg: GossipConfig): Promise<Serf> {
    const config = resolveConfig(cfg);
    if (encodeTags(config.tags).length > META_MAX_SIZE) throw new Error(`encoded length of tags exceeds limit of ${META_MAX_SIZE} bytes`);
    const keyring = config.encryptKey ? new Keyring([parseKey(config.encryptKey), ...config.extraKeys.map(parseKey)]) : null;
    const transport = config.transport ?? await NetTransport.listen(config.bindAddr, config.bindPort);
    if (config.bindPort === 0) config.bindPort = transport.localPort;
    const serf = new Serf(config, transport, keyring);
    serf.memberlist.start();
    serf.every(config.reapIntervalMs, () => serf.reap());
    serf.every(config.reconnectIntervalMs, () => serf.reconnect());
    return serf;
  }

  /** Current lifecycle state. */
  get state(): SerfState { return this.serfState; }

  /** Port actually bound (useful with bindPort 0). */
  get port(): number { return this.memberlist.advertise().port; }

  /** True if a gossip key is configured. */
  encryptionEnabled(): boolean { return this.keyring !== null; }

  /** The keyring (null without encryption); changes take effect immediately. */
  getKeyring(): Keyring | null { return this.keyring; }

  /**
   * Joins the cluster through existing members ("host", "host:port", "[v6]:port"); returns how
   * many were contacted. Throws only if none could be. `ignoreOld` skips user events that
   * happened before the join.
   */
  async join(addrs: string[], ignoreOld = false): Promise<number> {
    if (this.serfState !== 'alive') throw new Error("Serf can't Join after Leave or Shutdown");
    if (ignoreOld) this.eventJoinIgnore = true;
    let res;
    try { res = await this.memberlist.join(addrs); } finally { this.eventJoinIgnore = false; }
    if (res.joined > 0) this.broadcastJoin(this.clock.time());
    if (res.joined === 0 && res.errors.length > 0) throw new Error(res.errors.map(e => e.message).join('; '));
    return res.joined;
  }

  /**
   * Graceful leave: gossips a leave intent, then our own `dead` (others then list us `left`),
   * and waits leavePropagateDelay. Call {@link shutdown} afterwards.
   */
  async leave(): Promise<void> {
    if (this.serfState === 'left') return;
    if (this.serfState === 'leaving') throw new Error('Leave already in progress');
    if (this.serfState === 'shutdown') throw new Error('Leave called after Shutdown');
    this.serfState = 'leaving';
    const msg = { ltime: this.clock.time(), node: this.config.name, prune: false };
    this.clock.increment();
    this.handleNodeLeaveIntent(msg);
    if (this.#hasAliveMembers()) {
      await this.#broadcastAndWait(encodeLeave(msg), 'timeout while waiting for graceful leave');
    }
    await this.memberlist.leave(this.config.broadcastTimeoutMs);
    await new Promise(r => setTimeout(r, this.config.leavePropagateDelayMs));
    if ((this.serfState as SerfState) !== 'shutdown') this.serfState = 'left';
  }

  /** Stops everything without leaving (peers will mark us failed). Idempotent. */
  async shutdown(): Promise<void> {
    if (this.serfState === 'shutdown') return;
    if (this.serfState !== 'left') this.log('warn', 'serf: shutdown without a leave');
    this.serfState = 'shutdown';
    for (const t of this.timers) { clearTimeout(t); clearInterval(t); }
    this.timers.clear();
    for (const q of [...this.queryResponses.values()]) q.close();
    await this.memberlist.shutdown();
  }

  /**
   * Forces a failed member into the `left` state (Serf RemoveFailedNode); with `prune` it is
   * also erased from the member list right away.
   */
  async forceLeave(node: string, prune = false): Promise<void> {
    const msg = { ltime: this.clock.time(), node, prune };
    this.clock.increment();
    this.handleNodeLeaveIntent(msg);
    if (!this.#hasAliveMembers()) return;
    await this.#broadcastAndWait(encodeLeave(msg), 'timed out broadcasting node removal');
  }

  #hasAliveMembers(): boolean {
    for (const ms of this.memberMap.values()) if (ms.member.name !== this.config.name && ms.member.status === 'alive') return true;
    return false;
  }

  async #broadcastAndWait(msg: Uint8Array, err: string): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>(r => this.broadcast(msg, r)),
      new Promise<void>((_, reject) => { t = setTimeout(() => reject(new Error(err)), this.config.broadcastTimeoutMs); }),
    ]).finally(() => clearTimeout(t));
  }

  /** Our own member entry. */
  localMember(): Member {
    const me = this.memberMap.get(this.config.name);
    if (me) return { ...me.member, tags: { ...me.member.tags } };
    const adv = this.memberlist.advertise();
    return { name: this.config.name, addr: adv.addr, port: adv.port, tags: { ...this.tags }, status: 'none', protocolMin: 1, protocolMax: 5, protocolCur: 2, delegateMin: 2, delegateMax: 5, delegateCur: 5 };
  }

  /** Replaces our tags and gossips them (peers see a member-update). */
  async setTags(tags: Record<string, string>): Promise<void> {
    if (encodeTags(tags).length > META_MAX_SIZE) throw new Error(`encoded length of tags exceeds limit of ${META_MAX_SIZE} bytes`);
    this.tags = { ...tags };
    await this.memberlist.updateNode(this.config.broadcastTimeoutMs);
  }

  /** Gossips a user event (name + payload ≤ userEventSizeLimit bytes). */
  async userEvent(name: string, payload: Uint8Array, coalesce = true): Promise<void> {
    const size = utf8Bytes(name).length + payload.length;
    if (size > this.config.userEventSizeLimit) throw new Error(`user event exceeds configured limit of ${this.config.userEventSizeLimit} bytes before encoding`);
    const msg = { ltime: this.eventClock.time(), name, payload, cc: coalesce };
    const raw = encodeUserEvent(msg);
    if (raw.length > this.config.userEventSizeLimit) throw new Error(`encoded user event exceeds limit of ${this.config.userEventSizeLimit} bytes after encoding`);
    this.eventClock.increment();
    this.handleUserEvent(msg);
    this.eventBroadcasts.queue({ name: null, msg: raw });
    this.eventBroadcasts.prune(this.config.maxQueueDepth);
  }

  /**
   * Starts a query. Resolves as soon as it is queued; collect acks/responses from the returned
   * {@link QueryResponse} (events or `await resp.done`).
   */
  async query(name: string, payload: Uint8Array, opts: QueryParams = {}): Promise<QueryResponse> {
    const timeoutMs = opts.timeoutMs && opts.timeoutMs > 0 ? opts.timeoutMs : this.defaultQueryTimeoutMs();
    const filters: Uint8Array[] = [];
    if (opts.filterNodes && opts.filterNodes.length > 0) filters.push(encodeNodeFilter(opts.filterNodes));
    for (const [tag, expr] of Object.entries(opts.filterTags ?? {})) filters.push(encodeTagFilter(tag, expr));
    const local = this.memberlist.localNode();
    const q = {
      ltime: this.queryClock.time(), id: randomInt(0, 2 ** 31 - 1), addr: local ? local.addr : ipToBytes(this.memberlist.advertise().addr),
      port: local ? local.port : this.memberlist.advertise().port, sourceNode: this.config.name, filters,
      flags: opts.requestAck ? QueryFlag.ack : 0, relayFactor: opts.relayFactor ?? 0, timeoutNs: Math.round(timeoutMs * 1e6), name, payload,
    };
    const raw = encodeQuery(q);
    if (raw.length > this.config.querySizeLimit) throw new Error(`query exceeds limit of ${this.config.querySizeLimit} bytes`);
    const resp = this.registerQueryResponse(name, q.id, q.ltime, timeoutMs);
    this.handleQuery(q);
    this.queryBroadcasts.queue({ name: null, msg: raw });
    this.queryBroadcasts.prune(this.config.maxQueueDepth);
    return resp;
  }

  /** Runtime counters. */
  stats(): SerfStats {
    const c = this.memberlist.counters;
    return {
      members: this.memberMap.size, failed: this.failedMembers.length, left: this.leftMembers.length,
      healthScore: this.memberlist.healthScore(), memberTime: this.clock.time(), eventTime: this.eventClock.time(),
      queryTime: this.queryClock.time(), intentQueue: this.broadcasts.length, eventQueue: this.eventBroadcasts.length,
      queryQueue: this.queryBroadcasts.length, encrypted: this.keyring !== null,
      packetsSent: c.packetsSent, packetBytesSent: c.packetBytesSent, packetsReceived: c.packetsReceived,
      packetBytesReceived: c.packetBytesReceived, streamBytesSent: c.streamBytesSent,
    };
  }

  /** Memberlist-level view (alive/suspect/dead/left with incarnations), for debugging. */
  memberlistNodes(): { name: string; state: 'alive' | 'suspect' | 'dead' | 'left'; incarnation: number }[] {
    const names = ['alive', 'suspect', 'dead', 'left'] as const;
    return this.memberlist.allNodes().map(n => ({ name: n.name, state: names[n.state], incarnation: n.incarnation }));
  }
}

/**
 * @module memberlist node table and the SWIM state machine (memberlist/state.go `aliveNode`,
 * `suspectNode`, `deadNode`, `refute`, `mergeState`): incarnations, suspicion with Lifeguard
 * confirmations, refutation, and dissemination through the broadcast queue.
 */
import type { MemberlistConfig } from './config.ts';
import { PROTOCOL, DELEGATE_PROTOCOL } from './config.ts';
import { bytesEqual, bytesToIp } from './codec.ts';
import { NodeStateType, encodeAlive, encodeSuspect, encodeDead } from './messages.ts';
import type { Alive, Suspect, Dead, PushNodeState, NodeStateNum } from './messages.ts';
import { TransmitLimitedQueue } from './broadcast.ts';
import { Suspicion, Awareness, suspicionTimeout } from './suspicion.ts';
import { M } from '../util/metrics/index.ts';

/** Identity of a node as gossiped in `alive`. */
export interface NodeInfo {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array;
  /** [pmin, pmax, pcur, dmin, dmax, dcur] */
  vsn: number[];
}

/** A node in the memberlist table. */
export interface NodeState extends NodeInfo {
  incarnation: number;
  state: NodeStateNum;
  /** Date.now() of the last state change. */
  stateChange: number;
}

/** Callbacks memberlist makes into the layer above (Serf). */
export interface MemberlistDelegate {
  nodeMeta(limit: number): Uint8Array;
  notifyMsg(buf: Uint8Array): void;
  getBroadcasts(overhead: number, limit: number): Uint8Array[];
  localState(join: boolean): Uint8Array;
  mergeRemoteState(buf: Uint8Array, join: boolean): void;
  notifyJoin(node: NodeState): void;
  notifyLeave(node: NodeState): void;
  notifyUpdate(node: NodeState): void;
  notifyConflict(existing: NodeState, other: NodeInfo): void;
  ackPayload(): Uint8Array | null;
  notifyPingComplete(node: NodeState, rttMs: number, payload: Uint8Array | null): void;
}

/** True for dead or left. */
export function deadOrLeft(n: NodeState): boolean {
  return n.state === NodeStateType.dead || n.state === NodeStateType.left;
}

/** Node table plus state transitions; networking lives in subclasses. */
export class MemberlistState {
  protected readonly config: MemberlistConfig;
  protected readonly delegate: MemberlistDelegate;
  /** Probe order (shuffled); includes ourselves and recently dead nodes. */
  protected nodes: NodeState[] = [];
  protected readonly nodeMap = new Map<string, NodeState>();
  protected readonly nodeTimers = new Map<string, Suspicion>();
  protected readonly awareness: Awareness;
  /** memberlist's own broadcasts (alive/suspect/dead). */
  readonly broadcasts: TransmitLimitedQueue;
  protected incarnation = 0;
  protected leaving = false;
  protected shutdownFlag = false;
  protected probeIndex = 0;
  protected readonly log: MemberlistConfig['logger'];

  constructor(config: MemberlistConfig, delegate: MemberlistDelegate) {
    this.config = config;
    this.delegate = delegate;
    this.log = config.logger;
    this.awareness = new Awareness(config.awarenessMaxMultiplier);
    this.broadcasts = new TransmitLimitedQueue(config.retransmitMult, () => this.nodes.length);
  }

  /** Our version vector [pmin, pmax, pcur, dmin, dmax, dcur]. */
  buildVsn(): number[] {
    return [PROTOCOL.min, PROTOCOL.max, PROTOCOL.cur, DELEGATE_PROTOCOL.min, DELEGATE_PROTOCOL.max, DELEGATE_PROTOCOL.cur];
  }

  protected nextIncarnation(): number { return ++this.incarnation; }
  protected skipIncarnation(offset: number): number { this.incarnation += offset; return this.incarnation; }

  /** Known nodes including ourselves and not-yet-reaped dead ones. */
  estNumNodes(): number { return this.nodes.length; }

  /** Current Lifeguard health score (0 is healthy). */
  healthScore(): number { return this.awareness.score; }

  /** True if any other node is not dead/left. */
  anyAlive(): boolean {
    return this.nodes.some(n => n.name !== this.config.name && !deadOrLeft(n));
  }

  /** Up to k distinct random nodes not excluded (3n random tries, as memberlist). */
  protected kRandomNodes(k: number, exclude: (n: NodeState) => boolean): NodeState[] {
    const n = this.nodes.length;
    const out: NodeState[] = [];
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const st = this.nodes[Math.floor(Math.random() * n)]!;
      if (exclude(st) || out.includes(st)) continue;
      out.push(st);
    }
    return out;
  }

  /** Queues a memberlist broadcast about `node`, replacing older ones about it. */
  protected encodeAndBroadcast(node: string, msg: Uint8Array, notify?: () => void): void {
    this.broadcasts.queue({ name: node, msg, finished: notify });
  }

  /** Handles an alive message (ours, gossiped, or from push-pull). */
  aliveNode(a: Alive, notify: (() => void) | null, bootstrap: boolean): void {
    M.memberlistMsg.alive.with('lan').inc();
    if (this.leaving && a.node === this.config.name) return;
    if (a.vsn.length >= 3) {
      const [pmin, pmax] = a.vsn as [number, number];
      if (pmin === 0 || pmax === 0 || pmin > pmax) {
        this.log('warn', 'memberlist: ignoring alive with bad protocol versions', { node: a.node, vsn: a.vsn });
        return;
      }
    }
    let state = this.nodeMap.get(a.node);
    let updatesNode = false;
    if (!state) {
      state = {
        name: a.node, addr: a.addr, port: a.port, meta: a.meta, vsn: a.vsn.length >= 6 ? a.vsn.slice(0, 6) : [0, 0, 0, 0, 0, 0],
        incarnation: 0, state: NodeStateType.dead, stateChange: Date.now(),
      };
      this.nodeMap.set(a.node, state);
      // Insert at a random offset so failure detection bounds stay low on average.
      const n = this.nodes.length;
      const offset = Math.floor(Math.random() * (n + 1));
      this.nodes.push(state);
      [this.nodes[offset], this.nodes[n]] = [this.nodes[n]!, this.nodes[offset]!];
    } else if (!bytesEqual(state.addr, a.addr) || state.port !== a.port) {
      const canReclaim = this.config.deadNodeReclaimTimeMs > 0 && Date.now() - state.stateChange > this.config.deadNodeReclaimTimeMs;
      if (state.state === NodeStateType.left || (state.state === NodeStateType.dead && canReclaim)) {
        this.log('info', 'memberlist: updating address for left or failed node', { node: state.name, addr: `${bytesToIp(a.addr)}:${a.port}` });
        updatesNode = true;
      } else {
        this.log('error', 'memberlist: conflicting address', { node: state.name, mine: `${bytesToIp(state.addr)}:${state.port}`, theirs: `${bytesToIp(a.addr)}:${a.port}` });
        this.delegate.notifyConflict(state, { name: a.node, addr: a.addr, port: a.port, meta: a.meta, vsn: a.vsn });
        return;
      }
    }
    const isLocal = state.name === this.config.name;
    if (a.incarnation <= state.incarnation && !isLocal && !updatesNode) return;
    if (a.incarnation < state.incarnation && isLocal) return;

    this.nodeTimers.get(a.node)?.stop();
    this.nodeTimers.delete(a.node);

    const oldState = state.state;
    const oldMeta = state.meta;
    if (!bootstrap && isLocal) {
      const mine = state.vsn;
      if (a.incarnation === state.incarnation && bytesEqual(a.meta, state.meta) && a.vsn.length === mine.length && a.vsn.every((v, i) => v === mine[i])) return;
      this.refute(state, a.incarnation);
      this.log('warn', 'memberlist: refuting an alive message about us', { incarnation: a.incarnation });
    } else {
      this.encodeAndBroadcast(a.node, encodeAlive(a), notify ?? undefined);
      if (a.vsn.length >= 6) state.vsn = a.vsn.slice(0, 6);
      state.incarnation = a.incarnation;
      state.meta = a.meta;
      state.addr = a.addr;
      state.port = a.port;
      if (state.state !== NodeStateType.alive) {
        state.state = NodeStateType.alive;
        state.stateChange = Date.now();
      }
    }
    if (oldState === NodeStateType.dead || oldState === NodeStateType.left) this.delegate.notifyJoin(state);
    else if (!bytesEqual(oldMeta, state.meta)) this.delegate.notifyUpdate(state);
  }

  /** Handles a suspect message; starts or confirms the suspicion timer, or refutes if about us. */
  suspectNode(s: Suspect): void {
    M.memberlistMsg.suspect.with('lan').inc();
    const state = this.nodeMap.get(s.node);
    if (!state) return;
    if (s.incarnation < state.incarnation) return;
    const timer = this.nodeTimers.get(s.node);
    if (timer) {
      if (timer.confirm(s.from)) this.encodeAndBroadcast(s.node, encodeSuspect(s));
      return;
    }
    if (state.state !== NodeStateType.alive) return;
    if (state.name === this.config.name) {
      this.refute(state, s.incarnation);
      this.log('warn', 'memberlist: refuting a suspect message', { from: s.from });
      return;
    }
    this.encodeAndBroadcast(s.node, encodeSuspect(s));
    state.incarnation = s.incarnation;
    state.state = NodeStateType.suspect;
    const changeTime = Date.now();
    state.stateChange = changeTime;

    // Expect k confirmations so the nominal timeout is hit two probe intervals early; none if the
    // cluster is too small to provide them (n − 2 excludes us and the suspect).
    let k = this.config.suspicionMult - 2;
    const n = this.estNumNodes();
    if (n - 2 < k) k = 0;
    const min = suspicionTimeout(this.config.suspicionMult, n, this.config.probeIntervalMs);
    const max = this.config.suspicionMaxTimeoutMult * min;
    const fn = (confirmations: number): void => {
      const st = this.nodeMap.get(s.node);
      if (!st || st.state !== NodeStateType.suspect || st.stateChange !== changeTime || this.shutdownFlag) return;
      this.log('info', 'memberlist: marking node as failed, suspect timeout reached', { node: st.name, confirmations });
      this.deadNode({ incarnation: st.incarnation, node: st.name, from: this.config.name });
    };
    this.nodeTimers.set(s.node, new Suspicion(s.from, k, min, max, fn));
  }

  /** Handles a dead message (From == Node means a graceful leave → state left). */
  deadNode(d: Dead, notify?: () => void): void {
    M.memberlistMsg.dead.with('lan').inc();
    const state = this.nodeMap.get(d.node);
    if (!state) return;
    if (d.incarnation < state.incarnation) return;
    this.nodeTimers.get(d.node)?.stop();
    this.nodeTimers.delete(d.node);
    if (deadOrLeft(state)) return;
    if (state.name === this.config.name) {
      if (!this.leaving) {
        this.refute(state, d.incarnation);
        this.log('warn', 'memberlist: refuting a dead message', { from: d.from });
        return;
      }
      this.encodeAndBroadcast(d.node, encodeDead(d), notify);
    } else {
      this.encodeAndBroadcast(d.node, encodeDead(d));
    }
    state.incarnation = d.incarnation;
    state.state = d.node === d.from ? NodeStateType.left : NodeStateType.dead;
    state.stateChange = Date.now();
    this.delegate.notifyLeave(state);
  }

  /** Beats an accusation: bump our incarnation past it and gossip a fresh alive. */
  protected refute(me: NodeState, accusedInc: number): void {
    let inc = this.nextIncarnation();
    if (accusedInc >= inc) inc = this.skipIncarnation(accusedInc - inc + 1);
    me.incarnation = inc;
    this.awareness.applyDelta(1);
    const a: Alive = { incarnation: inc, node: me.name, addr: me.addr, port: me.port, meta: me.meta, vsn: me.vsn };
    this.encodeAndBroadcast(me.name, encodeAlive(a));
  }

  /** Merges a remote push-pull node list (remote dead/suspect are only suspected here). */
  protected mergeState(remote: PushNodeState[]): void {
    for (const r of remote) {
      switch (r.state) {
        case NodeStateType.alive:
          this.aliveNode({ incarnation: r.incarnation, node: r.name, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn }, null, false);
          break;
        case NodeStateType.left:
          this.deadNode({ incarnation: r.incarnation, node: r.name, from: r.name });
          break;
        default:
          this.suspectNode({ incarnation: r.incarnation, node: r.name, from: this.config.name });
      }
    }
  }

  /** Our local state list for push-pull. */
  protected localPushState(): PushNodeState[] {
    return this.nodes.map(n => ({ name: n.name, addr: n.addr, port: n.port, meta: n.meta, incarnation: n.incarnation, state: n.state, vsn: n.vsn }));
  }

  /** Checks every node's current versions fit the cluster-wide ranges (memberlist verifyProtocol). */
  protected verifyProtocol(remote: PushNodeState[]): void {
    let maxpmin = 0, minpmax = 255, maxdmin = 0, mindmax = 255;
    const alive = [...remote.filter(r => r.state === NodeStateType.alive).map(r => r.vsn), ...this.nodes.filter(n => n.state === NodeStateType.alive).map(n => n.vsn)];
    for (const v of alive) {
      if (v.length < 6) continue;
      maxpmin = Math.max(maxpmin, v[0]!); minpmax = Math.min(minpmax, v[1]!);
      maxdmin = Math.max(maxdmin, v[3]!); mindmax = Math.min(mindmax, v[4]!);
    }
    const check = (name: string, v: number[]): void => {
      if (v.length < 6) return;
      if (v[2]! < maxpmin || v[2]! > minpmax) throw new Error(`Node '${name}' protocol version (${v[2]}) is incompatible: [${maxpmin}, ${minpmax}]`);
      if (v[5]! < maxdmin || v[5]! > mindmax) throw new Error(`Node '${name}' delegate protocol version (${v[5]}) is incompatible: [${maxdmin}, ${mindmax}]`);
    };
    for (const r of remote) check(r.name, r.vsn);
    for (const n of this.nodes) check(n.name, n.vsn);
  }

  /** Drops nodes dead for longer than GossipToTheDeadTime and reshuffles the probe order. */
  protected resetNodes(): void {
    const now = Date.now();
    const keep: NodeState[] = [];
    for (const n of this.nodes) {
      if (deadOrLeft(n) && now - n.stateChange > this.config.gossipToTheDeadTimeMs) {
        this.nodeMap.delete(n.name);
        this.log('debug', 'memberlist: reaped dead node', { node: n.name });
      } else keep.push(n);
    }
    for (let i = keep.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [keep[i], keep[j]] = [keep[j]!, keep[i]!];
    }
    this.nodes = keep;
  }
}

/**
 * @module The agent's gossip: a Serf member on -serf-lan-port, wire-compatible with HashiCorp
 * serf, plugged into the HTTP API (members, join, leave, force-leave, user events, queries) and
 * into the catalog through the `serfHealth` node check.
 *
 * Who writes serfHealth: many agents can share one Redis, and each sees every gossip failure.
 * To agree without flapping, exactly one of them, the holder of a Redis lease
 * (`roster:{dc}:reconciler`, 3 s, renewed every second), reconciles membership into the catalog,
 * as Consul's leader does: alive → serfHealth passing, failed → critical ("Agent not live or
 * unreachable"), left → node deregistered. Every agent writes its own node at start, and the
 * writes are idempotent (no index bump without a real change), so a lease hand-over is harmless.
 */
import { createHash } from 'node:crypto';
import { Serf, type Member, type QueryEvent, type UserEvent as SerfUserEvent } from '../gossip/index.ts';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.ts';
import type { CatalogStore } from '../store/catalog-store.ts';
import type { CatalogView } from '../catalog/view.ts';
import type { AgentHooks } from '../http/context.ts';
import type { KvServices, Wake } from '../kv/services.ts';
import { recordUserEvent } from '../kv/events.ts';
import { defineScript, type ScriptFn } from '../store/script.ts';
import { VERSION } from '../version.ts';
import { logger } from '../log.ts';
import { M } from '../util/metrics/index.ts';

/** consul.serf.member.{join,left,failed,update}, by serf event. */
const SERF_METRIC = { 'member-join': M.serfMember.join, 'member-leave': M.serfMember.left, 'member-failed': M.serfMember.failed, 'member-update': M.serfMember.update };

const log = logger('agent.gossip');

/** The parts of the agent gossip uses (the Agent fits; gossip does not import the agent). */
export interface GossipHost {
  readonly config: Config;
  readonly nodeId: string;
  readonly redis: Redis;
  readonly store: CatalogStore;
  readonly view: CatalogView;
  readonly hooks: AgentHooks;
  readonly kv: KvServices;
  readonly notifier: Wake;
  readonly antiEntropy?: { stop(): void };
  /** The WAN pool (src/agent/wan.ts), when it runs: /v1/agent/members?wan, join and leave act on it. */
  readonly wan?: { members(): Record<string, unknown>[]; readonly serf: Serf };
  /** Settles once the WAN pool started (HTTP answers a little before). */
  readonly wanStarting?: Promise<unknown>;
}
const STATUS_CODE: Record<string, number> = { none: 0, alive: 1, leaving: 2, left: 3, failed: 4 };
const LEASE_MS = 3000;


/** A stable event ID from what every member sees alike (name, Lamport time, payload), so agents sharing Redis record it once. */
export function eventId(name: string, ltime: number, payload: Uint8Array): string {
  const h = createHash('sha256').update(name).update('\0').update(String(ltime)).update('\0').update(payload).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A Serf member in Consul's AgentMember shape. */
export function agentMember(m: Member, wanSuffix = ''): Record<string, unknown> {
  return {
    Name: m.name + wanSuffix, Addr: m.addr, Port: m.port, Tags: m.tags, Status: STATUS_CODE[m.status] ?? 0,
    ProtocolMin: m.protocolMin, ProtocolMax: m.protocolMax, ProtocolCur: m.protocolCur,
    DelegateMin: m.delegateMin, DelegateMax: m.delegateMax, DelegateCur: m.delegateCur,
  };
}

/** A Consul server's Serf tags (Roster agents present themselves as servers in both pools). */
export function serverTags(agent: Pick<GossipHost, 'config' | 'nodeId'>): Record<string, string> {
  const c = agent.config;
  return {
    acls: '0', build: `${VERSION}:roster`, dc: c.datacenter, ft_fs: '1', ft_si: '1', id: agent.nodeId, port: String(c.ports.server), raft_vsn: '3',
    role: 'consul', segment: '', vsn: '2', vsn_max: '3', vsn_min: '2', wan_join_port: String(c.ports.serfWan > 0 ? c.ports.serfWan : c.ports.serfLan),
  };
}

export class Gossip {
  readonly serf: Serf;
  #agent: GossipHost;
  #acquire: ScriptFn;
  #release: ScriptFn;
  #timers: NodeJS.Timeout[] = [];
  #holder = false;
  #reconciling: Promise<void> | null = null;
  #again = false;
  #left = false;

  private constructor(agent: GossipHost, serf: Serf) {
    this.#agent = agent;
    this.serf = serf;
    this.#acquire = defineScript(agent.redis, 'leaseAcquire-1.lua', [agent.store.keys.reconciler]);
    this.#release = defineScript(agent.redis, 'leaseRelease-1.lua', [agent.store.keys.reconciler]);
  }

  static async start(agent: GossipHost): Promise<Gossip> {
    const c = agent.config;
    const tags = serverTags(agent);
    const serf = await Serf.create({
      nodeName: c.nodeName, bindAddr: c.bindAddr, bindPort: c.ports.serfLan, advertiseAddr: c.advertiseAddr, tags,
      encryptKey: c.encrypt || undefined, ...c.gossipLan,
      logger: (level, msg, fields) => (level === 'error' ? log.error : level === 'warn' ? log.warn : log.debug)(msg, fields),
    });
    const g = new Gossip(agent, serf);
    g.#wire();
    log.info('gossip listening', { addr: `${c.bindAddr}:${serf.port}`, encrypted: serf.encryptionEnabled() });
    if (c.startJoin.length) {
      const n = await serf.join(c.startJoin).catch(err => { throw new Error(`failed to join ${c.startJoin.join(', ')}: ${(err as Error).message}`); });
      log.info('joined cluster', { contacted: n });
    }
    if (c.retryJoin.length) g.#retryJoin(c.retryJoin, c.retryIntervalMs);
    return g;
  }

  #wire(): void {
    const a = this.#agent;
    const h = a.hooks;
    h.members = wan => {
      if (wan && a.wan) return a.wan.members();
      return this.serf.members().filter(m => !wan || m.tags.role === 'consul').map(m => agentMember(m, wan ? `.${m.tags.dc ?? a.config.datacenter}` : ''));
    };
    h.join = async (addr, wan) => {
      if (!wan) return this.serf.join([addr]);
      if (!a.wan) await a.wanStarting;
      if (!a.wan) throw new Error('Must be a server to join WAN cluster');
      return a.wan.serf.join([addr]);
    };
    h.forceLeave = async (node, prune, wan) => {
      if (!wan) return this.serf.forceLeave(node, prune);
      if (!a.wan) throw new Error('WAN pool is not running on this agent (-serf-wan-port -1)');
      return a.wan.serf.forceLeave(node, prune);
    };
    h.leave = async () => {
      await this.leave();
      // Consul's leave leaves both pools: other datacenters see this agent `left`, not failed.
      await a.wan?.serf.leave().catch(err => log.warn('WAN leave failed', { err: (err as Error).message }));
      // Consul's /v1/agent/leave also shuts the agent down.
      setTimeout(() => process.kill(process.pid, 'SIGTERM'), 200).unref();
    };
    h.fireEvent = async (name, payload, filters) => {
      const ltime = this.serf.eventClock.time();
      const ID = eventId(name, ltime, payload);
      // Recorded first, with its filters: the gossip copies (ours and other agents') carry the same ID and dedup.
      await recordUserEvent(a, {
        ID, Name: name, Payload: payload.length ? payload.toString('base64') : null, NodeFilter: filters.node, ServiceFilter: filters.service,
        TagFilter: filters.tag, Version: 1, LTime: ltime,
      });
      await this.serf.userEvent(name, payload, false);
      return { ID, LTime: ltime };
    };
    h.query = async (name, payload, o) => {
      const resp = await this.serf.query(name, payload, { filterNodes: o.nodes.length ? o.nodes : undefined, filterTags: o.tags, requestAck: o.ack, timeoutMs: o.timeoutMs || undefined });
      return resp.done;
    };
    this.serf.on('user', (ev: SerfUserEvent) => void this.#record(ev));
    this.serf.on('query', (q: QueryEvent) => {
      if (q.name.startsWith('_')) return;
      const st = a.view.node(a.config.nodeName);
      const body = q.name === 'services'
        ? JSON.stringify(st ? [...new Set([...st.services.values()].map(s => s.Service))].sort() : [])
        : `${a.config.nodeName}: roster agent ${VERSION} alive`;
      q.respond(Buffer.from(body.slice(0, 1000))).catch((err: Error) => log.debug('query response failed', { err: (err as Error).message }));
    });
    for (const ev of ['member-join', 'member-leave', 'member-failed', 'member-update'] as const) {
      this.serf.on(ev, (ms: Member[]) => {
        for (const m of ms) log.info(`member ${ev.slice(7)}`, { member: m.name, addr: `${m.addr}:${m.port}`, status: m.status });
        SERF_METRIC[ev].with('lan').inc(ms.length);
        this.#kick();
      });
    }
    this.#timers.push(setInterval(() => void this.#tick(), 1000));
    void this.#tick();
  }

  async #record(ev: SerfUserEvent): Promise<void> {
    const a = this.#agent;
    try {
      await recordUserEvent(a, {
        ID: eventId(ev.name, ev.ltime, ev.payload), Name: ev.name, Payload: ev.payload.length ? Buffer.from(ev.payload).toString('base64') : null,
        NodeFilter: '', ServiceFilter: '', TagFilter: '', Version: 1, LTime: ev.ltime,
      });
    } catch (err) {
      log.warn('cannot record user event', { event: ev.name, err: (err as Error).message });
    }
  }

  #retryJoin(addrs: string[], intervalMs: number): void {
    const attempt = async () => {
      try {
        const n = await this.serf.join(addrs);
        log.info('retry-join succeeded', { contacted: n });
      } catch (err) {
        log.warn('retry-join failed; will retry', { err: (err as Error).message, in: `${intervalMs}ms` });
        this.#timers.push(setTimeout(() => void attempt(), intervalMs));
      }
    };
    void attempt();
  }

  /** Renews (or takes) the reconciler lease; the holder reconciles. */
  async #tick(): Promise<void> {
    const a = this.#agent;
    if (a.redis.status !== 'ready' || this.#left) return;
    try {
      this.#holder = (await this.#acquire(a.config.nodeName, LEASE_MS)) === 1;
      if (this.#holder) this.#kick();
    } catch (err) {
      log.debug('lease renewal failed', { err: (err as Error).message });
    }
  }

  #kick(): void {
    if (!this.#holder) return;
    if (this.#reconciling) { this.#again = true; return; }
    this.#reconciling = (async () => {
      do {
        this.#again = false;
        await this.#reconcile().catch(err => log.warn('membership reconcile failed', { err: (err as Error).message }));
      } while (this.#again);
      this.#reconciling = null;
    })();
  }

  /** Membership → catalog, for members that are Roster/Consul agents of this datacenter and have a catalog node. */
  async #reconcile(): Promise<void> {
    const a = this.#agent;
    for (const m of this.serf.members()) {
      if (m.tags.role !== 'consul' && m.tags.role !== 'node') continue;
      if (m.tags.dc && m.tags.dc !== a.config.datacenter) continue;
      const st = a.view.node(m.name);
      if (!st) continue;
      const chk = st.checks.get('serfHealth');
      if (m.status === 'alive' && chk && chk.Status !== 'passing') {
        await a.store.updateCheck(m.name, 'serfHealth', 'passing', 'Agent alive and reachable');
      } else if (m.status === 'failed' && chk && chk.Status !== 'critical') {
        log.info('member failed; marking its node critical', { member: m.name });
        await a.store.updateCheck(m.name, 'serfHealth', 'critical', 'Agent not live or unreachable');
      } else if (m.status === 'left' && m.name !== a.config.nodeName) {
        log.info('member left; deregistering its node', { member: m.name });
        await a.store.deregister(m.name, 'node');
      }
    }
  }

  /** Graceful leave: peers see us `left`, and our node leaves the catalog. */
  async leave(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    const a = this.#agent;
    try {
      await this.serf.leave();
    } catch (err) {
      log.warn('gossip leave failed', { err: (err as Error).message });
    }
    // Anti-entropy would put the node straight back: a leaving agent stops syncing first.
    a.antiEntropy?.stop();
    if (a.redis.status === 'ready') {
      await a.store.deregister(a.config.nodeName, 'node').catch(err => log.warn('cannot deregister this node', { err: (err as Error).message }));
      log.info('left the cluster; node deregistered (its registrations are kept in the data dir)');
    }
  }

  /** Stops gossip: with leave, gracefully; without, peers will see this node fail. */
  async stop(leave: boolean): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    if (leave) await this.leave();
    const a = this.#agent;
    if (a.redis.status === 'ready') await this.#release(a.config.nodeName).catch(() => {});
    await this.serf.shutdown();
  }
}

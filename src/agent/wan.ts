/**
 * @module The WAN pool: a second Serf member, `<node>.<dc>`, on -serf-wan-port with memberlist's
 * WAN timing, joined by every agent that federates (-join-wan, -retry-join-wan, retry_join_wan,
 * PUT /v1/agent/join/:addr?wan=1). Its tags are a Consul server's plus where to reach this agent:
 * `roster_http` and `roster_dns` (host:port). It is the agent's DcDirectory: which datacenters
 * exist, which of their servers are alive, and how far they are (RTT of WAN probes).
 *
 * Same gossip code and keys as the LAN pool (src/gossip); a member that refused a connection is
 * held down for HOLD_DOWN_MS, so a datacenter whose agents died answers `No path` at once instead
 * of after the WAN pool's failure detector (about 30 s with WAN timing).
 */
import { Serf, type Member } from '../gossip/index.ts';
import { byDistance, type DcDirectory, type DcServer } from '../catalog/datacenters.ts';
import { agentMember, serverTags, type GossipHost } from './gossip.ts';
import { logger } from '../log.ts';

const log = logger('agent.wan');
const HOLD_DOWN_MS = 10_000;

export class WanPool implements DcDirectory {
  readonly serf: Serf;
  readonly local: string;
  #timers: NodeJS.Timeout[] = [];
  #down = new Map<string, number>();
  #listeners: (() => void)[] = [];
  #lastDcs = '';

  private constructor(serf: Serf, local: string) {
    this.serf = serf;
    this.local = local;
  }

  /** Starts the pool once the HTTP and DNS servers listen (their addresses are in the tags). */
  static async start(agent: Pick<GossipHost, 'config' | 'nodeId'>, http: string, dns: string): Promise<WanPool> {
    const c = agent.config;
    const serf = await Serf.create({
      nodeName: `${c.nodeName}.${c.datacenter}`, bindAddr: c.bindAddr, bindPort: c.ports.serfWan, advertiseAddr: c.advertiseAddr,
      tags: { ...serverTags(agent), roster_http: http, roster_dns: dns }, encryptKey: c.encrypt || undefined, profile: 'wan', ...c.gossipWan,
      logger: (level, msg, fields) => (level === 'error' ? log.error : level === 'warn' ? log.warn : log.debug)(msg, fields),
    });
    const w = new WanPool(serf, c.datacenter);
    for (const ev of ['member-join', 'member-leave', 'member-failed', 'member-reap'] as const) {
      serf.on(ev, (ms: Member[]) => {
        for (const m of ms) {
          log.info(`WAN member ${ev.slice(7)}`, { member: m.name, addr: `${m.addr}:${m.port}`, dc: m.tags.dc });
          if (ev === 'member-join') w.#down.delete(m.name);
        }
        const dcs = w.#dcSet();
        if (dcs !== w.#lastDcs) { w.#lastDcs = dcs; for (const fn of w.#listeners) fn(); }
      });
    }
    log.info('WAN gossip listening', { addr: `${c.bindAddr}:${serf.port}`, encrypted: serf.encryptionEnabled() });
    if (c.startJoinWan.length) {
      const n = await serf.join(c.startJoinWan).catch(async err => {
        await serf.shutdown(); // its sockets would keep a failed agent's process alive
        throw new Error(`failed to join WAN ${c.startJoinWan.join(', ')}: ${(err as Error).message}`);
      });
      log.info('joined WAN pool', { contacted: n });
    }
    if (c.retryJoinWan.length) w.#retryJoin(c.retryJoinWan, c.retryIntervalWanMs);
    return w;
  }

  #retryJoin(addrs: string[], intervalMs: number): void {
    const attempt = async (): Promise<void> => {
      try {
        log.info('retry-join-wan succeeded', { contacted: await this.serf.join(addrs) });
      } catch (err) {
        log.warn('retry-join-wan failed; will retry', { err: (err as Error).message, in: `${intervalMs}ms` });
        this.#timers.push(setTimeout(() => void attempt(), intervalMs));
      }
    };
    void attempt();
  }

  /** Every member not left, with its datacenter. */
  membersByDc(): { name: string; dc: string }[] {
    return this.serf.members().filter(m => m.status !== 'left' && m.tags.dc).map(m => ({ name: m.name, dc: m.tags.dc! }));
  }

  /** The pool in Consul's AgentMember shape (names are already `<node>.<dc>`; `roster_http`/`roster_dns` are where to forward). */
  members(): Record<string, unknown>[] {
    return this.serf.members().map(m => agentMember(m));
  }

  known(dc: string): boolean {
    return this.serf.members().some(m => m.tags.dc === dc && m.status !== 'left');
  }

  servers(dc: string): DcServer[] {
    if (dc === this.local) return [];
    const now = Date.now();
    const out: DcServer[] = [];
    for (const m of this.serf.members()) {
      if (m.tags.dc !== dc || m.status !== 'alive' || !m.tags.roster_http) continue;
      const until = this.#down.get(m.name);
      if (until !== undefined && until > now) continue;
      out.push({ name: m.name, dc, http: m.tags.roster_http, dns: m.tags.roster_dns ?? '', rttMs: this.serf.rttMs.get(m.name) });
    }
    return out.sort((a, b) => (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity) || (a.name < b.name ? -1 : 1));
  }

  datacenters(): string[] {
    const rtts = new Map<string, number[]>();
    for (const m of this.serf.members()) {
      const dc = m.tags.dc;
      if (!dc || dc === this.local || m.status === 'left') continue;
      const list = rtts.get(dc) ?? [];
      const r = m.status === 'alive' ? this.serf.rttMs.get(m.name) : undefined;
      if (r !== undefined) list.push(r);
      rtts.set(dc, list);
    }
    return byDistance(this.local, rtts);
  }

  /** Calls `fn` whenever a datacenter appears or disappears (the DNS server drops its answers then). */
  onDatacentersChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #dcSet(): string {
    return [...new Set(this.serf.members().filter(m => m.status !== 'left' && m.tags.dc).map(m => m.tags.dc!))].sort().join(',');
  }

  markDown(name: string): void {
    this.#down.set(name, Date.now() + HOLD_DOWN_MS);
  }

  async stop(leave: boolean): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    if (leave) await this.serf.leave().catch(err => log.warn('WAN leave failed', { err: (err as Error).message }));
    await this.serf.shutdown();
  }
}


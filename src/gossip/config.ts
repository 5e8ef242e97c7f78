/**
 * @module Configuration for the gossip library. Defaults are memberlist's `DefaultLANConfig` and
 * Serf's `DefaultConfig`; every knob can be overridden (tests use much shorter intervals).
 * All durations are milliseconds.
 */
import type { Transport } from './transport.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Structured log sink. */
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** memberlist timing and behaviour knobs (all optional in {@link GossipConfig}). */
export interface MemberlistTiming {
  /** Interval between failure-detector probes (LAN 1000). */
  probeIntervalMs: number;
  /** Wait for a direct ack before indirect probing (LAN 500). */
  probeTimeoutMs: number;
  /** Peers asked to ping-req a target (LAN 3). */
  indirectChecks: number;
  /** Suspicion timeout multiplier (LAN 4). */
  suspicionMult: number;
  /** Upper bound of the suspicion timeout as a multiple of the minimum (LAN 6). */
  suspicionMaxTimeoutMult: number;
  /** Broadcast retransmits = retransmitMult × ceil(log10(n+1)) (LAN 4). */
  retransmitMult: number;
  /** Gossip tick (LAN 200). */
  gossipIntervalMs: number;
  /** Peers gossiped to per tick (LAN 3). */
  gossipNodes: number;
  /** Keep gossiping to dead nodes for this long (LAN 30000). */
  gossipToTheDeadTimeMs: number;
  /** TCP anti-entropy interval, 0 disables (LAN 30000). */
  pushPullIntervalMs: number;
  /** Stream deadlines (LAN 10000). */
  tcpTimeoutMs: number;
  /** Lifeguard local-health max multiplier (LAN 8). */
  awarenessMaxMultiplier: number;
  /** Max UDP payload we build (1400). */
  udpBufferSize: number;
  /** LZW-compress outgoing messages when smaller (true). */
  enableCompression: boolean;
  /** Never fall back to TCP pings (false). */
  disableTcpPings: boolean;
  /** A dead node may be replaced at a new address after this long, 0 = never (0). */
  deadNodeReclaimTimeMs: number;
  /** Reject plaintext once a key is set (true). */
  gossipVerifyIncoming: boolean;
  /** Encrypt outgoing traffic once a key is set (true). */
  gossipVerifyOutgoing: boolean;
  /** Optional packet/stream label (newer memberlist; not understood by serf 0.9.4). */
  label: string;
  /** Accept unlabeled traffic even though a label is set (false). */
  skipInboundLabelCheck: boolean;
}

/** Serf-level knobs (all optional in {@link GossipConfig}). */
export interface SerfTiming {
  /** Keep trying to reconnect failed members this long before reaping (86400000 = 24 h). */
  reconnectTimeoutMs: number;
  /** Interval of reconnect attempts to failed members (30000). */
  reconnectIntervalMs: number;
  /** Keep left members this long before reaping (86400000 = 24 h). */
  tombstoneTimeoutMs: number;
  /** Reaper interval (15000). */
  reapIntervalMs: number;
  /** How long leave/tag broadcasts may take to go out (5000). */
  broadcastTimeoutMs: number;
  /** Time to stay up after a graceful leave so it propagates (1000). */
  leavePropagateDelayMs: number;
  /** Forget intents about unknown members after this long (300000). */
  recentIntentTimeoutMs: number;
  /** Query timeout = gossipInterval × mult × ceil(log10(n+1)) (16). */
  queryTimeoutMult: number;
  /** Event dedup ring (512). */
  eventBuffer: number;
  /** Query dedup ring (512). */
  queryBuffer: number;
  /** Max encoded query size (1024). */
  querySizeLimit: number;
  /** Max encoded query response size (1024). */
  queryResponseSizeLimit: number;
  /** Max name+payload of a user event (512). */
  userEventSizeLimit: number;
  /** Prune Serf broadcast queues above this depth (4096). */
  maxQueueDepth: number;
}

/** Public configuration of {@link Serf.create}. */
export interface GossipConfig extends Partial<MemberlistTiming>, Partial<SerfTiming> {
  /** Unique node name. */
  nodeName: string;
  /** Address to bind UDP and TCP on (e.g. "127.0.0.1"). */
  bindAddr: string;
  /** Port to bind (0 = any free port; see {@link Serf.localMember}). */
  bindPort: number;
  /** Address announced to peers (default: bindAddr, or 127.0.0.1 when binding 0.0.0.0). */
  advertiseAddr?: string;
  /** Port announced to peers (default: the bound port). */
  advertisePort?: number;
  /** Serf tags, carried in memberlist node meta. */
  tags?: Record<string, string>;
  /** Base64 gossip key (16/24/32 bytes), as `serf keygen` / `consul keygen`. Enables AES-GCM. */
  encryptKey?: string;
  /** Extra base64 keys accepted for decryption (key rotation). */
  extraKeys?: string[];
  /** Timing profile the overrides apply on top of (default "lan"). */
  profile?: 'lan' | 'wan' | 'local';
  /** Log sink (default: silent). */
  logger?: Logger;
  /** Alternative network (simulations). Default: UDP+TCP on bindAddr:bindPort. */
  transport?: Transport;
}

/** memberlist `DefaultLANConfig`. */
export const LAN_DEFAULTS: MemberlistTiming = {
  probeIntervalMs: 1000, probeTimeoutMs: 500, indirectChecks: 3, suspicionMult: 4, suspicionMaxTimeoutMult: 6,
  retransmitMult: 4, gossipIntervalMs: 200, gossipNodes: 3, gossipToTheDeadTimeMs: 30000, pushPullIntervalMs: 30000,
  tcpTimeoutMs: 10000, awarenessMaxMultiplier: 8, udpBufferSize: 1400, enableCompression: true, disableTcpPings: false,
  deadNodeReclaimTimeMs: 0, gossipVerifyIncoming: true, gossipVerifyOutgoing: true, label: '', skipInboundLabelCheck: false,
};

/** memberlist `DefaultWANConfig`. */
export const WAN_DEFAULTS: MemberlistTiming = {
  ...LAN_DEFAULTS, probeIntervalMs: 5000, probeTimeoutMs: 3000, suspicionMult: 6, pushPullIntervalMs: 60000,
  gossipIntervalMs: 500, gossipNodes: 4, tcpTimeoutMs: 30000, gossipToTheDeadTimeMs: 60000,
};

/** memberlist `DefaultLocalConfig`. */
export const LOCAL_DEFAULTS: MemberlistTiming = {
  ...LAN_DEFAULTS, probeTimeoutMs: 200, probeIntervalMs: 1000, suspicionMult: 3, indirectChecks: 1,
  gossipIntervalMs: 100, pushPullIntervalMs: 15000, tcpTimeoutMs: 1000, retransmitMult: 2, gossipToTheDeadTimeMs: 15000,
};

/** Serf `DefaultConfig`. */
export const SERF_DEFAULTS: SerfTiming = {
  reconnectTimeoutMs: 24 * 3600_000, reconnectIntervalMs: 30000, tombstoneTimeoutMs: 24 * 3600_000, reapIntervalMs: 15000,
  broadcastTimeoutMs: 5000, leavePropagateDelayMs: 1000, recentIntentTimeoutMs: 300_000, queryTimeoutMult: 16,
  eventBuffer: 512, queryBuffer: 512, querySizeLimit: 1024, queryResponseSizeLimit: 1024, userEventSizeLimit: 512,
  maxQueueDepth: 4096,
};

/** memberlist protocol versions we speak: min 1, max 5, current 2 (what Serf runs). */
export const PROTOCOL = { min: 1, max: 5, cur: 2 } as const;
/** Serf (delegate) protocol versions: min 2, max 5, current 5. */
export const DELEGATE_PROTOCOL = { min: 2, max: 5, cur: 5 } as const;
/** Max bytes of node meta (memberlist `MetaMaxSize`). */
export const META_MAX_SIZE = 512;

/** Fully resolved memberlist configuration. */
export interface MemberlistConfig extends MemberlistTiming {
  name: string;
  bindAddr: string;
  bindPort: number;
  advertiseAddr?: string;
  advertisePort?: number;
  logger: Logger;
}

/** Fully resolved configuration. */
export interface ResolvedConfig extends MemberlistConfig, SerfTiming {
  tags: Record<string, string>;
  encryptKey?: string;
  extraKeys: string[];
  transport?: Transport;
}

const silent: Logger = () => {};

/** Applies profile defaults and overrides; validates the basics. */
export function resolveConfig(cfg: GossipConfig): ResolvedConfig {
  if (!cfg.nodeName) throw new Error('gossip: nodeName is required');
  const base = cfg.profile === 'wan' ? WAN_DEFAULTS : cfg.profile === 'local' ? LOCAL_DEFAULTS : LAN_DEFAULTS;
  const pick = <T extends object>(defs: T): T => {
    const out = { ...defs } as Record<string, unknown>;
    for (const k of Object.keys(defs)) {
      const v = (cfg as unknown as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = v;
    }
    return out as T;
  };
  return {
    ...pick(base), ...pick(SERF_DEFAULTS),
    name: cfg.nodeName, bindAddr: cfg.bindAddr, bindPort: cfg.bindPort,
    advertiseAddr: cfg.advertiseAddr, advertisePort: cfg.advertisePort,
    tags: { ...(cfg.tags ?? {}) }, encryptKey: cfg.encryptKey, extraKeys: cfg.extraKeys ?? [],
    logger: cfg.logger ?? silent, transport: cfg.transport,
  };
}

/** @module Gossip library: memberlist + Serf, wire-compatible with HashiCorp Serf / Consul LAN gossip. */
export { Serf } from './serf.ts';
export type { SerfStats } from './serf.ts';
export { QueryResponse } from './serf-query.ts';
export type { QueryParams, QueryEvent, QueryResult, NodeResponse } from './serf-query.ts';
export type { Member, MemberStatus, UserEvent, SerfState } from './serf-core.ts';
export type { GossipConfig, Logger, LogLevel, MemberlistTiming, SerfTiming } from './config.ts';
export { LAN_DEFAULTS, WAN_DEFAULTS, LOCAL_DEFAULTS, SERF_DEFAULTS } from './config.ts';
export { Keyring, parseKey } from './keyring.ts';
export { NetTransport } from './transport.ts';
export type { Transport, TransportCounters } from './transport.ts';
export { MemNetwork, MemTransport } from './mem-transport.ts';

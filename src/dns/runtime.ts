/**
 * @module The DNS server's view of the Config, derived once per (re)load: absolute lower-case
 * domains, TTLs in seconds, the service TTL lookup (exact > longest `prefix*` > `*`), recursor
 * addresses with ports.
 */
import type { Config } from '../config/schema.ts';
import { fqdn, lowerName, parseIP } from './wire.ts';
import { wildcardLookup } from '../util/wildcard.ts';

export interface Recursor { host: string; port: number }

export interface DnsRuntime {
  /** Primary domain, lower-case, absolute: `consul.`. */
  domain: string;
  /** Alternative domain, lower-case, absolute, or null. */
  altDomain: string | null;
  /** Local datacenter, lower-case. */
  dc: string;
  /** Datacenter as configured (used in generated names). */
  dcName: string;
  nodeTtl: number;
  serviceTtl(service: string): number;
  /** dns_config.service_protection_threshold for a service (undefined = off). */
  protection(service: string): number | undefined;
  onlyPassing: boolean;
  enableTruncate: boolean;
  udpAnswerLimit: number;
  aRecordLimit: number;
  nodeMetaTxt: boolean;
  compress: boolean;
  soa: { refresh: number; retry: number; expire: number; minTtl: number };
  recursors: Recursor[];
  recursorRandom: boolean;
  recursorTimeoutMs: number;
  recursorMaxInFlight: number;
  /** Other datacenters' answers: kept this long, then served stale (allowStale) up to maxStaleMs while the datacenter does not answer. */
  dcCacheTtlMs: number;
  allowStale: boolean;
  maxStaleMs: number;
  /** ACLs: what the DNS token may read (null = ACLs off). Unreadable services and nodes are NXDOMAIN. */
  acl: DnsAcl | null;
}

/** The part of an ACL Authorizer DNS uses (src/acl/authorizer.ts). */
export interface DnsAcl {
  allow(res: 'service' | 'node', name: string, level: 'read'): boolean;
}

/** Parses a recursor like Consul's recursorAddr: `8.8.8.8` → :53, `[::1]:5353`, bare IPv6 → :53. */
export function parseRecursor(s: string): Recursor {
  const t = s.trim();
  const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (m6) {
    if (!parseIP(m6[1]!)) throw new Error(`Invalid recursor address: ${s}`);
    return { host: m6[1]!, port: m6[2] ? Number(m6[2]) : 53 };
  }
  if (parseIP(t)) return { host: t, port: 53 };
  const m = /^([^:]+):(\d+)$/.exec(t);
  if (m && parseIP(m[1]!)) {
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw new Error(`Invalid recursor address: ${s}`);
    return { host: m[1]!, port };
  }
  throw new Error(`Invalid recursor address: ${s}`);
}

/** Builds the service TTL lookup of Consul's GetTTLForService. */
export function serviceTtlLookup(map: Record<string, number>): (svc: string) => number {
  const exact = new Map<string, number>(); const prefixes: [string, number][] = [];
  for (const [k, ms] of Object.entries(map)) {
    const secs = Math.floor(ms / 1000);
    if (k.endsWith('*')) prefixes.push([k.slice(0, -1), secs]); else exact.set(k, secs);
  }
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return (svc: string): number => {
    const e = exact.get(svc);
    if (e !== undefined) return e;
    for (const [p, v] of prefixes) if (svc.startsWith(p)) return v;
    return 0;
  };
}

export function runtimeFrom(cfg: Config): DnsRuntime {
  const d = cfg.dns;
  const alt = cfg.altDomain ? lowerName(fqdn(cfg.altDomain)) : null;
  return {
    acl: null,
    domain: lowerName(fqdn(cfg.domain || 'consul')),
    altDomain: alt === '.' ? null : alt,
    dc: cfg.datacenter.toLowerCase(),
    dcName: cfg.datacenter,
    nodeTtl: Math.floor(d.nodeTtlMs / 1000),
    serviceTtl: serviceTtlLookup(d.serviceTtlMs),
    protection: wildcardLookup(d.serviceProtectionThreshold ?? {}),
    onlyPassing: d.onlyPassing,
    enableTruncate: d.enableTruncate,
    udpAnswerLimit: d.udpAnswerLimit,
    aRecordLimit: d.aRecordLimit,
    nodeMetaTxt: d.enableAdditionalNodeMetaTxt,
    compress: !d.disableCompression,
    soa: { ...d.soa },
    recursors: cfg.recursors.map(parseRecursor),
    recursorRandom: d.recursorStrategy === 'random',
    recursorTimeoutMs: d.recursorTimeoutMs,
    recursorMaxInFlight: d.recursorMaxInFlight,
    dcCacheTtlMs: d.dcCacheTtlMs,
    allowStale: d.allowStale,
    maxStaleMs: d.maxStaleMs,
  };
}

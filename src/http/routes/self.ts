/** @module GET /v1/agent/self: every top-level value is an object (Go clients decode into maps). */
import type { Router } from '../server.ts';
import type { ApiDeps } from '../context.ts';
import { VERSION } from '../../version.ts';

/** Stats.eureka: the self-preservation mode and its arithmetic (Consul's Stats values are strings). */
function eurekaStats(deps: ApiDeps): Record<string, Record<string, string>> {
  const e = deps.hooks.eureka?.();
  if (!e) return {};
  return { eureka: { self_preservation: String(e.selfPreservation), leases: String(e.leases), renews_threshold: String(e.renewsThreshold), renews_last_min: String(e.renewsLastMin), evicted: String(e.evicted), scope: deps.config.eureka.selfPreservationScope } };
}

export function selfRoutes(r: Router, deps: ApiDeps): void {
  r.add(['GET'], '/v1/agent/self', () => {
    const c = deps.config;
    const members = deps.hooks.members?.(false) as Record<string, unknown>[] | undefined;
    const me = members?.find(m => m.Name === deps.nodeName) ?? { Name: deps.nodeName, Addr: c.advertiseAddr, Port: c.ports.serfLan, Tags: {}, Status: 1 };
    return {
      body: {
        Config: {
          Datacenter: c.datacenter, PrimaryDatacenter: c.datacenter, NodeName: deps.nodeName, NodeID: deps.nodeId, Revision: 'roster', Server: true,
          Version: VERSION, BuildDate: '2026-11-24T00:00:00Z', BindAddr: c.bindAddr, SessionTTLMin: 10_000_000_000,
        },
        DebugConfig: debugConfig(deps),
        Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 },
        Member: me,
        Stats: { agent: { check_monitors: '0', check_ttls: '0', checks: '0', services: '0' }, ...eurekaStats(deps) },
        Meta: { ...c.nodeMeta, 'consul-network-segment': '', 'consul-version': VERSION },
        xDS: null,
      },
    };
  });
}

/**
 * The DebugConfig fields clients read (Consul's sanitized RuntimeConfig: addresses as `tcp://ip:port`
 * strings). The Go client's and SDK's join helpers read SerfAdvertiseAddrLAN and panic without it.
 */
function debugConfig(deps: ApiDeps): Record<string, unknown> {
  const c = deps.config;
  const tcp = (host: string, port: number) => `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const serf = tcp(c.advertiseAddr, c.ports.serfLan);
  const https = c.ports.https ?? -1;
  return {
    Datacenter: c.datacenter, PrimaryDatacenter: c.datacenter, NodeName: deps.nodeName, NodeID: deps.nodeId, NodeMeta: { ...c.nodeMeta },
    ServerMode: true, Bootstrap: false, BindAddr: c.bindAddr, ClientAddrs: [c.clientAddr], AdvertiseAddrLAN: c.advertiseAddr, AdvertiseAddrWAN: c.advertiseAddr,
    SerfAdvertiseAddrLAN: serf, SerfAdvertiseAddrWAN: serf, SerfBindAddrLAN: tcp(c.bindAddr, c.ports.serfLan), SerfPortLAN: c.ports.serfLan, SerfPortWAN: -1,
    RPCAdvertiseAddr: tcp(c.advertiseAddr, c.ports.server), ServerPort: c.ports.server,
    HTTPAddrs: c.ports.http >= 0 ? [tcp(c.clientAddr, c.ports.http)] : [], HTTPPort: c.ports.http,
    HTTPSAddrs: https > 0 ? [tcp(c.clientAddr, https)] : [], HTTPSPort: https,
    DNSAddrs: [tcp(c.clientAddr, c.ports.dns), `udp://${c.clientAddr}:${c.ports.dns}`], DNSPort: c.ports.dns,
    DNSDomain: `${c.domain}.`, DNSAltDomain: c.altDomain ? `${c.altDomain}.` : '', DNSRecursors: c.recursors,
    DataDir: c.dataDir, LogLevel: c.logLevel.toUpperCase(), EnableScriptChecks: c.enableScriptChecks, EnableLocalScriptChecks: c.enableLocalScriptChecks,
    RetryJoinLAN: c.retryJoin, StartJoinAddrsLAN: c.startJoin, ACLsEnabled: false, EnableDebug: false, EnableUI: false,
    Revision: 'roster', Version: VERSION, VersionPrerelease: '', SessionTTLMin: '10s',
  };
}

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
        DebugConfig: { Datacenter: c.datacenter, DNSDomain: `${c.domain}.`, DNSAltDomain: c.altDomain ? `${c.altDomain}.` : '', ClientAddrs: [c.clientAddr], HTTPPort: c.ports.http, DNSPort: c.ports.dns, SerfPortLAN: c.ports.serfLan },
        Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 },
        Member: me,
        Stats: { agent: { check_monitors: '0', check_ttls: '0', checks: '0', services: '0' }, ...eurekaStats(deps) },
        Meta: { 'consul-network-segment': '', 'consul-version': VERSION },
        xDS: null,
      },
    };
  });
}

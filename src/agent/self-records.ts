/**
 * @module What this agent writes about itself: its node, its serfHealth check and (optionally) the
 * built-in `consul` service, and whether the catalog still holds them as written (anti-entropy).
 */
import type { Config } from '../config/schema.ts';
import { DEFAULT_WEIGHTS, type NodeState } from '../catalog/model.ts';
import type { RegisterRequest } from '../store/catalog-store.ts';
import { VERSION } from '../version.ts';

/** This agent's node, its serfHealth check and (optionally) the built-in `consul` service. */
export function selfRecords(cfg: Config, nodeId: string): RegisterRequest {
  const a = cfg.advertiseAddr;
  const node = {
    ID: nodeId, Node: cfg.nodeName, Address: a, Datacenter: cfg.datacenter,
    TaggedAddresses: { lan: a, lan_ipv4: a, wan: a, wan_ipv4: a }, Meta: { ...cfg.nodeMeta, 'consul-network-segment': '', 'consul-version': VERSION },
  };
  const services = cfg.registerConsulService
    ? [{ ID: 'consul', Service: 'consul', Tags: [], Address: '', Meta: { raft_version: '3', serf_protocol_current: '2', serf_protocol_max: '5', serf_protocol_min: '1', version: VERSION }, Port: cfg.ports.server, Weights: { ...DEFAULT_WEIGHTS }, EnableTagOverride: false }]
    : [];
  const checks = [{
    check: { Node: cfg.nodeName, CheckID: 'serfHealth', Name: 'Serf Health Status', Notes: '', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', Interval: '', Timeout: '', ExposedPort: 0, Definition: {} },
    status: 'passing' as const, output: 'Agent alive and reachable', keep: false, ttlMs: 0,
  }];
  return { nodeName: cfg.nodeName, node, services, checks };
}

/** Whether the catalog holds this node as registerSelf writes it (node record, serfHealth, `consul`). */
export function selfInSync(st: NodeState, cfg: Config, nodeId: string): boolean {
  const want = selfRecords(cfg, nodeId);
  const n = want.node!;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return st.node.ID === n.ID && st.node.Address === n.Address && st.node.Datacenter === n.Datacenter
    && same(st.node.TaggedAddresses, n.TaggedAddresses) && same(st.node.Meta, n.Meta)
    && st.checks.has('serfHealth') && want.services.every(s => st.services.has(s.ID));
}

/**
 * @module Catalog records → Consul's JSON wire shapes, in Consul's field order (CE: no
 * Namespace/Partition). Nothing else in Roster emits these shapes.
 */
import type { CheckRec, NodeRec, ServiceRec } from '../catalog/model.ts';

const PROXY = () => ({ Mode: '', MeshGateway: {}, Expose: {} });

/** Consul fills `lan_ipv4`/`wan_ipv4` (or `_ipv6`) tagged addresses for a service with an IP address. */
function serviceTaggedAddresses(s: ServiceRec): Record<string, { Address: string; Port: number }> | undefined {
  const ta = { ...(s.TaggedAddresses ?? {}) };
  if (s.Address && isIP(s.Address)) {
    const fam = s.Address.includes(':') ? 'ipv6' : 'ipv4';
    ta[`lan_${fam}`] ??= { Address: s.Address, Port: s.Port };
    ta[`wan_${fam}`] ??= { Address: s.Address, Port: s.Port };
  }
  return Object.keys(ta).length ? ta : undefined;
}

function isIP(a: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(a) || (a.includes(':') && /^[0-9a-fA-F:.]+$/.test(a));
}

/** /v1/catalog/nodes, /v1/catalog/node/:n .Node, health entries' Node. */
export function wireNode(n: NodeRec): Record<string, unknown> {
  return { ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta, CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex };
}

/** NodeService: health entries' Service and /v1/catalog/node/:n .Services values. */
export function wireNodeService(s: ServiceRec): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (s.Kind) o.Kind = s.Kind;
  Object.assign(o, { ID: s.ID, Service: s.Service, Tags: s.Tags ?? [], Address: s.Address });
  const ta = serviceTaggedAddresses(s);
  if (ta) o.TaggedAddresses = ta;
  Object.assign(o, { Meta: s.Meta ?? {}, Port: s.Port });
  if (s.SocketPath) o.SocketPath = s.SocketPath;
  Object.assign(o, { Weights: s.Weights, EnableTagOverride: s.EnableTagOverride, Proxy: PROXY(), Connect: {}, PeerName: '' });
  if (s.Locality) o.Locality = s.Locality;
  Object.assign(o, { CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex });
  return o;
}

/** ServiceNode: /v1/catalog/service/:s entries. */
export function wireServiceNode(n: NodeRec, s: ServiceRec): Record<string, unknown> {
  const o: Record<string, unknown> = {
    ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, NodeMeta: n.Meta,
    ServiceKind: s.Kind ?? '', ServiceID: s.ID, ServiceName: s.Service, ServiceTags: s.Tags ?? [], ServiceAddress: s.Address,
  };
  const ta = serviceTaggedAddresses(s);
  if (ta) o.ServiceTaggedAddresses = ta;
  Object.assign(o, {
    ServiceWeights: s.Weights, ServiceMeta: s.Meta ?? {}, ServicePort: s.Port, ServiceSocketPath: s.SocketPath ?? '', ServiceEnableTagOverride: s.EnableTagOverride,
    ServiceProxy: PROXY(), ServiceConnect: {}, ServicePeerName: '',
  });
  if (s.Locality) o.ServiceLocality = s.Locality;
  Object.assign(o, { CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex });
  return o;
}

/** AgentService: /v1/agent/services values and /v1/agent/service/:id. */
export function wireAgentService(s: ServiceRec, dc: string): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (s.Kind) o.Kind = s.Kind;
  Object.assign(o, { ID: s.ID, Service: s.Service, Tags: s.Tags ?? [], Meta: s.Meta ?? {}, Port: s.Port, Address: s.Address });
  if (s.SocketPath) o.SocketPath = s.SocketPath;
  const ta = serviceTaggedAddresses(s);
  if (ta) o.TaggedAddresses = ta;
  Object.assign(o, { Weights: s.Weights, EnableTagOverride: s.EnableTagOverride });
  if (s.Locality) o.Locality = s.Locality;
  o.Datacenter = dc;
  return o;
}

/** HealthCheck, in every endpoint that lists checks. */
export function wireCheck(c: CheckRec): Record<string, unknown> {
  const o: Record<string, unknown> = {
    Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes, Output: c.Output, ServiceID: c.ServiceID,
    ServiceName: c.ServiceName, ServiceTags: c.ServiceTags ?? [], Type: c.Type, Interval: c.Interval, Timeout: c.Timeout, ExposedPort: c.ExposedPort ?? 0,
  };
  const d = wireDefinition(c);
  o.Definition = d;
  o.CreateIndex = c.CreateIndex;
  o.ModifyIndex = c.ModifyIndex;
  return o;
}

function wireDefinition(c: CheckRec): Record<string, unknown> {
  const d = c.Definition ?? {};
  const o: Record<string, unknown> = {};
  if (d.HTTP) o.HTTP = d.HTTP;
  if (d.Header && Object.keys(d.Header).length) o.Header = d.Header;
  if (d.Method) o.Method = d.Method;
  if (d.Body) o.Body = d.Body;
  if (d.TLSServerName) o.TLSServerName = d.TLSServerName;
  if (d.TLSSkipVerify) o.TLSSkipVerify = d.TLSSkipVerify;
  if (d.TCP) o.TCP = d.TCP;
  if (d.UDP) o.UDP = d.UDP;
  if (d.Interval && c.Type !== 'ttl') o.Interval = d.Interval;
  if (d.Timeout) o.Timeout = d.Timeout;
  if (d.DeregisterCriticalServiceAfter) o.DeregisterCriticalServiceAfter = d.DeregisterCriticalServiceAfter;
  return o;
}

/**
 * @module Encoding of catalog records as Redis hash values (the format the Lua scripts compare).
 *
 * Nodes and services: `C\nM\n<body>`; checks: `C\nM\n<status>\n<output JSON>\n<body>`. The body is
 * JSON with a fixed key order (the record's own, minus the split-out fields), so that an
 * identical re-registration produces an identical string and is detected as a no-op.
 */
import type { CheckRec, HealthStatus, NodeRec, ServiceRec } from '../catalog/model.ts';

/** Body of a node record: everything but the indexes. */
export function nodeBody(n: Omit<NodeRec, 'CreateIndex' | 'ModifyIndex'>): string {
  return JSON.stringify({ ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta });
}

export function serviceBody(s: Omit<ServiceRec, 'CreateIndex' | 'ModifyIndex'>): string {
  const o: Record<string, unknown> = {};
  if (s.Kind) o.Kind = s.Kind;
  Object.assign(o, { ID: s.ID, Service: s.Service, Tags: s.Tags, Address: s.Address });
  if (s.TaggedAddresses && Object.keys(s.TaggedAddresses).length) o.TaggedAddresses = s.TaggedAddresses;
  Object.assign(o, { Meta: s.Meta, Port: s.Port });
  if (s.SocketPath) o.SocketPath = s.SocketPath;
  if (s.Locality && (s.Locality.Region || s.Locality.Zone)) o.Locality = s.Locality;
  Object.assign(o, { Weights: s.Weights, EnableTagOverride: s.EnableTagOverride });
  return JSON.stringify(o);
}

export type CheckBody = Omit<CheckRec, 'CreateIndex' | 'ModifyIndex' | 'Status' | 'Output'>;

export function checkBody(c: CheckBody): string {
  return JSON.stringify({
    Node: c.Node, CheckID: c.CheckID, Name: c.Name, Notes: c.Notes, ServiceID: c.ServiceID, ServiceName: c.ServiceName,
    ServiceTags: c.ServiceTags, Type: c.Type, Interval: c.Interval, Timeout: c.Timeout, ExposedPort: c.ExposedPort, Definition: c.Definition,
  });
}

function split(v: string, n: number): string[] {
  const out: string[] = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const nl = v.indexOf('\n', pos);
    if (nl < 0) throw new Error('corrupt catalog record');
    out.push(v.slice(pos, nl));
    pos = nl + 1;
  }
  out.push(v.slice(pos));
  return out;
}

export function decodeNode(v: string): NodeRec {
  const [c, m, body] = split(v, 2);
  const b = JSON.parse(body!);
  return { ID: b.ID, Node: b.Node, Address: b.Address, Datacenter: b.Datacenter, TaggedAddresses: b.TaggedAddresses ?? {}, Meta: b.Meta ?? {}, CreateIndex: Number(c), ModifyIndex: Number(m) };
}

export function decodeService(v: string): ServiceRec {
  const [c, m, body] = split(v, 2);
  const b = JSON.parse(body!) as ServiceRec;
  b.CreateIndex = Number(c);
  b.ModifyIndex = Number(m);
  return b;
}

export function decodeCheck(v: string): CheckRec {
  const [c, m, st, out, body] = split(v, 4);
  const b = JSON.parse(body!);
  return {
    Node: b.Node, CheckID: b.CheckID, Name: b.Name, Status: st as HealthStatus, Notes: b.Notes, Output: JSON.parse(out!) as string,
    ServiceID: b.ServiceID, ServiceName: b.ServiceName, ServiceTags: b.ServiceTags ?? [], Type: b.Type, Interval: b.Interval, Timeout: b.Timeout,
    ExposedPort: b.ExposedPort ?? 0, Definition: b.Definition ?? {}, CreateIndex: Number(c), ModifyIndex: Number(m),
  };
}

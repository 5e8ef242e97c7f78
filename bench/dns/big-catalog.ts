/**
 * The "big service" catalog of issue 19: `total` instances in all, one service `big` with `big`
 * instances on as many nodes, the rest spread over smaller services (5 instances each, 10 per
 * node). Every node carries the meta an agent registers (so SRV answers carry node-meta TXT in
 * their additional section), every instance one passing service check. Deterministic.
 */
import type { CheckRec, NodeState, ServiceRec } from '../../src/catalog/model.ts';

export interface BigCatalog { states: Map<string, NodeState>; big: { node: string; id: string }[] }

export function check(node: string, sid: string, sname: string, status: CheckRec['Status']): CheckRec {
  return { Node: node, CheckID: `check-${sid}`, Name: 'bench', Status: status, Notes: '', Output: '', ServiceID: sid, ServiceName: sname, ServiceTags: [], Type: 'ttl', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 1, ModifyIndex: 1 };
}

function nodeState(i: number): NodeState {
  const name = `node-${String(i).padStart(5, '0')}`;
  const ip = `10.${(i >> 16) + 1}.${(i >> 8) & 255}.${i & 255}`;
  return { node: { ID: '', Node: name, Address: ip, Datacenter: 'dc1', TaggedAddresses: { lan: ip, lan_ipv4: ip }, Meta: { 'consul-network-segment': '', 'consul-version': '1.21.0' }, CreateIndex: 1, ModifyIndex: 1 }, services: new Map(), checks: new Map() };
}

function add(st: NodeState, id: string, name: string, port: number): void {
  const svc: ServiceRec = { ID: id, Service: name, Tags: ['v1'], Address: '', Meta: {}, Port: port, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: 1, ModifyIndex: 1 };
  st.services.set(id, svc);
  const c = check(st.node.Node, id, name, 'passing');
  st.checks.set(c.CheckID, c);
}

export function bigCatalog(bigInstances = 1000, total = 50_000): BigCatalog {
  const states = new Map<string, NodeState>();
  const big: BigCatalog['big'] = [];
  let n = 0;
  for (let i = 0; i < bigInstances; i++) {
    const st = nodeState(n++); states.set(st.node.Node, st);
    const id = `big-${i}`;
    add(st, id, 'big', 20000 + (i % 10000));
    big.push({ node: st.node.Node, id });
  }
  let rest = total - bigInstances; let svc = 0; let st: NodeState | null = null;
  while (rest > 0) {
    for (let k = 0; k < 5 && rest > 0; k++, rest--) {
      if (!st || st.services.size >= 10) { st = nodeState(n++); states.set(st.node.Node, st); }
      add(st, `svc${svc}-${k}`, `svc${svc}`, 21000 + k);
    }
    svc++;
  }
  return { states, big };
}

/**
 * @module /v1/internal/ui/{services,nodes,node/:node}: the summaries Consul's web UI reads (and Roster's
 * own UI, ui/), blocking on the catalog like the catalog reads. Shapes per agent/ui_endpoint.go:
 * ServiceListingSummary and NodeInfo.
 */
import { HttpError, type Router } from '../server.ts';
import { sharedBlocking } from '../blocking.ts';
import { metaHeaders, readMode, renderedReply, type ApiDeps } from '../context.ts';
import { wireCheck, wireNodeService } from '../../consul/convert.ts';
import type { NodeState } from '../../catalog/model.ts';
import { sortedNodes } from './catalog.ts';

const byStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One ServiceListingSummary per service name, sorted by name; check counts over distinct (node, CheckID), node checks included. */
export function serviceSummaries(deps: ApiDeps): Record<string, unknown>[] {
  const v = deps.view;
  const out: Record<string, unknown>[] = [];
  for (const lname of v.serviceNames()) {
    const insts = v.instances(lname);
    if (insts.length === 0) continue;
    const tags = new Set<string>();
    const sources = new Set<string>();
    const nodes: string[] = [];
    const seen = new Set<string>();
    let passing = 0, warning = 0, critical = 0;
    let kind: string | undefined;
    for (const i of insts) {
      for (const t of i.service.Tags ?? []) tags.add(t);
      const src = i.service.Meta?.['external-source'];
      if (src) sources.add(src);
      nodes.push(i.node.Node);
      kind ??= i.service.Kind;
      for (const c of i.checks) {
        const k = `${i.node.Node}\u0000${c.CheckID}`;
        if (seen.has(k)) continue;
        seen.add(k);
        if (c.Status === 'passing') passing++;
        else if (c.Status === 'warning') warning++;
        else if (c.Status === 'critical') critical++;
      }
    }
    const s: Record<string, unknown> = {};
    if (kind) s.Kind = kind;
    Object.assign(s, {
      Name: insts[0]!.service.Service, Datacenter: deps.config.datacenter,
      Tags: tags.size ? [...tags].sort(byStr) : null, Nodes: nodes.sort(byStr),
      ExternalSources: sources.size ? [...sources].sort(byStr) : null, InstanceCount: insts.length,
      ChecksPassing: passing, ChecksWarning: warning, ChecksCritical: critical, GatewayConfig: {},
      TransparentProxy: false, ConnectNative: false, ConnectedWithProxy: false, ConnectedWithGateway: false,
    });
    out.push(s);
  }
  return out.sort((a, b) => byStr(a.Name as string, b.Name as string));
}

/** NodeInfo: the node's fields, its services and checks (arrays, never null). */
export function nodeInfo(st: NodeState): Record<string, unknown> {
  const n = st.node;
  return {
    ID: n.ID, Node: n.Node, Address: n.Address, TaggedAddresses: n.TaggedAddresses ?? {}, Meta: n.Meta ?? {},
    Services: [...st.services.values()].sort((a, b) => byStr(a.ID, b.ID)).map(wireNodeService),
    Checks: [...st.checks.values()].sort((a, b) => byStr(a.CheckID, b.CheckID)).map(wireCheck),
  };
}

export function uiInternalRoutes(r: Router, deps: ApiDeps): void {
  const v = deps.view;
  const topics = ['table:nodes', 'table:services', 'table:checks'];
  const index = () => Math.max(v.tableIndex.nodes ?? 0, v.tableIndex.services ?? 0, v.tableIndex.checks ?? 0);

  r.add(['GET'], '/v1/internal/ui/services', async ctx => {
    const mode = await readMode(ctx, deps);
    const res = await sharedBlocking(ctx, deps.notifier, { topics, index, render: () => serviceSummaries(deps) });
    return renderedReply(res, mode, v.freshness());
  });

  r.add(['GET'], '/v1/internal/ui/nodes', async ctx => {
    const mode = await readMode(ctx, deps);
    const res = await sharedBlocking(ctx, deps.notifier, { topics, index, render: () => sortedNodes(deps).map(nodeInfo) });
    return renderedReply(res, mode, v.freshness());
  });

  r.add(['GET'], '/v1/internal/ui/node/', async ctx => {
    if (!ctx.param) throw new HttpError(400, 'Missing node name');
    const mode = await readMode(ctx, deps);
    const name = ctx.param;
    const res = await sharedBlocking(ctx, deps.notifier, {
      topics: [`node:${name.toLowerCase()}`, 'table:nodes'], index,
      render: () => { const st = v.node(name); return st ? nodeInfo(st) : null; },
    });
    // Consul: an unknown node is a 404 with an empty body.
    if (!v.node(name)) return { status: 404, body: '', headers: metaHeaders(res.index, mode, v.freshness()) };
    return renderedReply(res, mode, v.freshness());
  });
}

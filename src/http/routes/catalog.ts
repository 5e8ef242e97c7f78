/** @module /v1/catalog/*, read from the in-memory view with Consul's indexes and ordering. */
import type { Router } from '../server.ts';
import { blocking, sharedBlocking, topicList } from '../blocking.ts';
import { checkDc, metaHeaders, readMode, renderedReply, type ApiDeps } from '../context.ts';
import { wireNode, wireNodeService, wireServiceNode } from '../../consul/convert.ts';
import type { Instance, NodeState } from '../../catalog/model.ts';
import { applyFilter, applyFilterMap, requestFilter } from './filter-hook.ts';

/** ?node-meta=k:v (repeatable): every pair must match the node's Meta. */
export function nodeMetaFilter(q: URLSearchParams): (st: { node: { Meta: Record<string, string> } }) => boolean {
  const pairs = q.getAll('node-meta').map(p => {
    const i = p.indexOf(':');
    return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
  });
  return st => pairs.every(([k, v]) => st.node.Meta?.[k!] === v);
}

/** Instances of a service, tag-filtered (case-insensitive, every ?tag must match). */
export function serviceInstances(deps: ApiDeps, name: string, q: URLSearchParams): Instance[] {
  const tags = q.getAll('tag').map(t => t.toLowerCase());
  const meta = nodeMetaFilter(q);
  return deps.view.instances(name).filter(i => tags.every(t => i.service.Tags.some(x => x.toLowerCase() === t)) && meta(i));
}

export function sortedNodes(deps: ApiDeps): NodeState[] {
  return [...deps.view.nodes()].sort((a, b) => (a.node.Node < b.node.Node ? -1 : a.node.Node > b.node.Node ? 1 : 0));
}

export function catalogRoutes(r: Router, deps: ApiDeps): void {
  const v = deps.view;
  r.add(['GET'], '/v1/catalog/datacenters', ctx => {
    checkDc(ctx, deps);
    return { body: deps.hooks.dcs?.datacenters() ?? [deps.config.datacenter] };
  });

  r.add(['GET'], '/v1/catalog/services', async ctx => {
    const mode = await readMode(ctx, deps);
    const meta = nodeMetaFilter(ctx.query);
    const filter = requestFilter(ctx);
    const res = await sharedBlocking(ctx, deps.notifier, { topics: ['table:services', 'table:nodes'], index: () => Math.max(v.tableIndex.services ?? 0, v.tableIndex.nodes ?? 0), render: () => {
      const out: Record<string, string[]> = {};
      const names: [string, Set<string>][] = [];
      const byName = new Map<string, Set<string>>();
      for (const st of v.nodes()) {
        if (!meta(st)) continue;
        for (const s of st.services.values()) {
          if (filter && !filter(wireServiceNode(st.node, s))) continue;
          let set = byName.get(s.Service);
          if (!set) { set = new Set(); byName.set(s.Service, set); names.push([s.Service, set]); }
          for (const t of s.Tags) set.add(t);
        }
      }
      names.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      for (const [n, set] of names) out[n] = [...set];
      return out;
    } });
    return renderedReply(res, mode, v.freshness(), ctx.has('cached'));
  });

  r.add(['GET'], '/v1/catalog/service/', async ctx => {
    const mode = await readMode(ctx, deps);
    const name = ctx.param;
    const res = await sharedBlocking(ctx, deps.notifier, {
      topics: topicList(`svc:${name.toLowerCase()}`),
      index: () => v.serviceIndex.get(name.toLowerCase()) ?? Math.max(v.tableIndex.services ?? 0, v.tableIndex.nodes ?? 0),
      render: () => applyFilter(ctx, serviceInstances(deps, name, ctx.query).map(i => wireServiceNode(i.node, i.service))),
    });
    return renderedReply(res, mode, v.freshness(), ctx.has('cached'));
  });

  // Consul's CatalogNodeServiceList: the node and its services as a list ({Node: null, Services: []} for an unknown node).
  r.add(['GET'], '/v1/catalog/node-services/', async ctx => {
    const mode = await readMode(ctx, deps);
    const res = await blocking(ctx, deps.notifier, { topics: [`node:${ctx.param.toLowerCase()}`, 'table:nodes'] }, () => {
      const st = v.node(ctx.param);
      const services = st ? applyFilter(ctx, [...st.services.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1)).map(s => wireNodeService(s))) : [];
      return { index: Math.max(v.tableIndex.nodes ?? 0, v.tableIndex.services ?? 0), data: { Node: st ? wireNode(st.node) : null, Services: services } };
    });
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });

  r.add(['GET'], '/v1/catalog/nodes', async ctx => {
    const mode = await readMode(ctx, deps);
    const meta = nodeMetaFilter(ctx.query);
    const res = await sharedBlocking(ctx, deps.notifier, {
      topics: ['table:nodes', 'table:services'],
      index: () => Math.max(v.tableIndex.nodes ?? 0, v.tableIndex.services ?? 0),
      render: () => applyFilter(ctx, sortedNodes(deps).filter(meta).map(st => wireNode(st.node))),
    });
    return renderedReply(res, mode, v.freshness());
  });

  r.add(['GET'], '/v1/catalog/node/', async ctx => {
    const mode = await readMode(ctx, deps);
    const res = await blocking(ctx, deps.notifier, { topics: [`node:${ctx.param.toLowerCase()}`, 'table:nodes'] }, () => {
      const st = v.node(ctx.param);
      const data = st ? { Node: wireNode(st.node), Services: applyFilterMap(ctx, Object.fromEntries([...st.services.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1)).map(s => [s.ID, wireNodeService(s)]))) } : null;
      return { index: Math.max(v.tableIndex.nodes ?? 0, v.tableIndex.services ?? 0), data };
    });
    return { body: res.data, headers: metaHeaders(res.index, mode, v.freshness()) };
  });
}

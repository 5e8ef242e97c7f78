/** @module `roster catalog services|nodes|datacenters`, with Consul's output. */
import { HelpRequested } from './flags.ts';
import { columns, fail, parseApiFlags } from './http.ts';

const USAGE = 'Usage: roster catalog <subcommand> [options]\n\nSubcommands:\n    datacenters    Lists all known datacenters\n    nodes          Lists all nodes in the given datacenter\n    services       Lists all registered services in a datacenter\n';

export async function catalogCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'datacenters': {
        const { api } = parseApiFlags(rest, {});
        const { data } = await api.json<string[]>('GET', '/v1/catalog/datacenters');
        process.stdout.write(data.join('\n') + '\n');
        return 0;
      }
      case 'nodes': {
        const { flags, api } = parseApiFlags(rest, { detailed: 'bool', 'node-meta': 'list', service: 'string', near: 'string', filter: 'string', format: 'string' });
        const q: Record<string, string | undefined> = { filter: flags.filter as string | undefined, near: flags.near as string | undefined };
        let nodes: { ID: string; Node: string; Address: string; Datacenter: string; TaggedAddresses: Record<string, string>; Meta: Record<string, string> }[];
        if (flags.service) {
          const { data } = await api.json<{ ID: string; Node: string; Address: string; Datacenter: string; TaggedAddresses: Record<string, string>; NodeMeta: Record<string, string> }[]>('GET', `/v1/catalog/service/${encodeURIComponent(flags.service as string)}`, undefined, q);
          const seen = new Set<string>();
          nodes = data.filter(n => !seen.has(n.Node) && seen.add(n.Node)).map(n => ({ ...n, Meta: n.NodeMeta }));
        } else {
          const u = new URLSearchParams();
          for (const m of (flags['node-meta'] as string[] | undefined) ?? []) u.append('node-meta', m);
          const qs = u.toString();
          nodes = (await api.json<typeof nodes>('GET', `/v1/catalog/nodes${qs ? `?${qs}` : ''}`, undefined, q)).data;
        }
        if (flags.format === 'json') { process.stdout.write(JSON.stringify(nodes, null, 2) + '\n'); return 0; }
        if (nodes.length === 0) { process.stderr.write('No nodes match the given query - try expanding your search.\n'); return 0; }
        const rows = flags.detailed ? [['Node', 'ID', 'Address', 'DC', 'TaggedAddresses', 'Meta']] : [['Node', 'ID', 'Address', 'DC']];
        for (const n of nodes) {
          const row = [n.Node, flags.detailed ? n.ID : n.ID.slice(0, 8), n.Address, n.Datacenter];
          if (flags.detailed) row.push(Object.entries(n.TaggedAddresses ?? {}).sort().map(([k, v]) => `${k}=${v}`).join(', '), Object.entries(n.Meta ?? {}).sort().map(([k, v]) => `${k}=${v}`).join(', '));
          rows.push(row);
        }
        process.stdout.write(columns(rows));
        return 0;
      }
      case 'services': {
        const { flags, api } = parseApiFlags(rest, { tags: 'bool', node: 'string', 'node-meta': 'list', filter: 'string', format: 'string' });
        let services: Record<string, string[]>;
        if (flags.node) {
          const { data } = await api.json<{ Services: Record<string, { Service: string; Tags: string[] }> } | null>('GET', `/v1/catalog/node/${encodeURIComponent(flags.node as string)}`);
          if (!data) return fail(`Error listing services for node: node "${flags.node as string}" not found`);
          services = {};
          for (const s of Object.values(data.Services)) services[s.Service] = [...new Set([...(services[s.Service] ?? []), ...s.Tags])];
        } else {
          const u = new URLSearchParams();
          for (const m of (flags['node-meta'] as string[] | undefined) ?? []) u.append('node-meta', m);
          const qs = u.toString();
          services = (await api.json<Record<string, string[]>>('GET', `/v1/catalog/services${qs ? `?${qs}` : ''}`, undefined, { filter: flags.filter as string | undefined })).data;
        }
        if (flags.format === 'json') { process.stdout.write(JSON.stringify(services, null, 2) + '\n'); return 0; }
        const names = Object.keys(services).sort();
        if (names.length === 0) { process.stderr.write('No services match the given query - try expanding your search.\n'); return 0; }
        if (flags.tags) process.stdout.write(columns(names.map(n => [n, [...services[n]!].sort().join(',')])));
        else process.stdout.write(names.join('\n') + '\n');
        return 0;
      }
      default:
        process.stderr.write(USAGE);
        return sub === undefined || sub === '-h' || sub === '-help' ? 0 : 1;
    }
  } catch (err) {
    if (err instanceof HelpRequested) throw err;
    return fail(`Error querying catalog: ${(err as Error).message}`);
  }
}

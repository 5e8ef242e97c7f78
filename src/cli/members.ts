/** @module `roster members`: gossip members in Consul's columns (Node, Address, Status, Type, Build, Protocol, DC, Partition, Segment). */
import { columns, fail, parseApiFlags } from './http.ts';

interface Member { Name: string; Addr: string; Port: number; Status: number; Tags: Record<string, string>; ProtocolCur?: number }

const STATUS = ['none', 'alive', 'leaving', 'left', 'failed'];

export async function membersCommand(argv: string[]): Promise<number> {
  const { flags, api } = parseApiFlags(argv, { detailed: 'bool', wan: 'bool', status: 'string', segment: 'string', format: 'string' });
  let members: Member[];
  try {
    members = (await api.json<Member[]>('GET', '/v1/agent/members', undefined, flags.wan ? { wan: '1' } : {})).data;
  } catch (err) {
    return fail(`Error retrieving members: ${(err as Error).message}`);
  }
  const status = (m: Member) => STATUS[m.Status] ?? 'unknown';
  if (flags.status) {
    let re: RegExp;
    try { re = new RegExp(flags.status as string); } catch (err) { return fail(`Failed to compile status regexp: ${(err as Error).message}`); }
    members = members.filter(m => re.test(status(m)));
  }
  members.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  if (flags.format === 'json') {
    process.stdout.write(JSON.stringify(members, null, 2) + '\n');
    return members.length ? 0 : 2;
  }
  if (members.length === 0) return 2;
  if (flags.detailed) {
    const rows = [['Node', 'Address', 'Status', 'Tags']];
    for (const m of members) rows.push([m.Name, `${m.Addr}:${m.Port}`, status(m), Object.keys(m.Tags).sort().map(k => `${k}=${m.Tags[k]}`).join(',')]);
    process.stdout.write(columns(rows));
    return 0;
  }
  const rows = [['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC', 'Partition', 'Segment']];
  for (const m of members) {
    const t = m.Tags ?? {};
    const type = t.role === 'consul' ? 'server' : 'client';
    rows.push([m.Name, `${m.Addr}:${m.Port}`, status(m), type, (t.build ?? '').split(':')[0]!, t.vsn ?? String(m.ProtocolCur ?? ''), t.dc ?? '', 'default', type === 'server' ? '<all>' : t.segment || '<default>']);
  }
  process.stdout.write(columns(rows));
  return 0;
}

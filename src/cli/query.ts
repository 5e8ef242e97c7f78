/**
 * @module `roster query [-node N]... [-tag k=re]... [-timeout 5s] [-no-ack] [-format json] NAME [payload]`:
 * sends a Serf query through the agent (like `serf query`) and prints acks and responses.
 */
import { fail, parseApiFlags } from './http.ts';

export async function queryCommand(argv: string[]): Promise<number> {
  const { flags, args, api } = parseApiFlags(argv, { node: 'list', tag: 'list', timeout: 'string', 'no-ack': 'bool', format: 'string' });
  const [name, payload = ''] = args;
  if (!name) return fail('Query name must be specified');
  const q = new URLSearchParams();
  for (const n of (flags.node as string[] | undefined) ?? []) q.append('node', n);
  for (const t of (flags.tag as string[] | undefined) ?? []) q.append('tag', t.replace('=', ':'));
  if (flags.timeout) q.set('timeout', flags.timeout as string);
  if (!flags['no-ack']) q.set('ack', '');
  try {
    const r = await api.raw('PUT', `/v1/roster/query/${encodeURIComponent(name)}?${q}`, payload);
    if (r.status !== 200) return fail(`Error sending query: Unexpected response code: ${r.status} (${r.text.trim()})`);
    if (flags.format === 'json') { process.stdout.write(r.text + '\n'); return 0; }
    const res = JSON.parse(r.text) as { Acks: string[]; Responses: Record<string, string> };
    for (const a of res.Acks) process.stdout.write(`Ack from '${a}'\n`);
    for (const [from, p] of Object.entries(res.Responses)) process.stdout.write(`Response from '${from}': ${p}\n`);
    process.stdout.write(`Total Acks: ${res.Acks.length}\nTotal Responses: ${Object.keys(res.Responses).length}\n`);
    return 0;
  } catch (err) {
    return fail(`Error sending query: ${(err as Error).message}`);
  }
}

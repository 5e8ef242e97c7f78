/** @module `roster info`: the agent's Stats, in Consul's `section:\n\tkey = value` layout. */
import { fail, parseApiFlags } from './http.ts';

export async function infoCommand(argv: string[]): Promise<number> {
  const { flags, api } = parseApiFlags(argv, { format: 'string' });
  let self: { Config: Record<string, unknown>; Stats?: Record<string, Record<string, string>> };
  try {
    self = (await api.json<typeof self>('GET', '/v1/agent/self')).data;
  } catch (err) {
    return fail(`Error querying agent: ${(err as Error).message}`);
  }
  const stats: Record<string, Record<string, string>> = {
    build: { prerelease: '', revision: String(self.Config.Revision ?? ''), version: String(self.Config.Version ?? '') },
    ...(self.Stats ?? {}),
  };
  stats.agent = { ...(stats.agent ?? {}), datacenter: String(self.Config.Datacenter ?? ''), node_name: String(self.Config.NodeName ?? ''), server: String(self.Config.Server ?? true) };
  if (flags.format === 'json') { process.stdout.write(JSON.stringify(stats, null, 2) + '\n'); return 0; }
  let out = '';
  for (const sec of Object.keys(stats).sort()) {
    out += `${sec}:\n`;
    for (const k of Object.keys(stats[sec]!).sort()) out += `\t${k} = ${stats[sec]![k]}\n`;
  }
  process.stdout.write(out);
  return 0;
}

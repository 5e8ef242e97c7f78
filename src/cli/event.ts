/** @module `roster event -name NAME [-node RE] [-service RE] [-tag RE] [payload]`: fires a user event. */
import { HelpRequested } from './flags.ts';
import { fail, parseApiFlags } from './http.ts';

export async function eventCommand(argv: string[]): Promise<number> {
  const { flags, args, api } = parseApiFlags(argv, { name: 'string', node: 'string', service: 'string', tag: 'string', format: 'string' });
  const name = flags.name as string | undefined;
  if (!name) return fail('Event name must be specified');
  if (flags.tag && !flags.service) return fail('Cannot provide tag filter without service filter.');
  if (args.length > 1) return fail('Too many command line arguments.');
  const payload = args[0] ?? '';
  try {
    const r = await api.raw('PUT', `/v1/event/fire/${encodeURIComponent(name)}`, payload, { node: flags.node as string | undefined, service: flags.service as string | undefined, tag: flags.tag as string | undefined });
    if (r.status !== 200) return fail(`Error firing event: Unexpected response code: ${r.status} (${r.text.trim()})`);
    const ev = JSON.parse(r.text) as { ID: string };
    if (flags.format === 'json') process.stdout.write(r.text + '\n');
    else process.stdout.write(`Event ID: ${ev.ID}\n`);
    return 0;
  } catch (err) {
    if (err instanceof HelpRequested) throw err;
    return fail(`Error firing event: ${(err as Error).message}`);
  }
}

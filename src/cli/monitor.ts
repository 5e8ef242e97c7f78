/**
 * @module `roster monitor [-log-level L] [-log-json]`: follows the agent's log
 * (/v1/agent/monitor) until interrupted, as `consul monitor` does. Exit 0 on Ctrl-C or SIGTERM;
 * 1 when the agent refuses or the stream ends from its side.
 */
import { fail, parseApiFlags } from './http.ts';
import { httpBase } from './http.ts';

export async function monitorCommand(argv: string[]): Promise<number> {
  const { flags, api } = parseApiFlags(argv, { 'log-level': 'string', 'log-json': 'bool' });
  const u = new URL(httpBase(flags['http-addr'] as string | undefined) + '/v1/agent/monitor');
  u.searchParams.set('loglevel', (flags['log-level'] as string) || 'INFO');
  if (flags['log-json'] === true) u.searchParams.set('logjson', '');
  const ac = new AbortController();
  let stopped = false;
  let streaming = false;
  const stop = () => { stopped = true; ac.abort(); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const res = await fetch(u, { headers: api.token ? { 'X-Consul-Token': api.token } : {}, signal: ac.signal });
    if (res.status !== 200) return fail(`Error starting monitor: Unexpected response code: ${res.status} (${(await res.text()).trim()})`);
    streaming = true;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!process.stdout.write(chunk)) await new Promise(r => process.stdout.once('drain', r));
    }
  } catch (err) {
    if (stopped) return 0;
    if (streaming) return fail(ENDED);
    return fail(`Error starting monitor: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return stopped ? 0 : fail(ENDED);
}

const ENDED = 'Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.';

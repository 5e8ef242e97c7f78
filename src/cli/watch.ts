/**
 * @module `roster watch -type key|keyprefix|services|service|nodes|checks|event [opts] [handler]`:
 * long-polls the API with blocking queries; on every change prints the JSON, or runs the handler
 * command with the JSON on stdin (like `consul watch`; CONSUL_INDEX is set for the handler).
 */
import { spawn } from 'node:child_process';
import { encPath, fail, parseApiFlags, type Api } from './http.ts';

interface Plan { path: string; query: Record<string, string | undefined>; shape: (status: number, body: unknown) => unknown }

function plan(type: string, f: Record<string, unknown>): Plan | string {
  const s = (k: string) => f[k] as string | undefined;
  switch (type) {
    case 'key':
      if (!s('key')) return 'Must specify a single key to watch';
      return { path: `/v1/kv/${encPath(s('key')!)}`, query: {}, shape: (st, b) => (st === 404 ? null : (b as unknown[])[0]) };
    case 'keyprefix':
      if (s('prefix') === undefined) return 'Must specify a key prefix to watch';
      return { path: `/v1/kv/${encPath(s('prefix')!)}`, query: { recurse: '' }, shape: (st, b) => (st === 404 ? [] : b) };
    case 'services':
      return { path: '/v1/catalog/services', query: {}, shape: (_s, b) => b };
    case 'nodes':
      return { path: '/v1/catalog/nodes', query: {}, shape: (_s, b) => b };
    case 'service':
      if (!s('service')) return 'Must specify a single service to watch';
      return { path: `/v1/health/service/${encodeURIComponent(s('service')!)}`, query: { tag: s('tag'), passing: f.passingonly ? 'true' : undefined }, shape: (_s, b) => b };
    case 'checks':
      if (s('service')) return { path: `/v1/health/checks/${encodeURIComponent(s('service')!)}`, query: {}, shape: (_s, b) => b };
      return { path: `/v1/health/state/${s('state') || 'any'}`, query: {}, shape: (_s, b) => b };
    case 'event':
      return { path: '/v1/event/list', query: { name: s('name') }, shape: (_s, b) => b };
    default:
      return `Unsupported watch type: ${type}`;
  }
}

function runHandler(cmd: string[], shell: boolean, json: string, index: string): Promise<number> {
  return new Promise(resolve => {
    const p = shell ? spawn('/bin/sh', ['-c', cmd.join(' ')], { stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, CONSUL_INDEX: index } })
      : spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'inherit', 'inherit'], env: { ...process.env, CONSUL_INDEX: index } });
    p.on('error', err => { process.stderr.write(`Error executing handler: ${err.message}\n`); resolve(1); });
    p.stdin!.on('error', () => {});
    p.stdin!.end(json + '\n');
    p.on('exit', code => resolve(code ?? 1));
  });
}

export async function watchCommand(argv: string[]): Promise<number> {
  const { flags, args, api } = parseApiFlags(argv, { type: 'string', key: 'string', prefix: 'string', service: 'string', tag: 'string', passingonly: 'bool', state: 'string', name: 'string', shell: 'bool' });
  const type = flags.type as string | undefined;
  if (!type) return fail('Must specify watch type');
  const p = plan(type, flags);
  if (typeof p === 'string') return fail(p);
  const shell = flags.shell !== false;
  let index = '0';
  let last: string | undefined;
  let backoff = 0;
  let stop = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { stop = true; process.exit(0); });
  while (!stop) {
    let r: Awaited<ReturnType<Api['raw']>>;
    try {
      r = await api.raw('GET', p.path, undefined, { ...p.query, index: index === '0' ? undefined : index, wait: index === '0' ? undefined : '5m', ...(api.stale ? { stale: '' } : {}) });
    } catch (err) {
      process.stderr.write(`Error querying Consul agent: ${(err as Error).message}\n`);
      backoff = Math.min(Math.max(backoff * 2, 1000), 30_000);
      await new Promise(res => setTimeout(res, backoff));
      continue;
    }
    if (r.status !== 200 && r.status !== 404) {
      process.stderr.write(`Error querying Consul agent: Unexpected response code: ${r.status} (${r.text.trim()})\n`);
      if (r.status === 400) return 1;
      backoff = Math.min(Math.max(backoff * 2, 1000), 30_000);
      await new Promise(res => setTimeout(res, backoff));
      continue;
    }
    backoff = 0;
    const newIndex = r.headers.get('x-consul-index') ?? '0';
    // An index that goes backwards means the store was reset: start over.
    if (/^\d+$/.test(newIndex) && /^\d+$/.test(index) && type !== 'event' && BigInt(newIndex) < BigInt(index)) index = '0';
    else index = newIndex;
    const data = p.shape(r.status, r.text ? JSON.parse(r.text) : null);
    const json = JSON.stringify(data, null, 4);
    if (json === last) continue;
    last = json;
    if (args.length) await runHandler(args, shell, json, index);
    else process.stdout.write(json + '\n');
  }
  return 0;
}

/**
 * @module `roster lock [-name N] [-timeout D] PREFIX CMD...`: runs CMD while holding a session
 * lock on `PREFIX/.lock`; the lock is released when CMD exits and CMD's exit code is returned.
 * If the session is lost while CMD runs, CMD is terminated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { encPath, fail, parseApiFlags, type Api } from './http.ts';
import { parseDurationNs } from '../util/duration.ts';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function acquire(api: Api, key: string, sid: string, deadline: number, verbose: boolean): Promise<boolean> {
  let index = '0';
  for (;;) {
    const r = await api.raw('PUT', `/v1/kv/${encPath(key)}`, '', { acquire: sid, flags: '3304740253564472344' });
    if (r.status !== 200) throw new Error(`Unexpected response code: ${r.status} (${r.text.trim()})`);
    if (r.text.trim() === 'true') return true;
    if (Date.now() > deadline) return false;
    if (verbose) process.stderr.write(`Lock on ${key} is held; waiting\n`);
    // Wait until the holder goes away (or lock-delay passes), then retry.
    const left = Math.max(1, deadline - Date.now());
    const w = await api.raw('GET', `/v1/kv/${encPath(key)}`, undefined, { index: index === '0' ? undefined : index, wait: `${Math.min(left, 15_000)}ms` });
    const held = w.status === 200 && (JSON.parse(w.text) as { Session?: string }[])[0]?.Session;
    index = w.headers.get('x-consul-index') ?? '0';
    if (!held) await sleep(500);
  }
}

export async function lockCommand(argv: string[]): Promise<number> {
  const { flags, args, api } = parseApiFlags(argv, { name: 'string', timeout: 'string', verbose: 'bool', shell: 'bool', 'monitor-retry': 'int', n: 'int', 'child-exit-code': 'bool' });
  if (args.length < 2) return fail('Key prefix and child command must be specified');
  if (flags.n !== undefined && flags.n !== 1) return fail('Semaphores (-n > 1) are not supported by Roster');
  const prefix = args[0]!.replace(/^\/+/, '').replace(/\/+$/, '');
  const cmd = args.slice(1);
  const key = `${prefix}/.lock`;
  const verbose = flags.verbose === true;
  const timeoutMs = flags.timeout ? parseDurationNs(flags.timeout as string) / 1e6 : 0;
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.MAX_SAFE_INTEGER;
  let sid: string;
  try {
    sid = (await api.json<{ ID: string }>('PUT', '/v1/session/create', { Name: (flags.name as string) || `Consul lock for '${cmd.join(' ')}' at '${prefix}'`, TTL: '15s', Behavior: 'release' })).data.ID;
  } catch (err) {
    return fail(`Lock acquisition failed: ${(err as Error).message}`);
  }
  let child: ChildProcess | null = null;
  let lost = false;
  const renew = setInterval(() => {
    api.raw('PUT', `/v1/session/renew/${sid}`).then(r => {
      if (r.status === 404) {
        lost = true;
        process.stderr.write('Lock lost, killing child\n');
        child?.kill('SIGTERM');
      }
    }, () => {});
  }, 5000);
  const cleanup = async () => {
    clearInterval(renew);
    await api.raw('PUT', `/v1/kv/${encPath(key)}`, '', { release: sid }).catch(() => {});
    await api.raw('PUT', `/v1/session/destroy/${sid}`).catch(() => {});
  };
  try {
    if (!(await acquire(api, key, sid, deadline, verbose))) {
      await cleanup();
      return fail('Shutdown triggered or timeout during lock acquisition');
    }
  } catch (err) {
    await cleanup();
    return fail(`Lock acquisition failed: ${(err as Error).message}`);
  }
  if (verbose) process.stderr.write(`Lock acquisition succeeded on ${key}\n`);
  const shell = flags.shell !== false;
  const c = shell ? spawn('/bin/sh', ['-c', cmd.join(' ')], { stdio: 'inherit' }) : spawn(cmd[0]!, cmd.slice(1), { stdio: 'inherit' });
  child = c;
  const forward = (sig: NodeJS.Signals) => () => c.kill(sig);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const code = await new Promise<number>(resolve => {
    c.on('error', err => { process.stderr.write(`Error running handler: ${err.message}\n`); resolve(1); });
    c.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9 } as Record<string, number>)[signal] ?? 1) : 1)));
  });
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  await cleanup();
  if (verbose) process.stderr.write(`Cleanup succeeded\n`);
  return lost && code === 0 ? 1 : code;
}

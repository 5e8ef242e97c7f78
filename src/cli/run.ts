/**
 * @module `roster run -service NAME -port N [-id ID] [-tag T]... [-check-http PATH | -check-tcp] -- CMD ARGS...`:
 * starts CMD, registers it once its port accepts connections, keeps its check honest (a TTL
 * heartbeat driven by our own probe of the port or path, or with -agent-check an HTTP/TCP check the
 * agent runs), forwards SIGINT/SIGTERM/SIGHUP, deregisters when CMD exits and exits with its code.
 */
import { spawn } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { constants } from 'node:os';
import { parseFlags } from './flags.ts';
import { connect } from '../client/client.ts';
import type { Registration } from '../client/registration.ts';
import type { CheckOptions } from '../client/types.ts';
import { sleep } from '../client/api.ts';
import { logger, setLogLevel, type Level } from '../log.ts';

const FLAGS = {
  service: 'string', port: 'int', id: 'string', tag: 'list', meta: 'list', address: 'string', 'check-http': 'string', 'check-tcp': 'bool',
  'agent-check': 'bool', ttl: 'string', interval: 'string', 'http-addr': 'string', token: 'string', 'log-level': 'string', 'log-json': 'bool',
} as const;

/** True when host:port accepts a TCP connection within timeoutMs. */
export function tcpProbe(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise(resolve => {
    const s = tcpConnect({ host, port });
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** GET url: true on 2xx, otherwise the reason. */
export async function httpProbe(url: string, timeoutMs = 2000): Promise<true | string> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await r.body?.cancel();
    return r.status >= 200 && r.status < 300 ? true : `HTTP GET ${url}: ${r.status} ${r.statusText}`;
  } catch (err) {
    return `HTTP GET ${url}: ${(err as Error).message}`;
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const { flags, args } = parseFlags(argv, FLAGS);
  setLogLevel(((flags['log-level'] as string) || 'info') as Level, flags['log-json'] === true);
  const log = logger('run');
  const name = flags.service as string | undefined;
  const port = flags.port as number | undefined;
  if (!name) throw new Error('-service is required');
  if (!port) throw new Error('-port is required');
  if (!args.length) throw new Error('missing command: roster run -service NAME -port N -- CMD ARGS...');
  const address = (flags.address as string) || '127.0.0.1';
  const path = flags['check-http'] as string | undefined;
  const url = path !== undefined ? `http://${address}:${port}${path.startsWith('/') ? path : `/${path}`}` : '';
  const client = connect({ httpAddr: flags['http-addr'] as string | undefined, token: flags.token as string | undefined });

  const child = spawn(args[0]!, args.slice(1), { stdio: 'inherit' });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exit = new Promise<void>(r => {
    child.once('exit', (code, signal) => { exited = { code, signal }; r(); });
    child.once('error', err => { log.error('cannot start command', { cmd: args[0], err: err.message }); exited = { code: 127, signal: null }; r(); });
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => { if (!exited) child.kill(sig); });

  let reg: Registration | undefined;
  const registerWhenReady = async () => {
    while (!exited && !(await tcpProbe(address, port, 500))) await sleep(100);
    if (exited) return;
    const probe = async () => (url ? httpProbe(url) : (await tcpProbe(address, port)) || `TCP connect ${address}:${port}: refused`);
    let check: CheckOptions;
    if (flags['agent-check']) check = url ? { http: url, interval: (flags.interval as string) || '2s' } : { tcp: `${address}:${port}`, interval: (flags.interval as string) || '2s' };
    else check = { ttl: (flags.ttl as string) || '10s' };
    const meta: Record<string, string> = {};
    for (const kv of (flags.meta as string[] | undefined) ?? []) { const i = kv.indexOf('='); if (i > 0) meta[kv.slice(0, i)] = kv.slice(i + 1); }
    let delay = 200;
    while (!exited) {
      try {
        reg = await client.register({ name, id: flags.id as string | undefined, address, port, tags: (flags.tag as string[] | undefined) ?? [], meta, check, probe: check.ttl ? probe : undefined });
        reg.on('error', err => log.warn('registration', { err: (err as Error).message }));
        reg.on('registered', n => { if (n > 1) log.info('re-registered with the agent', { id: reg!.id }); });
        log.info('registered', { service: name, id: reg.id, port, check: check.ttl ? `ttl ${check.ttl} (own probe)` : check.http ?? `tcp ${check.tcp}` });
        if (exited) await reg.close();
        return;
      } catch (err) {
        log.warn('registration failed; retrying', { err: (err as Error).message });
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  };
  const registering = registerWhenReady();
  await exit;
  await registering.catch(() => {});
  if (reg) {
    await reg.close();
    log.info('deregistered', { id: reg.id });
  }
  await client.close();
  const e = exited as { code: number | null; signal: NodeJS.Signals | null } | null;
  if (e?.signal) return 128 + ((constants.signals as Record<string, number>)[e.signal] ?? 1);
  return e?.code ?? 1;
}

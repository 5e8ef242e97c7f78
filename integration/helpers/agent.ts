/**
 * Test helper: starts a real `bin/roster agent` process (embedded redis-server unless `redis` is
 * given) on ephemeral ports with a private data dir, waits until /v1/status/leader answers, and
 * kills it (and its redis-server) in teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../src/store/embedded-redis.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The launcher; ROSTER_BIN points benchmarks at another build (e.g. the base branch's, to compare). */
export const ROSTER = process.env.ROSTER_BIN || join(ROOT, 'bin/roster');

export interface TestAgent {
  http: string;
  httpPort: number;
  dnsPort: number;
  serfPort: number;
  /** The WAN pool's port (-serf-wan-port; `args` may override it). */
  wanPort: number;
  dataDir: string;
  node: string;
  proc: ChildProcess;
  log(): string;
  /** GET/PUT helper returning status, headers and parsed body. */
  req(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `httpPort`: a fixed HTTP port (an agent "restarted" where clients already point). */
/** `shell`: a sh command run before exec'ing the launcher (e.g. `ulimit -Sn 256`). */
type StartOpts = { args?: string[]; node?: string; redis?: string; dataDir?: string; env?: Record<string, string>; httpPort?: number; shell?: string };

/** Starts an agent; retries with fresh ports when one was taken meanwhile (free-port probing races with other tests). */
export async function startAgent(t: { teardown(fn: () => unknown): void } | null, opts: StartOpts = {}): Promise<TestAgent> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(t, opts);
    } catch (err) {
      if (attempt >= 4 || opts.httpPort !== undefined || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(t: { teardown(fn: () => unknown): void } | null, opts: StartOpts): Promise<TestAgent> {
  const [httpPort, dnsPort, serfPort, wanPort] = [opts.httpPort ?? await freePort(), await freePort(), await freePort(), await freePort()];
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'roster-agent-'));
  const node = opts.node ?? `node-${Math.random().toString(36).slice(2, 8)}`;
  const args = ['agent', '-dev', '-node', node, '-http-port', String(httpPort), '-dns-port', String(dnsPort), '-serf-lan-port', String(serfPort), '-serf-wan-port', String(wanPort), '-data-dir', dataDir, ...(opts.redis ? ['-redis', opts.redis] : []), ...(opts.args ?? [])];
  const env = { ...process.env, ...opts.env };
  const proc = opts.shell
    ? spawn('sh', ['-c', `${opts.shell}; exec "$0" "$@"`, ROSTER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn(ROSTER, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  proc.stdout!.on('data', d => { out += String(d); });
  proc.stderr!.on('data', d => { out += String(d); });
  const http = `http://127.0.0.1:${httpPort}`;
  const exited = new Promise<number | null>(r => proc.once('exit', code => r(code)));
  const agent: TestAgent = {
    http, httpPort, dnsPort, serfPort, wanPort, dataDir, node, proc, log: () => out,
    async req(method, path, body) {
      const res = await fetch(http + path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
      const text = await res.text();
      let json: any;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.status, headers: res.headers, text, json };
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  t?.teardown(() => agent.stop());
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`agent exited early (${proc.exitCode}):\n${out}`);
    try {
      const r = await fetch(`${http}/v1/status/leader`);
      if (r.status === 200 && (await r.json()) !== '') break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`agent not ready within 20 s:\n${out}`); }
    await new Promise(r => setTimeout(r, 100));
  }
  return agent;
}

/**
 * Test harness for real `serf agent` processes (Debian package, /usr/bin/serf). Every CLI call is
 * asynchronous: a synchronous exec would freeze the event loop and stop our node from acking.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import { waitFor } from '../../test/helpers/wait.ts';

const exec = promisify(execFile);
export const SERF_BIN = process.env.SERF_BIN ?? '/usr/bin/serf';

/** A port currently free for TCP and UDP on 127.0.0.1 (never 7946/8301/7373). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
    });
    if ([7946, 8301, 7373].includes(port)) continue;
    const udpFree = await new Promise<boolean>(resolve => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => { u.close(); resolve(false); });
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** Member as printed by `serf members -format json`. */
export interface SerfJsonMember {
  name: string; addr: string; port: number; tags: Record<string, string>; status: string;
  protocol: { min: number; max: number; version: number };
}

export interface SerfAgentOptions {
  name: string;
  tags?: Record<string, string>;
  encrypt?: string;
  /** Extra `-event-handler` specs; user events and queries named below are always recorded. */
  eventHandlers?: string[];
}

/** A running `serf agent`. Kill it in t.teardown. */
export class SerfAgent {
  readonly name: string;
  readonly bindPort: number;
  readonly rpcPort: number;
  readonly dir: string;
  readonly proc: ChildProcess;
  log = '';

  private constructor(name: string, bindPort: number, rpcPort: number, dir: string, proc: ChildProcess) {
    this.name = name; this.bindPort = bindPort; this.rpcPort = rpcPort; this.dir = dir; this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => { this.log += d.toString(); });
    proc.stderr?.on('data', (d: Buffer) => { this.log += d.toString(); });
  }

  /** Starts an agent on free ports and waits until its RPC answers. */
  static async start(opts: SerfAgentOptions): Promise<SerfAgent> {
    const bindPort = await freePort();
    const rpcPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `serf-${opts.name}-`));
    const events = join(dir, 'events.log');
    const args = [
      'agent', `-node=${opts.name}`, `-bind=127.0.0.1:${bindPort}`, `-rpc-addr=127.0.0.1:${rpcPort}`, '-log-level=debug',
      // Records every user event as "name:payload" (payload arrives on stdin).
      `-event-handler=user=echo "$SERF_USER_EVENT:$(cat)" >> ${events}`,
      // Answers queries named "rostq": the handler's stdout is the response.
      `-event-handler=query:rostq=echo "pong-from-$SERF_SELF_NAME"`,
      ...(opts.eventHandlers ?? []).map(h => `-event-handler=${h}`),
    ];
    for (const [k, v] of Object.entries(opts.tags ?? {})) args.push('-tag', `${k}=${v}`);
    if (opts.encrypt) args.push(`-encrypt=${opts.encrypt}`);
    const proc = spawn(SERF_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const agent = new SerfAgent(opts.name, bindPort, rpcPort, dir, proc);
    const end = Date.now() + 10_000;
    for (;;) {
      try { await agent.members(); return agent; } catch (e) {
        if (Date.now() > end || proc.exitCode !== null) { agent.kill(); throw new Error(`serf agent ${opts.name} did not start: ${String(e)}\n${agent.log}`); }
        await new Promise(r => setTimeout(r, 100));
      }
    }
  }

  get rpc(): string { return `-rpc-addr=127.0.0.1:${this.rpcPort}`; }
  get addr(): string { return `127.0.0.1:${this.bindPort}`; }

  async cli(...args: string[]): Promise<string> {
    const [cmd, ...rest] = args;
    const { stdout } = await exec(SERF_BIN, [cmd!, this.rpc, ...rest], { timeout: 15_000 });
    return stdout;
  }

  async members(): Promise<SerfJsonMember[]> {
    return (JSON.parse(await this.cli('members', '-format=json')) as { members: SerfJsonMember[] }).members;
  }

  async member(name: string): Promise<SerfJsonMember | undefined> {
    return (await this.members()).find(m => m.name === name);
  }

  /** User events this agent's handler recorded, as "name:payload". */
  userEvents(): string[] {
    const f = join(this.dir, 'events.log');
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** Log lines at [ERR] (decode errors, bad checksums, failed decrypts, …). */
  errorLines(): string[] {
    return this.log.split('\n').filter(l => l.includes('[ERR]'));
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }

  /** Kills the process and removes its temp dir. */
  cleanup(): void {
    this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls an async predicate until it holds (then true); throws when the timeout passes (test/helpers/wait.ts). */
export function eventually(fn: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 200): Promise<true> {
  return waitFor(fn, timeoutMs, { every: stepMs });
}

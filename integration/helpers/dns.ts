/**
 * Helpers for the DNS integration tests: run `dig`, start and stop helper processes by PID,
 * wait until a DNS server answers, pick free loopback ports, and manage network namespaces
 * the test creates itself (traffic never leaves loopback or those namespaces).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import { waitFor } from '../../test/helpers/wait.ts';

const run = promisify(execFile);

/** Runs a command; resolves with stdout (stderr appended on failure in the error). */
export async function sh(cmd: string, args: string[], timeoutMs = 20_000): Promise<string> {
  const { stdout } = await run(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

/** `dig` against 127.0.0.1:port (or a server given with @ in args). */
export function dig(port: number, ...args: string[]): Promise<string> {
  return sh('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]);
}

/** A port free on 127.0.0.1 for both UDP and TCP (bound and released). */
export async function freePort(): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    await new Promise<void>(r => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>(r => srv.close(() => r()));
    const u = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>(r => { u.once('error', () => r(false)); u.bind(port, '127.0.0.1', () => r(true)); });
    if (ok) { await new Promise<void>(r => u.close(() => r())); return port; }
    u.close();
  }
}

export interface Proc { child: ChildProcess; out: () => string; stop(): Promise<void> }

/** Starts a process; `stop()` sends SIGTERM to that PID (then SIGKILL) and waits for it. */
export function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', d => { out += d; });
  child.stderr!.on('data', d => { out += d; });
  return {
    child, out: () => out,
    stop: () => new Promise<void>(resolve => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      const k = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => { clearTimeout(k); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

/** Waits until `probe` resolves truthy (polling), or throws after timeoutMs with `why()`. */
export async function until(probe: () => Promise<boolean>, timeoutMs: number, why: () => string): Promise<void> {
  await waitFor(probe, timeoutMs, { every: 100, what: why });
}

/** Waits until a DNS server on 127.0.0.1:port answers `name` (any rcode). */
export function dnsUp(port: number, name = 'web.service.consul', netns?: string): Promise<void> {
  const cmd = netns ? ['ip', ['netns', 'exec', netns, 'dig', '@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', name]] as const : ['dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', name]] as const;
  return until(async () => /status: /.test(await sh(cmd[0], [...cmd[1]])), 10_000, () => `DNS on port ${port}`);
}

/** The answer section of dig output as lines `name ttl IN type data`. */
export function answers(out: string): string[] {
  const m = /;; ANSWER SECTION:\n([\s\S]*?)\n\n/.exec(out);
  return m ? m[1]!.split('\n').map(l => l.split(/\s+/).join(' ')) : [];
}

export function status(out: string): string { return /status: (\w+)/.exec(out)?.[1] ?? '?'; }
export function flags(out: string): string[] { return (/;; flags: ([a-z ]+);/.exec(out)?.[1] ?? '').trim().split(' '); }

/** A network namespace with loopback up; `del()` removes it. */
export async function netns(prefix: string): Promise<{ name: string; exec: (cmd: string, args: string[]) => Promise<string>; del(): Promise<void> }> {
  const name = `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  await sh('ip', ['netns', 'add', name]);
  await sh('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return {
    name,
    exec: (cmd, args) => sh('ip', ['netns', 'exec', name, cmd, ...args]),
    del: async () => { await sh('ip', ['netns', 'del', name]); },
  };
}

/** A recipe code block from src/dns/README.md (the block after `<!-- recipe:NAME -->`), port 8600 replaced. */
export function recipe(readme: string, name: string, port: number): string {
  const m = new RegExp(`<!-- recipe:${name.replace('.', '\\.')} -->\\n\`\`\`\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`no recipe ${name} in the README`);
  return m[1]!.replaceAll('8600', String(port));
}

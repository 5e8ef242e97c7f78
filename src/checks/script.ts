/**
 * @module Script checks (`Args`), as Consul runs them: on the agent that registered them (never on
 * a shared worker: a script is a command on this machine), every Interval, bounded by Timeout
 * (30 s by default). Exit 0 is passing, 1 warning, anything else critical; stdout and stderr are
 * captured together up to 4 KB; on timeout the whole process group is killed.
 */
import { spawn } from 'node:child_process';
import type { CheckRec } from '../catalog/model.ts';
import type { RunResult } from './types.ts';
import { parseDurationNs } from '../util/duration.ts';
import { OUTPUT_MAX } from './types.ts';

/** Consul's default timeout of a script check. */
export const SCRIPT_TIMEOUT_MS = 30_000;

/** Runs a command once (argv, no shell), in its own process group. Never throws. */
export function runScript(args: string[], timeoutMs: number, stop?: AbortSignal): Promise<RunResult> {
  return new Promise(resolve => {
    if (args.length === 0 || !args[0]) { resolve({ status: 'critical', output: 'script check has no command' }); return; }
    let out = Buffer.alloc(0);
    let truncated = false;
    const take = (d: Buffer) => {
      if (out.length >= OUTPUT_MAX) { truncated = true; return; }
      out = Buffer.concat([out, d.subarray(0, OUTPUT_MAX - out.length)]);
      if (d.length > OUTPUT_MAX - out.length) truncated = true;
    };
    let child;
    try {
      child = spawn(args[0], args.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ status: 'critical', output: (err as Error).message });
      return;
    }
    let timedOut = false;
    let done = false;
    const killGroup = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { try { child.kill('SIGKILL'); } catch { /* gone */ } } };
    const timer = setTimeout(() => { timedOut = true; killGroup(); }, timeoutMs);
    const onStop = () => killGroup();
    stop?.addEventListener('abort', onStop, { once: true });
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    const finish = (r: RunResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop?.removeEventListener('abort', onStop);
      resolve(r);
    };
    child.on('error', err => finish({ status: 'critical', output: err.message }));
    child.on('close', (code, signal) => {
      if (timedOut) { finish({ status: 'critical', output: `Timed out (${formatMs(timeoutMs)}) running check` }); return; }
      let output = out.toString('utf8');
      if (truncated) output += '\n\n[Captured output truncated]';
      const status = code === 0 ? 'passing' : code === 1 ? 'warning' : 'critical';
      if (signal && !output) output = `killed by ${signal}`;
      finish({ status, output });
    });
  });
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function ms(d: string | undefined, dflt: number): number {
  if (!d) return dflt;
  try { const n = parseDurationNs(d) / 1e6; return n > 0 ? n : dflt; } catch { return dflt; }
}

/** Keeps one timer per script check of this node; `report` writes each result. */
export class ScriptChecks {
  #timers = new Map<string, { fp: string; timer: NodeJS.Timeout }>();
  #stop = new AbortController();
  #report: (c: CheckRec, r: RunResult) => Promise<unknown>;

  constructor(report: (c: CheckRec, r: RunResult) => Promise<unknown>) {
    this.#report = report;
  }

  /** Starts, restarts (definition changed) or stops timers so that exactly `checks` run. */
  sync(checks: CheckRec[]): void {
    const want = new Map(checks.map(c => [c.CheckID, c]));
    for (const [id, t] of this.#timers) {
      const c = want.get(id);
      if (!c || t.fp !== JSON.stringify(c.Definition)) { clearTimeout(t.timer); this.#timers.delete(id); }
    }
    for (const c of checks) {
      if (this.#timers.has(c.CheckID) || this.#stop.signal.aborted) continue;
      const fp = JSON.stringify(c.Definition);
      const every = Math.max(1000, ms(c.Definition.Interval ?? c.Interval, 10_000));
      const timeout = ms(c.Definition.Timeout, SCRIPT_TIMEOUT_MS);
      const entry = { fp, timer: undefined as unknown as NodeJS.Timeout };
      const tick = async () => {
        const r = await runScript(c.Definition.Args ?? [], timeout, this.#stop.signal);
        if (this.#stop.signal.aborted || this.#timers.get(c.CheckID) !== entry) return;
        await this.#report(c, r).catch(() => {});
        if (this.#timers.get(c.CheckID) === entry) entry.timer = setTimeout(() => void tick(), every);
      };
      // First run soon (staggered within half a second), then every Interval after each run ends.
      entry.timer = setTimeout(() => void tick(), Math.floor(Math.random() * Math.min(every, 500)));
      this.#timers.set(c.CheckID, entry);
    }
  }

  stop(): void {
    this.#stop.abort();
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
  }
}

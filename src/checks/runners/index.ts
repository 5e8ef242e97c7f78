/** @module Runner lookup by check type, and one run with the check's timeout. */
import type { CheckDefinition } from '../../catalog/model.ts';
import type { RunResult, Runner } from '../types.ts';
import { runHttp } from './http.ts';
import { runTcp } from './tcp.ts';
import { runUdp } from './udp.ts';

export const RUNNERS: Record<string, Runner> = { http: runHttp, tcp: runTcp, udp: runUdp };

/**
 * A signal that aborts after `ms` with a TimeoutError, like AbortSignal.timeout, but on the
 * process's setTimeout (so a test's fake clock drives it); the timer does not keep the process alive.
 */
export function timeoutSignal(ms: number): AbortSignal {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms).unref?.();
  return ac.signal;
}

/** Runs a check once; the runner's signal aborts at timeoutMs (or when `stop` aborts: shutdown). Never throws. */
export async function runOnce(type: string, def: CheckDefinition, timeoutMs: number, stop?: AbortSignal): Promise<RunResult> {
  const runner = RUNNERS[type];
  if (!runner) return { status: 'critical', output: `unsupported check type "${type}"` };
  const timeout = timeoutSignal(timeoutMs);
  const signal = stop ? AbortSignal.any([timeout, stop]) : timeout;
  try {
    return await runner(def, signal);
  } catch (err) {
    return { status: 'critical', output: (err as Error).message };
  }
}

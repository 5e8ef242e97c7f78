/**
 * A fake clock for unit tests: node:test's mock timers (setTimeout, setInterval and Date by
 * default), advanced 1 ms at a time with a few turns of the real event loop (setImmediate, which
 * stays real) in between, so real I/O (loopback sockets, in-memory streams) and promise chains
 * keep up with the timers. `until` is test/helpers/wait.ts's waitFor on this clock: it advances
 * until a condition holds, or fails after `maxMs` fake milliseconds.
 *
 * The mock is process-wide: a test using it must be `test.serial` (ava runs serial tests before
 * the concurrent ones of the file); it is reset at the test's teardown.
 */
import { mock } from 'node:test';

type Truthy<T> = Exclude<T, false | undefined | null | 0 | ''>;
type Api = 'setTimeout' | 'setInterval' | 'Date';

export interface FakeClock {
  /** Fake milliseconds since the clock was installed. */
  elapsed(): number;
  /** Advances `ms` fake milliseconds, 1 ms at a time, with real event-loop turns in between. */
  advance(ms: number): Promise<void>;
  /** Advances until `fn` returns a truthy value (returned); throws after `maxMs` fake milliseconds. */
  until<T>(fn: () => T, maxMs: number, what?: string | (() => string)): Promise<Truthy<T>>;
  /** Advances until `p` settles (its value or error); throws after `maxMs` fake milliseconds. */
  settle<T>(p: Promise<T>, maxMs: number, what?: string): Promise<T>;
}

export function fakeClock(t: { teardown(fn: () => void): void }, opts: { apis?: Api[]; now?: number; turns?: number } = {}): FakeClock {
  const start = opts.now ?? 0;
  mock.timers.enable({ apis: opts.apis ?? ['setTimeout', 'setInterval', 'Date'], now: start });
  t.teardown(() => mock.timers.reset());
  const turns = opts.turns ?? 3;
  let now = start;
  const step = async (): Promise<void> => {
    for (let j = 0; j < turns; j++) await new Promise(r => setImmediate(r));
    mock.timers.tick(1);
    now++;
  };
  const until = async <T>(fn: () => T, maxMs: number, what?: string | (() => string)): Promise<Truthy<T>> => {
    const end = now + maxMs;
    for (;;) {
      const v = fn();
      if (v) return v as Truthy<T>;
      if (now >= end) {
        const w = typeof what === 'function' ? what() : what ?? 'the condition';
        throw new Error(`timed out after ${maxMs} fake ms waiting for ${w}`);
      }
      await step();
    }
  };
  return {
    elapsed: () => now - start,
    async advance(ms) { for (let i = 0; i < ms; i++) await step(); },
    until,
    async settle(p, maxMs, what) {
      let done = false;
      const q = p.finally(() => { done = true; });
      q.catch(() => {});
      await until(() => done, maxMs, what ?? 'the promise to settle');
      return q;
    },
  };
}

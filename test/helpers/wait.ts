/**
 * The one wait helper of the test folders (test/ and integration/): poll a condition until it
 * holds, or fail. Every other helper name (checks' `waitFor`, gossip's `waitFor`, the integration
 * helpers' `until` and `eventually`) is this function under the signature its callers use.
 */

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

type Truthy<T> = Exclude<T, false | undefined | null | 0 | ''>;

/**
 * Polls `fn` every `every` ms (an error thrown by `fn` counts as "not yet") until it returns a
 * truthy value, and returns that value; throws `timed out after <ms> ms waiting for <what>` when
 * `timeoutMs` passes. Never returns false: a condition that does not hold fails the test.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5000, opts: { every?: number; what?: string | (() => string) } = {}): Promise<Truthy<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    try { v = await fn(); } catch { v = undefined; }
    if (v) return v as Truthy<T>;
    if (Date.now() > end) {
      const what = typeof opts.what === 'function' ? opts.what() : opts.what ?? 'the condition';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(opts.every ?? 50);
  }
}

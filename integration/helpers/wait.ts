/** Test helpers for waiting on real processes. */

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms));

/** Polls fn until it returns a truthy value (errors count as "not yet"); throws after timeoutMs. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

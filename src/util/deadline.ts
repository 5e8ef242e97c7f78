/** @module Deadlines for calls to Redis or other agents: every such call settles within a bound. */

/** Resolves or rejects as `p` does, or rejects with `<what> timed out after <ms> ms` first. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

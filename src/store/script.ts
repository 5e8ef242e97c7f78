/** @module Lua scripts on an ioredis connection: each store passes the same KEYS list to all its scripts. */
import type { Redis } from 'ioredis';

export type ScriptFn = (...args: (string | number | Buffer)[]) => Promise<unknown>;

/**
 * Defines a script on the connection (once per name) and returns a function that calls it with
 * `keys` as KEYS, then the key prefix, then its own arguments (`buffers`: replies as Buffers).
 */
export function defineScript(redis: Redis, name: string, lua: string, keys: readonly string[], prefix: string, buffers = false): ScriptFn {
  const r = redis as unknown as Record<string, ScriptFn>;
  if (!r[name]) redis.defineCommand(name, { numberOfKeys: keys.length, lua });
  const fn = r[buffers ? `${name}Buffer` : name]!.bind(redis);
  return (...args) => fn(...keys, prefix, ...args);
}

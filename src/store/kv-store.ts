/**
 * @module The KV store in Redis: typed wrappers over the KV scripts (src/store/kv-lua.ts).
 *
 * Reads go straight to Redis (one script call per read, so a prefix read is a consistent
 * snapshot). Every write is one script; indexes are allocated only on a real change.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { KV_DELETE, KV_GET, KV_NUM_KEYS, KV_SET } from './kv-lua.ts';

/** A KV entry as stored (Consul's DirEntry, value as bytes). */
export interface KvEntry {
  Key: string;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Flags: string;
  Session: string;
  Value: Buffer;
}

export type KvSetMode = 'set' | 'cas' | 'acquire' | 'release';

type Fn = (...args: (string | number | Buffer)[]) => Promise<unknown>;

/** The KEYS every KV/session/event script gets, in order. */
export function kvScriptKeys(k: Keys): string[] {
  return [k.index, k.tables, k.kv, k.kvKeys, k.kvTombs, k.kvTombIndex, k.sessions, k.sessionExpiry, k.lockDelay, k.nodes, k.kvEvents, k.userEvents, k.userEventIds, k.userEventLTime];
}

/** Defines a script on the connection; the returned function passes KEYS and the prefix. */
export function defineKvScript(redis: Redis, keys: Keys, name: string, lua: string, buffers = false): Fn {
  const r = redis as unknown as Record<string, Fn>;
  if (!r[name]) redis.defineCommand(name, { numberOfKeys: KV_NUM_KEYS, lua });
  const fn = r[buffers ? `${name}Buffer` : name]!.bind(redis);
  const ks = kvScriptKeys(keys);
  return (...args) => fn(...ks, keys.prefix, ...args);
}

/** Decodes `C\nM\nL\nF\nS\n<value>`. */
export function decodeEntry(key: string, raw: Buffer): KvEntry {
  const nl: number[] = [];
  let pos = 0;
  for (let i = 0; i < 5; i++) {
    const n = raw.indexOf(10, pos);
    if (n < 0) throw new Error('corrupt KV entry');
    nl.push(n);
    pos = n + 1;
  }
  const s = (a: number, b: number) => raw.toString('latin1', a, b);
  return {
    Key: key, CreateIndex: Number(s(0, nl[0]!)), ModifyIndex: Number(s(nl[0]! + 1, nl[1]!)), LockIndex: Number(s(nl[1]! + 1, nl[2]!)),
    Flags: s(nl[2]! + 1, nl[3]!), Session: raw.toString('utf8', nl[3]! + 1, nl[4]!), Value: raw.subarray(nl[4]! + 1),
  };
}

export class KvStore {
  readonly redis: Redis;
  readonly keys: Keys;
  #set: Fn; #del: Fn; #get: Fn;

  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
    this.#set = defineKvScript(redis, keys, 'rosterKvSet', KV_SET);
    this.#del = defineKvScript(redis, keys, 'rosterKvDelete', KV_DELETE);
    this.#get = defineKvScript(redis, keys, 'rosterKvGet', KV_GET, true);
  }

  /** One key: the entry (or null) and the KV table index (the index of a miss). */
  async get(key: string): Promise<{ entry: KvEntry | null; tableIndex: number }> {
    const [t, raw] = (await this.#get(key, 'one')) as [number, Buffer | null];
    return { entry: raw ? decodeEntry(key, raw) : null, tableIndex: Number(t) };
  }

  /** Every entry under a prefix (sorted by key), the KV table index and the newest tombstone under the prefix. */
  async list(prefix: string): Promise<{ entries: KvEntry[]; tableIndex: number; tombIndex: number }> {
    const res = (await this.#get(prefix, 'prefix')) as (number | Buffer)[];
    const entries: KvEntry[] = [];
    for (let i = 2; i < res.length; i += 2) {
      const k = (res[i] as Buffer).toString('utf8');
      entries.push(decodeEntry(k, res[i + 1] as Buffer));
    }
    return { entries, tableIndex: Number(res[0]), tombIndex: Number(res[1]) };
  }

  /** Writes a key. ok=false when a cas, acquire or release was refused. */
  async set(key: string, value: Buffer, opts: { flags?: string; mode?: KvSetMode; cas?: number; session?: string } = {}): Promise<{ index: number; ok: boolean }> {
    const [index, ok] = (await this.#set(key, value, opts.flags ?? '0', opts.mode ?? 'set', opts.cas ?? 0, opts.session ?? '')) as [number, number];
    return { index, ok: ok === 1 };
  }

  /** Deletes a key (mode one/cas) or every key under a prefix (recurse). */
  async delete(key: string, mode: 'one' | 'cas' | 'recurse', cas = 0): Promise<{ index: number; ok: boolean }> {
    const [index, ok] = (await this.#del(key, mode, cas)) as [number, number];
    return { index, ok: ok === 1 };
  }
}

/**
 * @module The KV store in Redis: typed wrappers over the KV scripts (src/store/scripts/kv*.lua).
 *
 * Reads go straight to Redis (one script call per read, so a prefix read is a consistent
 * snapshot). Every write is one script; indexes are allocated only on a real change.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { defineScript, type ScriptFn } from './script.ts';

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

/** One KV operation of a transaction (Consul's TxnKVOp). */
/** `flags` and `index` are exact uint64 decimals (an index past 2^53 is compared and reported as written). */
export interface KvTxnOp { verb: string; key: string; value?: Buffer; flags?: string; index?: string; session?: string }

/** A transaction's outcome: results in operation order, or every failing operation (OpIndex among the KV ops). */
export type KvTxnResult =
  | { ok: true; index: number; results: { entry: KvEntry; withValue: boolean; op: number }[] }
  | { ok: false; errors: { opIndex: number; what: string }[] };

type Fn = ScriptFn;

/** The KEYS every KV/session/event script gets, in order. */
export function kvScriptKeys(k: Keys): string[] {
  return [k.index, k.tables, k.kv, k.kvKeys, k.kvTombs, k.kvTombIndex, k.sessions, k.sessionExpiry, k.lockDelay, k.nodes, k.hints, k.userEvents, k.userEventIds, k.userEventLTime];
}

/** Defines a KV/session/event script on the connection; the returned function passes KEYS and the prefix. */
export function defineKvScript(redis: Redis, keys: Keys, file: string, buffers = false): Fn {
  return defineScript(redis, file, kvScriptKeys(keys), { prefix: keys.prefix, buffers });
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
  #set: Fn; #del: Fn; #get: Fn; #txn: Fn;

  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
    this.#set = defineKvScript(redis, keys, 'kvSet-14.lua');
    this.#del = defineKvScript(redis, keys, 'kvDelete-14.lua');
    this.#get = defineKvScript(redis, keys, 'kvGet-14.lua', true);
    this.#txn = defineKvScript(redis, keys, 'kvTxn-14.lua', true);
  }

  /** Runs KV operations atomically: all of them apply (at one index) or none does. `dry`: check only, write nothing. */
  async txn(ops: KvTxnOp[], dry = false): Promise<KvTxnResult> {
    const values: Buffer[] = [];
    const spec = ops.map(o => {
      let v = 0;
      if (o.value && o.value.length) { values.push(o.value); v = values.length + 2; }
      return { verb: o.verb, key: o.key, v, flags: o.flags ?? '0', index: o.index ?? '0', session: o.session ?? '' };
    });
    // cjson encodes an empty Lua table as an object: `ops` is always sent non-empty or as [].
    const res = (await this.#txn(JSON.stringify({ ops: spec, dry }), ...values)) as (number | Buffer)[];
    if (Number(res[0]) === 0) {
      const errors: { opIndex: number; what: string }[] = [];
      for (let i = 1; i + 1 < res.length; i += 2) errors.push({ opIndex: Number(res[i]), what: (res[i + 1] as Buffer).toString('utf8') });
      return { ok: false, errors };
    }
    const results: { entry: KvEntry; withValue: boolean; op: number }[] = [];
    for (let i = 2; i + 3 < res.length; i += 4) {
      const raw = res[i + 1] as Buffer;
      if (!raw.length) continue;
      results.push({ entry: decodeEntry((res[i] as Buffer).toString('utf8'), raw), withValue: Number(res[i + 2]) === 1, op: Number(res[i + 3]) });
    }
    return { ok: true, index: Number(res[1]), results };
  }

  /** One key: the entry (or null), the KV table index (the index of a miss) and the index of the key's last deletion (0 if none). */
  async get(key: string): Promise<{ entry: KvEntry | null; tableIndex: number; tombIndex: number }> {
    const [t, raw, tomb] = (await this.#get(key, 'one')) as [number, Buffer | null, number];
    return { entry: raw ? decodeEntry(key, raw) : null, tableIndex: Number(t), tombIndex: Number(tomb) || 0 };
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

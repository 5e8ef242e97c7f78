/**
 * @module Prepared queries in the datacenter's Redis: one hash of definitions and one of names,
 * written by atomic Lua scripts that enforce Consul's rules (names unique case-insensitively, a
 * name may not be another query's ID, one empty-name template) and bump the global index.
 * Record: `createIndex\nmodifyIndex\nnameKey\njson` (nameKey `n:<lower name>`, or '' for an
 * unnamed non-template query, which no name resolves to).
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import type { PreparedQuery } from '../catalog/prepared-query.ts';
import { defineScript, type ScriptFn } from './script.ts';

// Scripts: src/store/scripts/queryPut-4.lua, queryDelete-4.lua.

/** A write refused by Consul's rules (HTTP 500 with this text). */
export class QueryWriteError extends Error {}

export class QueryStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #put: ScriptFn;
  readonly #del: ScriptFn;

  constructor(redis: Redis, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
    const k = [keys.index, keys.queries, keys.queryNames, keys.queriesRev];
    this.#put = defineScript(redis, 'queryPut-4.lua', k);
    this.#del = defineScript(redis, 'queryDelete-4.lua', k);
  }

  /** Creates or replaces a query; returns its indexes. */
  async put(q: PreparedQuery, mode: 'create' | 'update'): Promise<{ createIndex: number; modifyIndex: number }> {
    const nameKey = q.Name || q.Template.Type ? `n:${q.Name.toLowerCase()}` : '';
    const { CreateIndex: _c, ModifyIndex: _m, ...body } = q;
    const r = await this.#put(q.ID, mode, nameKey, JSON.stringify(body), q.Name) as [number, string | number, number?];
    if (r[0] !== 1) throw new QueryWriteError(String(r[1]));
    return { createIndex: Number(r[1]), modifyIndex: Number(r[2]) };
  }

  async delete(id: string): Promise<number> {
    const r = await this.#del(id) as [number, string | number];
    if (r[0] !== 1) throw new QueryWriteError(String(r[1]));
    return Number(r[1]);
  }

  async get(id: string): Promise<PreparedQuery | null> {
    const v = await this.#redis.hget(this.#keys.queries, id);
    return v === null ? null : parseRecord(v);
  }

  /** Every query, sorted by ID (Consul's list order), and the index of the last write. */
  async list(): Promise<{ queries: PreparedQuery[]; index: number }> {
    const [all, rev] = await Promise.all([this.#redis.hgetall(this.#keys.queries), this.#redis.get(this.#keys.queriesRev)]);
    const queries = Object.values(all).map(parseRecord).sort((a, b) => (a.ID < b.ID ? -1 : 1));
    return { queries, index: Number(rev ?? 0) };
  }

  /** Which of these sessions exist (a session-bound query goes when its session does). */
  async sessionsExist(ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const v = await this.#redis.hmget(this.#keys.sessions, ...ids);
    return v.map(x => x !== null);
  }

  /** The index of the last write (cheap: pollers reload only when it moved). */
  async revision(): Promise<number> {
    return Number(await this.#redis.get(this.#keys.queriesRev) ?? 0);
  }
}

function parseRecord(v: string): PreparedQuery {
  const a = v.indexOf('\n'); const b = v.indexOf('\n', a + 1); const c = v.indexOf('\n', b + 1);
  const body = JSON.parse(v.slice(c + 1)) as Omit<PreparedQuery, 'CreateIndex' | 'ModifyIndex'>;
  return { ...body, CreateIndex: Number(v.slice(0, a)), ModifyIndex: Number(v.slice(a + 1, b)) };
}

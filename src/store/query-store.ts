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

const PUT = `
local old = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[2] == 'update' and not old then return {0, "Cannot modify non-existent prepared query: '" .. ARGV[1] .. "'"} end
if ARGV[2] == 'create' and old then return {0, 'ID already in use'} end
local nk = ARGV[3]
if nk ~= '' then
  local owner = redis.call('HGET', KEYS[3], nk)
  if owner and owner ~= ARGV[1] then
    if nk == 'n:' then return {0, 'a query template with an empty name already exists'} end
    return {0, "name '" .. ARGV[5] .. "' aliases an existing query name"}
  end
  local asid = string.sub(nk, 3)
  if asid ~= ARGV[1] and redis.call('HEXISTS', KEYS[2], asid) == 1 then return {0, "name '" .. ARGV[5] .. "' aliases an existing query ID"} end
end
local idx = redis.call('INCR', KEYS[1])
local create = idx
if old then
  local c, _, onk = string.match(old, '^(%d+)\\n(%d+)\\n([^\\n]*)\\n')
  create = tonumber(c)
  if onk ~= '' and redis.call('HGET', KEYS[3], onk) == ARGV[1] then redis.call('HDEL', KEYS[3], onk) end
end
if nk ~= '' then redis.call('HSET', KEYS[3], nk, ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[1], create .. '\\n' .. idx .. '\\n' .. nk .. '\\n' .. ARGV[4])
redis.call('SET', KEYS[4], idx)
return {1, create, idx}`;

const DEL = `
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return {0, "Cannot modify non-existent prepared query: '" .. ARGV[1] .. "'"} end
local onk = string.match(old, '^%d+\\n%d+\\n([^\\n]*)\\n')
if onk ~= '' and redis.call('HGET', KEYS[3], onk) == ARGV[1] then redis.call('HDEL', KEYS[3], onk) end
redis.call('HDEL', KEYS[2], ARGV[1])
local idx = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[4], idx)
return {1, idx, idx}`;

/** A write refused by Consul's rules (HTTP 500 with this text). */
export class QueryWriteError extends Error {}

export class QueryStore {
  readonly #redis: Redis;
  readonly #keys: Keys;

  constructor(redis: Redis, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  #k(): [string, string, string, string] {
    return [this.#keys.index, this.#keys.queries, this.#keys.queryNames, this.#keys.queriesRev];
  }

  /** Creates or replaces a query; returns its indexes. */
  async put(q: PreparedQuery, mode: 'create' | 'update'): Promise<{ createIndex: number; modifyIndex: number }> {
    const nameKey = q.Name || q.Template.Type ? `n:${q.Name.toLowerCase()}` : '';
    const { CreateIndex: _c, ModifyIndex: _m, ...body } = q;
    const r = await this.#redis.eval(PUT, 4, ...this.#k(), q.ID, mode, nameKey, JSON.stringify(body), q.Name) as [number, string | number, number?];
    if (r[0] !== 1) throw new QueryWriteError(String(r[1]));
    return { createIndex: Number(r[1]), modifyIndex: Number(r[2]) };
  }

  async delete(id: string): Promise<number> {
    const r = await this.#redis.eval(DEL, 4, ...this.#k(), id) as [number, string | number];
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

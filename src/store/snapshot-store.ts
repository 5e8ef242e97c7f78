/**
 * @module Snapshots of a datacenter in Redis: a consistent save and an atomic restore.
 *
 * Save: one Lua script DUMPs every key of the datacenter (everything under `<prefix>:`, the DC's
 * hash tag) at one index — the script runs atomically, so the snapshot is one point in time. Not
 * saved: the index, crev and epoch counters (a restore sets its own), BullMQ's queue keys (check
 * schedules are rebuilt from the catalog), streams (a change log is not state), keys with a TTL
 * (leases, such as the gossip reconciler's: a restore deletes them and their holder takes them
 * again) and staging keys.
 * Whatever Roster keeps under the prefix is included, so ACLs and prepared queries will be too
 * once they exist.
 *
 * Restore: every key is RESTOREd under a staging name `<prefix>:restore:<token>:<name>` (with a
 * TTL, so an abandoned restore cleans itself up) while the file streams in; only once the file's
 * checksum has verified does one Lua script replace the live keys by the staged ones, set the index
 * to max(current, restored, what the caller has seen)+1 (and stamps the table, service and KV entry
 * modify indexes with it, so no blocking query sees an index go back), INCR the epoch (the epoch rule: every
 * agent then reloads its view authoritatively), shift the deadlines (TTL checks, sessions, deferred
 * outputs) by the time since the snapshot, and publish the restore to the agents.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { defineScript } from './script.ts';
import { decodeSnapshot, SnapshotError, FORMAT_VERSION, type SnapshotHeader } from './snapshot-format.ts';

/** A staged key lives this long without a commit (an interrupted restore leaves nothing behind for long). */
const STAGE_TTL_MS = 15 * 60_000;
const BATCH = 128;

const COMMON = `
local PREFIX = ARGV[1]
local function esc(s) return (string.gsub(s, '[%*%?%[%]\\\\]', '\\\\%0')) end
local function scan(pat, fn)
  local c = '0'
  repeat
    local r = redis.call('SCAN', c, 'MATCH', pat, 'COUNT', 1000)
    c = r[1]
    for _, k in ipairs(r[2]) do fn(k) end
  until c == '0'
end
local SKIP = {index = true, crev = true, epoch = true}
-- A key that belongs in a snapshot: the DC's data, not its counters, queues, streams or staging area.
local function isData(k)
  local suffix = string.sub(k, #PREFIX + 2)
  if SKIP[suffix] or string.sub(suffix, 1, 5) == 'bull:' or string.sub(suffix, 1, 8) == 'restore:' then return false end
  return redis.call('TYPE', k).ok ~= 'stream'
end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** KEYS: index, nodes, kv, sessions. Returns {index, timeMs, nodes, services, checks, kv, sessions, name, dump, ...}. */
const SAVE = COMMON + `
local out = {tonumber(redis.call('GET', KEYS[1]) or '0'), nowMs(), redis.call('HLEN', KEYS[2]), 0, 0, redis.call('HLEN', KEYS[3]), redis.call('HLEN', KEYS[4])}
local svcP, chkP = PREFIX .. ':svc:', PREFIX .. ':chk:'
scan(esc(PREFIX) .. ':*', function(k)
  -- Keys with a TTL are leases (the gossip reconciler's), not state: a restore must not make them permanent.
  if not isData(k) or redis.call('PTTL', k) ~= -1 then return end
  if string.sub(k, 1, #svcP) == svcP then out[4] = out[4] + redis.call('HLEN', k)
  elseif string.sub(k, 1, #chkP) == chkP then out[5] = out[5] + redis.call('HLEN', k) end
  out[#out + 1] = string.sub(k, #PREFIX + 2)
  out[#out + 1] = redis.call('DUMP', k)
end)
return out
`;

/**
 * KEYS: index, crev, epoch, events, kvEvents, tables, svcidx, ttl, sessexp, outq, kv.
 * ARGV: prefix, token, staged key count, restored index, snapshot's Redis time (ms), floor index.
 */
const COMMIT = COMMON + `
local TOKEN, N, RIDX, RTIME, FLOOR = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local stage = PREFIX .. ':restore:' .. TOKEN .. ':'
local staged, live = {}, {}
scan(esc(stage) .. '*', function(k) staged[#staged + 1] = k end)
if #staged ~= N then return redis.error_reply('staged snapshot incomplete: ' .. #staged .. ' of ' .. N .. ' keys') end
scan(esc(PREFIX) .. ':*', function(k) if isData(k) then live[#live + 1] = k end end)
for _, k in ipairs(live) do redis.call('UNLINK', k) end
for _, k in ipairs(staged) do
  local dst = PREFIX .. ':' .. string.sub(k, #stage + 1)
  redis.call('RENAME', k, dst)
  redis.call('PERSIST', dst)
end
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local idx = math.max(cur, RIDX, FLOOR) + 1
redis.call('SET', KEYS[1], idx)
local crev = redis.call('INCR', KEYS[2])
local epoch = redis.call('INCR', KEYS[3])
for _, t in ipairs({'nodes', 'services', 'checks', 'kv', 'sessions'}) do redis.call('HSET', KEYS[6], t, idx) end
for _, t in ipairs(redis.call('HKEYS', KEYS[6])) do redis.call('HSET', KEYS[6], t, idx) end
for _, s in ipairs(redis.call('HKEYS', KEYS[7])) do redis.call('HSET', KEYS[7], s, idx) end
-- KV entries (lines C, M, L, F, S, then the value) are stamped modified at the restore's index: KV blocking queries
-- (whose index is the entries' ModifyIndex) then see a newer index, and a CAS with a pre-restore index fails.
local kv = redis.call('HGETALL', KEYS[11])
for i = 1, #kv, 2 do
  local c, rest = string.match(kv[i + 1], '^(%d+)\\n%d+\\n(.*)$')
  if c then redis.call('HSET', KEYS[11], kv[i], c .. '\\n' .. idx .. '\\n' .. rest) end
end
local shift = nowMs() - RTIME
if shift ~= 0 then
  for z = 8, 10 do
    local all = redis.call('ZRANGE', KEYS[z], 0, -1, 'WITHSCORES')
    for i = 1, #all, 2 do redis.call('ZADD', KEYS[z], tonumber(all[i + 1]) + shift, all[i]) end
  end
end
redis.call('PUBLISH', KEYS[4], '{"i":' .. idx .. ',"r":' .. crev .. ',"n":[],"s":[],"t":"nsc","d":[],"x":' .. epoch .. '}')
redis.call('PUBLISH', KEYS[5], '{"i":' .. idx .. ',"s":1,"e":1,"a":1}')
return {idx, epoch, #staged, #live}
`;

export interface SavedSnapshot {
  header: SnapshotHeader;
  /** [name, DUMP payload, ...]: emptied by encodeSnapshot as it writes. */
  entries: (string | Buffer | null)[];
}

export interface RestoreResult { index: number; epoch: number; keys: number; replaced: number; header: SnapshotHeader }

type Fn = (...args: (string | number | Buffer)[]) => Promise<unknown>;

export class SnapshotStore {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly dc: string;
  #save: Fn; #commit: Fn;

  constructor(redis: Redis, keys: Keys, dc: string) {
    this.redis = redis;
    this.keys = keys;
    this.dc = dc;
    this.#save = defineScript(redis, 'rosterSnapshotSave', SAVE, [keys.index, keys.nodes, keys.kv, keys.sessions], keys.prefix, true);
    this.#commit = defineScript(redis, 'rosterSnapshotCommit', COMMIT,
      [keys.index, keys.crev, keys.epoch, keys.events, keys.kvEvents, keys.tables, keys.serviceIndex, keys.ttl, keys.sessionExpiry, keys.outq, keys.kv], keys.prefix);
  }

  /** Takes a consistent snapshot (one Lua script, so one index). */
  async save(): Promise<SavedSnapshot> {
    const [info, res] = await Promise.all([this.redis.info('server'), this.#save() as Promise<(Buffer | number)[]>]);
    const n = (i: number): number => Number(res[i]);
    const entries = res.slice(7) as (string | Buffer | null)[];
    for (let i = 0; i < entries.length; i += 2) entries[i] = String(entries[i]);
    const header: SnapshotHeader = {
      version: FORMAT_VERSION, dc: this.dc, index: n(0), created: new Date().toISOString(), redisTimeMs: n(1),
      redisVersion: /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? '', keys: entries.length / 2,
      counts: { nodes: n(2), services: n(3), checks: n(4), kv: n(5), sessions: n(6), acl: 0, query: 0 },
    };
    return { header, entries };
  }

  /**
   * Restores a snapshot stream atomically; `floorIndex` is the highest index the caller has seen
   * (the new index is above it). Throws SnapshotError, having changed nothing, for a corrupt,
   * truncated or foreign file.
   */
  async restore(input: AsyncIterable<Buffer | string>, floorIndex = 0): Promise<RestoreResult> {
    const token = randomBytes(8).toString('hex');
    const stage = `${this.keys.prefix}:restore:${token}:`;
    let header: SnapshotHeader | null = null;
    let n = 0;
    let batch = this.redis.pipeline();
    let inBatch = 0;
    const flush = async (): Promise<void> => {
      if (inBatch === 0) return;
      const res = await batch.exec();
      batch = this.redis.pipeline();
      inBatch = 0;
      for (const [err] of res ?? []) if (err) throw new SnapshotError(`snapshot value refused by Redis: ${err.message}`);
    };
    try {
      for await (const item of decodeSnapshot(input)) {
        if (item.kind === 'header') {
          header = item.header;
          if (header.dc !== this.dc) throw new SnapshotError(`snapshot is of datacenter "${header.dc}", this agent's is "${this.dc}"`);
          continue;
        }
        const name = item.name;
        if (/^(index|crev|epoch)$|^(bull|restore):/.test(name)) throw new SnapshotError(`snapshot holds a key Roster never saves: ${JSON.stringify(name.slice(0, 64))}`);
        batch.restore(stage + name, STAGE_TTL_MS, item.value);
        n++;
        if (++inBatch >= BATCH) await flush();
      }
      await flush();
      if (!header) throw new SnapshotError('snapshot header is missing');
      const [index, epoch, keys, replaced] = await this.#commit(token, n, header.index, Math.round(header.redisTimeMs), floorIndex) as number[];
      return { index: index!, epoch: epoch!, keys: keys!, replaced: replaced!, header };
    } catch (err) {
      await this.#discard(stage).catch(() => {}); // the staged keys also expire on their own
      throw err;
    }
  }

  async #discard(stage: string): Promise<void> {
    const pattern = stage.replace(/[*?[\]\\]/g, '\\$&') + '*';
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (found.length) await this.redis.unlink(...found);
    } while (cursor !== '0');
  }
}

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
 * outputs) by the time since the snapshot, and publish the restore to the agents. The ACL revision goes to
 * max(live, restored)+1 and is announced as ACL writes announce it: every agent's ACL cache follows the restored
 * tokens and policies (and the restored HMAC key) within a second.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { defineScript } from './script.ts';
import { decodeSnapshot, SnapshotError, FORMAT_VERSION, type SnapshotHeader } from './snapshot-format.ts';

/** A staged key lives this long without a commit (an interrupted restore leaves nothing behind for long). */
const STAGE_TTL_MS = 15 * 60_000;
const BATCH = 128;

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
    this.#save = defineScript(redis, 'snapshotSave-4.lua', [keys.index, keys.nodes, keys.kv, keys.sessions], { prefix: keys.prefix, buffers: true });
    this.#commit = defineScript(redis, 'snapshotCommit-11.lua',
      [keys.index, keys.crev, keys.epoch, keys.stream, keys.hints, keys.tables, keys.serviceIndex, keys.ttl, keys.sessionExpiry, keys.outq, keys.kv], { prefix: keys.prefix });
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
      const [index, epoch, keys, replaced] = await this.#commit(token, n, header.index, Math.round(header.redisTimeMs), floorIndex, this.keys.aclRev) as number[];
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

/**
 * @module User events in Redis (Consul's /v1/event): the newest 256, deduplicated by ID, so every
 * agent sharing the Redis lists the same events. The script is scripts/userEvent-14.lua.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { defineKvScript } from './kv-store.ts';

export class EventStore {
  readonly redis: Redis;
  readonly keys: Keys;
  #event: (...args: (string | number)[]) => Promise<unknown>;

  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
    this.#event = defineKvScript(redis, keys, 'userEvent-14.lua');
  }

  /** Stores a user event (deduplicated by ID, newest 256 kept). Returns the stored JSON, or null if already known. */
  async record(ev: { ID: string; LTime: number }, stampLTime: boolean): Promise<string | null> {
    return ((await this.#event(ev.ID, JSON.stringify(ev), stampLTime ? '1' : '0')) as string | null) ?? null;
  }

  /** The stored user events, oldest first. */
  async list(): Promise<Record<string, unknown>[]> {
    return (await this.redis.lrange(this.keys.userEvents, 0, -1)).map(s => JSON.parse(s) as Record<string, unknown>);
  }
}

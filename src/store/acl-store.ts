/**
 * @module Tokens, policies and roles in Redis, next to the catalog (src/store/scripts/acl*-10.lua).
 *
 * Secrets are never stored. A token is found by its secret through a keyed digest:
 * HMAC-SHA256(K, SecretID), where K is 32 random bytes created once per datacenter (SET NX) and
 * shared by its agents. The digest indexes `aclSecrets` and sits in the token record; the
 * record itself holds no SecretID. A Redis dump, an AOF file or a replica therefore shows only
 * digests: a SecretID is a random UUID (122 bits), so a digest cannot be turned back into a
 * usable secret even by someone who also holds K. (A per-token random salt would make lookup by
 * secret impossible without scanning every token; the keyed digest gives the same protection for
 * random secrets.) Consequence for clients: a token's SecretID is shown only when it is created
 * (and by /v1/acl/token/self, which the caller authenticated with); reads and lists show `<hidden>`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.ts';
import { defineScript, type ScriptFn } from './script.ts';

export interface Link { ID: string; Name?: string }
export interface ServiceIdentity { ServiceName: string; Datacenters?: string[] }
export interface NodeIdentity { NodeName: string; Datacenter: string }

/** A token as stored (no SecretID). */
export interface TokenRec {
  AccessorID: string;
  Description: string;
  Policies: Link[];
  Roles: Link[];
  ServiceIdentities: ServiceIdentity[];
  NodeIdentities: NodeIdentity[];
  Local: boolean;
  ExpirationTime?: string;
  CreateTime: string;
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface PolicyRec {
  ID: string; Name: string; Description: string; Rules: string; Datacenters: string[] | null; Hash: string; CreateIndex: number; ModifyIndex: number;
}

export interface RoleRec {
  ID: string; Name: string; Description: string; Policies: Link[]; ServiceIdentities: ServiceIdentity[]; NodeIdentities: NodeIdentity[]; Hash: string; CreateIndex: number; ModifyIndex: number;
}

/** A refused write: `code` from the script (NOTFOUND, NAMEEXISTS, BOOTSTRAPPED <n>, …). */
export class AclStoreError extends Error {
  readonly code: string;
  readonly arg: string;
  constructor(code: string, arg: string) {
    super(`${code}${arg ? ' ' + arg : ''}`);
    this.code = code;
    this.arg = arg;
  }
}

export type WriteMode = 'create' | 'update' | 'seed';
type Stored<T> = Omit<T, 'CreateIndex' | 'ModifyIndex'>;

function decode<T>(raw: string): { rec: T; third: string } {
  const a = raw.indexOf('\n');
  const b = raw.indexOf('\n', a + 1);
  const c = raw.indexOf('\n', b + 1);
  const rec = JSON.parse(raw.slice(c + 1)) as T & { CreateIndex: number; ModifyIndex: number };
  rec.CreateIndex = Number(raw.slice(0, a));
  rec.ModifyIndex = Number(raw.slice(a + 1, b));
  return { rec, third: raw.slice(b + 1, c) };
}

function mapError(err: unknown): never {
  const m = /^(?:ERR )?([A-Z]+)(?: (\S+))?/.exec((err as Error).message);
  if (m && ['BOOTSTRAPPED', 'BADRESET', 'NOTFOUND', 'SECRETCHANGE', 'ACCESSORUSED', 'SECRETUSED', 'NAMECLASH', 'IDUSED', 'NAMEEXISTS'].includes(m[1]!)) throw new AclStoreError(m[1]!, m[2] ?? '');
  throw err;
}

export class AclStore {
  readonly redis: Redis;
  readonly keys: Keys;
  #key: Buffer | null = null;
  #tokenPut: ScriptFn; #tokenDel: ScriptFn; #namedPut: ScriptFn; #namedDel: ScriptFn;

  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
    const k = [keys.index, keys.aclTokens, keys.aclSecrets, keys.aclPolicies, keys.aclPolicyNames, keys.aclRoles, keys.aclRoleNames, keys.aclBootstrap, keys.aclRev, keys.hints];
    this.#tokenPut = defineScript(redis, 'aclTokenPut-10.lua', k, { prefix: keys.prefix });
    this.#tokenDel = defineScript(redis, 'aclTokenDelete-10.lua', k, { prefix: keys.prefix });
    this.#namedPut = defineScript(redis, 'aclNamedPut-10.lua', k, { prefix: keys.prefix });
    this.#namedDel = defineScript(redis, 'aclNamedDelete-10.lua', k, { prefix: keys.prefix });
  }

  /** Loads (or creates, once per datacenter) the HMAC key. Call before anything else. */
  async init(): Promise<void> {
    await this.redis.set(this.keys.aclHmacKey, randomBytes(32).toString('hex'), 'NX');
    const hex = await this.redis.get(this.keys.aclHmacKey);
    if (!hex || !/^[0-9a-f]{64}$/.test(hex)) throw new Error('ACL store: the datacenter\'s HMAC key in Redis is missing or malformed');
    this.#key = Buffer.from(hex, 'hex');
  }

  /** The keyed digest of a secret (what Redis holds instead of it). */
  digest(secret: string): string {
    if (!this.#key) throw new Error('ACL store not initialised');
    return createHmac('sha256', this.#key).update(secret).digest('hex');
  }

  async putToken(mode: WriteMode | 'bootstrap', rec: Stored<TokenRec>, secret: string, resetIndex = ''): Promise<number> {
    try {
      return Number(await this.#tokenPut(mode, rec.AccessorID, this.digest(secret), JSON.stringify(rec), resetIndex));
    } catch (err) { mapError(err); }
  }

  /** Updates a token, keeping its secret (its stored digest). */
  async putTokenKeepSecret(rec: Stored<TokenRec>): Promise<number> {
    const raw = await this.redis.hget(this.keys.aclTokens, rec.AccessorID);
    if (!raw) throw new AclStoreError('NOTFOUND', '');
    try {
      return Number(await this.#tokenPut('update', rec.AccessorID, decode<TokenRec>(raw).third, JSON.stringify(rec), ''));
    } catch (err) { mapError(err); }
  }

  /** Deletes a token; 0 when there was none. */
  async deleteToken(accessor: string): Promise<number> {
    return Number(await this.#tokenDel(accessor));
  }

  async getToken(accessor: string): Promise<TokenRec | null> {
    const raw = await this.redis.hget(this.keys.aclTokens, accessor);
    return raw ? decode<TokenRec>(raw).rec : null;
  }

  /** The token whose SecretID is `secret` (by its digest), or null. */
  async tokenBySecret(secret: string): Promise<TokenRec | null> {
    const d = this.digest(secret);
    const acc = await this.redis.hget(this.keys.aclSecrets, d);
    if (!acc) return null;
    const raw = await this.redis.hget(this.keys.aclTokens, acc);
    if (!raw) return null;
    const { rec, third } = decode<TokenRec>(raw);
    return third === d ? rec : null;
  }

  /** Whether `secret` is the SecretID of token `accessor` (updates must not change it). */
  async secretMatches(accessor: string, secret: string): Promise<boolean> {
    const raw = await this.redis.hget(this.keys.aclTokens, accessor);
    return raw !== null && decode<TokenRec>(raw).third === this.digest(secret);
  }

  async listTokens(): Promise<TokenRec[]> {
    const all = await this.redis.hgetall(this.keys.aclTokens);
    return Object.values(all).map(r => decode<TokenRec>(r).rec).sort((a, b) => (a.AccessorID < b.AccessorID ? -1 : 1));
  }

  async putPolicy(mode: WriteMode, rec: Stored<PolicyRec>): Promise<number> {
    try {
      return Number(await this.#namedPut('policy', mode, rec.ID, rec.Name.toLowerCase(), JSON.stringify(rec)));
    } catch (err) { mapError(err); }
  }

  async putRole(mode: WriteMode, rec: Stored<RoleRec>): Promise<number> {
    try {
      return Number(await this.#namedPut('role', mode, rec.ID, rec.Name.toLowerCase(), JSON.stringify(rec)));
    } catch (err) { mapError(err); }
  }

  async deleteNamed(kind: 'policy' | 'role', id: string): Promise<number> {
    return Number(await this.#namedDel(kind, id));
  }

  async listPolicies(): Promise<PolicyRec[]> {
    return this.#list<PolicyRec>(this.keys.aclPolicies);
  }

  async listRoles(): Promise<RoleRec[]> {
    return this.#list<RoleRec>(this.keys.aclRoles);
  }

  async #list<T extends { ID: string }>(key: string): Promise<T[]> {
    const all = await this.redis.hgetall(key);
    return Object.values(all).map(r => decode<T>(r).rec).sort((a, b) => (a.ID < b.ID ? -1 : 1));
  }

  /** The ACL revision (+1 per change); agents compare it with theirs. */
  async rev(): Promise<number> {
    return Number(await this.redis.get(this.keys.aclRev)) || 0;
  }
}

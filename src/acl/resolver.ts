/**
 * @module Token resolution on an agent: secret → token → policies (direct, through roles, and the
 * synthetic ones of service/node identities) → Authorizer, cached per secret for `token_ttl`.
 *
 * Freshness: every ACL write bumps `aclRev` and appends it to the change hints stream in the same script
 * (src/store/scripts/acl*-10.lua); the agent's hints reader (src/store/hint-log.ts) hands it on, and the
 * resolver drops its cached tokens and reloads policies and roles. The reader catches up from its last
 * position after a reconnect; when hints may have been lost it says so and the resolver reloads anyway.
 * A reload that fails (Redis unreachable) is retried every second until one succeeds.
 * While Redis is unreachable, `down_policy` decides: extend-cache/async-cache keep using cached
 * tokens (an uncached one is denied), `allow` allows everything, `deny` denies everything.
 */
import { randomUUID } from 'node:crypto';
import type { AclConfig } from '../config/schema.ts';
import type { AclStore, PolicyRec, RoleRec, TokenRec } from '../store/acl-store.ts';
import type { HintSource } from '../store/hint-log.ts';
import { ALLOW_ALL, Authorizer } from './authorizer.ts';
import { GLOBAL_MANAGEMENT_RULES, GLOBAL_READ_ONLY_RULES, parseRules, type Rules } from './rules.ts';
import { logger } from '../log.ts';

const log = logger('agent.acl');

export const MANAGEMENT_POLICY_ID = '00000000-0000-0000-0000-000000000001';
export const READ_ONLY_POLICY_ID = '00000000-0000-0000-0000-000000000002';
export const ANONYMOUS_ACCESSOR = '00000000-0000-0000-0000-000000000002';
export const ANONYMOUS_SECRET = 'anonymous';
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** An unknown (or expired) secret: 403 `ACL not found`. */
export class AclNotFound extends Error {
  constructor() { super('ACL not found'); }
}

/** A resolved token: who (accessor, for error texts) and what it may do. */
export interface Identity {
  accessor: string;
  /** The anonymous token (no secret or `anonymous`). */
  anonymous: boolean;
  authz: Authorizer;
  token: TokenRec | null;
}

interface Cached { id: Identity | null; at: number }

const CACHE_MAX = 10_000;
/** down_policy deny (one object: DNS and filter caches key on it). */
const DENY_ALL = new Authorizer([], false);

export class AclResolver {
  readonly store: AclStore;
  readonly cfg: AclConfig;
  /** Policies and roles of the datacenter (few; reloaded whole on every ACL change). */
  policies = new Map<string, { rec: PolicyRec; rules: Rules }>();
  roles = new Map<string, RoleRec>();
  #cache = new Map<string, Cached>();
  /** Authorizers per token version: the same object while nothing changed (callers cache per Authorizer). */
  #authz = new Map<string, Authorizer>();
  #rev = -1;
  #timer?: NodeJS.Timeout;
  /** A hint arrived (or hints were lost) and no reload has succeeded since: the retry timer reloads. */
  #stale = false;
  #unsub: (() => void)[] = [];
  #now: () => number;
  /** Count of resolutions that read Redis (for tests and benchmarks). */
  lookups = 0;

  constructor(store: AclStore, cfg: AclConfig, opts: { now?: () => number } = {}) {
    this.store = store;
    this.cfg = cfg;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Seeds the built-in policies, the anonymous and initial management tokens, follows the change hints
   * (subscribed before the first load, so that nothing written after it is missed), loads.
   */
  async start(hints?: HintSource): Promise<void> {
    await this.store.init();
    await this.#seed();
    if (hints) {
      this.#unsub.push(hints.on('acl', () => this.#hinted(false)), hints.onLost(() => this.#hinted(true)));
    }
    await this.refresh();
    this.#timer = setInterval(() => { if (this.#stale) void this.refresh(); }, 1000);
    this.#timer.unref();
  }

  /** A change hint (or a loss of hints, `force`: reload even if the revision looks the same). */
  #hinted(force: boolean): void {
    this.#stale = true;
    if (force) this.#force = true;
    void this.refresh();
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const u of this.#unsub.splice(0)) u();
  }

  async #seed(): Promise<void> {
    const s = this.store;
    const hash = (x: unknown) => Buffer.from(JSON.stringify(x)).toString('base64').slice(0, 44);
    await s.putPolicy('seed', { ID: MANAGEMENT_POLICY_ID, Name: 'global-management', Description: 'Builtin Policy that grants unlimited access', Rules: GLOBAL_MANAGEMENT_RULES, Datacenters: null, Hash: hash(GLOBAL_MANAGEMENT_RULES) });
    await s.putPolicy('seed', { ID: READ_ONLY_POLICY_ID, Name: 'builtin/global-read-only', Description: 'Builtin Policy that grants unlimited read-only access to all components', Rules: GLOBAL_READ_ONLY_RULES, Datacenters: null, Hash: hash(GLOBAL_READ_ONLY_RULES) });
    await s.putToken('seed', { AccessorID: ANONYMOUS_ACCESSOR, Description: 'Anonymous Token', Policies: [], Roles: [], ServiceIdentities: [], NodeIdentities: [], Local: false, CreateTime: ZERO_TIME, Hash: hash('anonymous') }, ANONYMOUS_SECRET);
    const im = this.cfg.tokens.initialManagement;
    if (im && !(await s.tokenBySecret(im))) {
      // Consul creates it through the bootstrap path: bootstrap is then no longer allowed.
      try {
        await s.putToken('bootstrap', { AccessorID: randomUUID(), Description: 'Initial Management Token', Policies: [{ ID: MANAGEMENT_POLICY_ID }], Roles: [], ServiceIdentities: [], NodeIdentities: [], Local: false, CreateTime: new Date().toISOString(), Hash: hash(['im', Date.now()]) }, im);
      } catch {
        await s.putToken('create', { AccessorID: randomUUID(), Description: 'Initial Management Token', Policies: [{ ID: MANAGEMENT_POLICY_ID }], Roles: [], ServiceIdentities: [], NodeIdentities: [], Local: false, CreateTime: new Date().toISOString(), Hash: hash(['im', Date.now()]) }, im).catch(() => undefined);
      }
      log.info('initial management token created');
    }
  }

  #loading: Promise<void> | null = null;
  #again = false;
  #force = false;

  /**
   * Re-reads the revision; on a change (or when forced), reloads policies and roles and drops cached tokens.
   * One load at a time: a call while one runs makes it run once more (an older load never lands last).
   */
  refresh(): Promise<void> {
    if (this.#loading) { this.#again = true; return this.#loading; }
    this.#loading = (async () => {
      do {
        this.#again = false;
        await this.#load();
      } while (this.#again);
      this.#loading = null;
    })();
    return this.#loading;
  }

  async #load(): Promise<void> {
    if (this.store.redis.status !== 'ready') return;
    const force = this.#force;
    this.#force = false;
    try {
      const rev = await this.store.rev();
      if (rev === this.#rev && !force) { this.#stale = false; return; }
      // The HMAC key too: a snapshot restored from another Redis brings its own (its tokens' digests are made with it).
      await this.store.init();
      const [ps, rs] = await Promise.all([this.store.listPolicies(), this.store.listRoles()]);
      const policies = new Map<string, { rec: PolicyRec; rules: Rules }>();
      for (const p of ps) {
        const old = force ? undefined : this.policies.get(p.ID);
        let rules: Rules;
        try { rules = old && old.rec.ModifyIndex === p.ModifyIndex ? old.rules : parseRules(p.Rules); } catch { rules = parseRules(''); }
        policies.set(p.ID, { rec: p, rules });
      }
      this.policies = policies;
      this.roles = new Map(rs.map(r => [r.ID, r]));
      this.#cache.clear();
      this.#authz.clear();
      this.#rev = rev;
      this.#stale = false;
    } catch (err) {
      if (force) this.#force = true;
      log.debug('acl refresh failed', { err: (err as Error).message });
    }
  }

  /** The policy named `name` (case-insensitive, as Consul's name index). */
  policyByName(name: string): PolicyRec | undefined {
    const l = name.toLowerCase();
    for (const p of this.policies.values()) if (p.rec.Name.toLowerCase() === l) return p.rec;
    return undefined;
  }

  roleByName(name: string): RoleRec | undefined {
    const l = name.toLowerCase();
    for (const r of this.roles.values()) if (r.Name.toLowerCase() === l) return r;
    return undefined;
  }

  /** The cached identity of a secret while it is fresh (the synchronous fast path), else undefined. Throws AclNotFound like resolve. */
  cached(secret: string): Identity | undefined {
    const hit = this.#cache.get(secret || ANONYMOUS_SECRET);
    if (!hit) return undefined;
    const now = this.#now();
    return now - hit.at < this.cfg.tokenTtlMs ? this.#found(hit.id, now) : undefined;
  }

  /** Resolves a secret ('' = anonymous). Throws AclNotFound for an unknown or expired one. */
  async resolve(secret: string): Promise<Identity> {
    const key = secret || ANONYMOUS_SECRET;
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < this.cfg.tokenTtlMs) return this.#found(hit.id, now);
    if (this.store.redis.status !== 'ready') return this.#down(hit, now);
    if (hit && this.cfg.downPolicy === 'async-cache') {
      // Consul's async-cache: answer from the stale entry now, refresh in the background.
      if (!this.#refreshing.has(key)) {
        this.#refreshing.add(key);
        void this.#fetch(key, now).catch(() => undefined).finally(() => this.#refreshing.delete(key));
      }
      return this.#found(hit.id, now);
    }
    return this.#fetch(key, now, hit);
  }

  #refreshing = new Set<string>();

  async #fetch(key: string, now: number, hit?: Cached): Promise<Identity> {
    let tok: TokenRec | null;
    try {
      this.lookups++;
      tok = await this.store.tokenBySecret(key);
    } catch (err) {
      log.debug('acl token lookup failed; applying down_policy', { err: (err as Error).message });
      return this.#down(hit, now);
    }
    const id = tok ? this.identity(tok) : null;
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(key, { id, at: now });
    return this.#found(id, now);
  }

  #found(id: Identity | null, now: number): Identity {
    if (!id) throw new AclNotFound();
    if (id.token?.ExpirationTime && Date.parse(id.token.ExpirationTime) <= now) throw new AclNotFound();
    return id;
  }

  #down(hit: Cached | undefined, now: number): Identity {
    const p = this.cfg.downPolicy;
    if (p === 'allow') return { accessor: '', anonymous: false, authz: ALLOW_ALL, token: null };
    if ((p === 'extend-cache' || p === 'async-cache') && hit) return this.#found(hit.id, now);
    return { accessor: '', anonymous: false, authz: DENY_ALL, token: null };
  }

  /** A token's Authorizer from its policies, roles and identities as this agent knows them now. */
  identity(tok: TokenRec): Identity {
    const ids = new Set(tok.Policies.map(p => p.ID));
    const rules: Rules[] = [];
    const synth: string[] = [];
    const addIdentities = (s: TokenRec['ServiceIdentities'], n: TokenRec['NodeIdentities']) => {
      for (const si of s ?? []) synth.push(`service "${si.ServiceName}" { policy = "write" }\nservice "${si.ServiceName}-sidecar-proxy" { policy = "write" }\nservice_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }`);
      for (const ni of n ?? []) synth.push(`node "${ni.NodeName}" { policy = "write" }\nservice_prefix "" { policy = "read" }`);
    };
    addIdentities(tok.ServiceIdentities, tok.NodeIdentities);
    for (const r of tok.Roles ?? []) {
      const role = this.roles.get(r.ID);
      if (!role) continue;
      for (const p of role.Policies ?? []) ids.add(p.ID);
      addIdentities(role.ServiceIdentities, role.NodeIdentities);
    }
    const all = ids.has(MANAGEMENT_POLICY_ID);
    const key = `${tok.AccessorID}:${tok.ModifyIndex}`;
    let authz = all ? ALLOW_ALL : this.#authz.get(key);
    if (!authz) {
      for (const id of ids) { const p = this.policies.get(id); if (p) rules.push(p.rules); }
      for (const t of synth) { try { rules.push(parseRules(t)); } catch { /* names were validated on write */ } }
      authz = new Authorizer(rules, this.cfg.defaultPolicy === 'allow');
      if (this.#authz.size >= CACHE_MAX) this.#authz.clear();
      this.#authz.set(key, authz);
    }
    return { accessor: tok.AccessorID, anonymous: tok.AccessorID === ANONYMOUS_ACCESSOR, authz, token: tok };
  }

  #bootstrapped = false;

  /** Whether the ACL system was bootstrapped (Consul words `ACL not found` differently before). Once true, never asked again. */
  async bootstrapped(): Promise<boolean> {
    if (this.#bootstrapped) return true;
    try {
      this.#bootstrapped = (await this.store.redis.exists(this.store.keys.aclBootstrap)) === 1;
    } catch { return true; }
    return this.#bootstrapped;
  }

  /** Drops every cached token (after this agent's own ACL write: read-your-writes). */
  async invalidate(): Promise<void> {
    this.#force = true;
    await this.refresh();
  }
}

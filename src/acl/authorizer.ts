/**
 * @module Decisions over a token's merged rules, as Consul's policyAuthorizer makes them: an exact
 * rule for the name wins, then the longest matching `_prefix` rule, then the default policy.
 * Several policies merge per label with deny > write > list > read. Decisions are memoised per
 * (resource, name, level), so the DNS and HTTP hot paths pay one Map lookup per repeated check.
 */
import { LABELED, strongest, type Access, type Resource, type Rules, type Scalar } from './rules.ts';

export type Level = 'read' | 'list' | 'write';

interface Table {
  exact: Map<string, Access>;
  /** [label, access], longest label first. */
  prefix: [string, Access][];
  /** Every read of this resource is allowed (filters may be skipped). */
  readsAll: boolean;
}

function grants(a: Access, level: Level): boolean {
  if (a === 'deny') return false;
  if (level === 'read') return true;
  if (level === 'list') return a === 'list' || a === 'write';
  return a === 'write';
}

const MEMO_MAX = 20_000;

/** A token's effective permissions. Immutable; one per resolved token (shared by its requests). */
export class Authorizer {
  /** Everything allowed (global-management, ACLs off or down_policy allow). */
  readonly all: boolean;
  readonly defaultAllow: boolean;
  #tables = new Map<Resource, Table>();
  #scalar: Partial<Record<Scalar, Access>> = {};
  #memo = new Map<string, boolean>();

  constructor(policies: readonly Rules[], defaultAllow: boolean, all = false) {
    this.all = all;
    this.defaultAllow = defaultAllow;
    for (const res of LABELED) {
      const exact = new Map<string, Access>();
      const prefix = new Map<string, Access>();
      for (const p of policies) {
        for (const [l, a] of p.exact[res] ?? []) exact.set(l, strongest(exact.get(l), a));
        for (const [l, a] of p.prefix[res] ?? []) prefix.set(l, strongest(prefix.get(l), a));
      }
      const noDeny = [...exact.values(), ...prefix.values()].every(a => a !== 'deny');
      const root = prefix.get('');
      this.#tables.set(res, {
        exact, prefix: [...prefix].sort((a, b) => b[0].length - a[0].length),
        readsAll: all || (noDeny && (defaultAllow || (root !== undefined && root !== 'deny'))),
      });
    }
    for (const p of policies) for (const [k, a] of Object.entries(p.scalar) as [Scalar, Access][]) this.#scalar[k] = strongest(this.#scalar[k], a);
  }

  /** Whether `level` on resource `res` named `name` is allowed. */
  allow(res: Resource, name: string, level: Level): boolean {
    if (this.all) return true;
    const t = this.#tables.get(res)!;
    if (level === 'read' && t.readsAll) return true;
    const k = `${res}\0${level}\0${name}`;
    const hit = this.#memo.get(k);
    if (hit !== undefined) return hit;
    const a = this.#rule(t, name);
    const v = a === undefined ? this.defaultAllow : grants(a, level);
    if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
    this.#memo.set(k, v);
    return v;
  }

  #rule(t: Table, name: string): Access | undefined {
    const e = t.exact.get(name);
    if (e !== undefined) return e;
    for (const [l, a] of t.prefix) if (name.startsWith(l)) return a;
    return undefined;
  }

  /** Unlabeled resources (acl, keyring, operator, mesh, peering; mesh/peering fall back to operator). */
  allowScalar(s: Scalar, level: 'read' | 'write'): boolean {
    if (this.all) return true;
    let a = this.#scalar[s];
    if (a === undefined && (s === 'mesh' || s === 'peering')) a = this.#scalar.operator;
    return a === undefined ? this.defaultAllow : grants(a, level);
  }

  /** Whether every read of `res` is allowed (list filters can be skipped). */
  readsAll(res: Resource): boolean {
    return this.all || this.#tables.get(res)!.readsAll;
  }

  /**
   * Consul's KeyWritePrefix (DELETE ?recurse): the rule governing `prefix` must grant write, and no
   * exact or prefix rule under `prefix` may grant less than write.
   */
  keyWritePrefix(prefix: string): boolean {
    if (this.all) return true;
    const t = this.#tables.get('key')!;
    let gov: Access | undefined;
    for (const [l, a] of t.prefix) if (prefix.startsWith(l)) { gov = a; break; }
    if (gov === undefined ? !this.defaultAllow : gov !== 'write') return false;
    for (const [l, a] of t.prefix) if (l.startsWith(prefix) && l !== prefix && a !== 'write') return false;
    for (const [l, a] of t.exact) if (l.startsWith(prefix) && a !== 'write') return false;
    return true;
  }
}

/** Everything allowed: ACLs disabled, management tokens, down_policy allow. */
export const ALLOW_ALL = new Authorizer([], true, true);

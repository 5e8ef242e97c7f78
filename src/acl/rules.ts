/**
 * @module Consul's ACL rules language (acl/policy.go): HCL or JSON text → a validated Rules value.
 *
 * Labeled resources come in exact and `_prefix` forms; unlabeled ones (`acl`, `keyring`, `operator`,
 * `mesh`, `peering`) are scalars. Dispositions are read/list/write/deny (`list` for keys only).
 * Errors carry Consul's texts (`Failed to parse ACL rules: …`, `Invalid key policy: …`).
 */
import { parseHclRaw } from '../config/hcl.ts';

export type Access = 'deny' | 'read' | 'list' | 'write';
/** Labeled resource kinds (each has an exact and a `_prefix` form). */
export const LABELED = ['agent', 'event', 'key', 'node', 'query', 'service', 'session'] as const;
export type Resource = (typeof LABELED)[number];
export const SCALARS = ['acl', 'keyring', 'operator', 'mesh', 'peering'] as const;
export type Scalar = (typeof SCALARS)[number];

/** One parsed policy: per resource, exact and prefix rules (label → access); scalars. */
export interface Rules {
  exact: Partial<Record<Resource, Map<string, Access>>>;
  prefix: Partial<Record<Resource, Map<string, Access>>>;
  scalar: Partial<Record<Scalar, Access>>;
}

/** Thrown on invalid rules; the route maps it to 500 with this text (Consul's). */
export class RulesError extends Error {}

const ACCESS = new Set(['read', 'write', 'deny']);
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** HCL v1 gives each block as a list of one-key maps; merge them into one map (the JSON form). */
function flatten(v: unknown): Record<string, unknown> {
  if (isMap(v)) return v;
  const out: Record<string, unknown> = {};
  if (Array.isArray(v)) for (const x of v) if (isMap(x)) for (const [k, y] of Object.entries(x)) out[k] = y;
  return out;
}

/** Go's %#v of a rule, roughly, for Consul's `Invalid <kind> policy: …` text. */
function goRepr(kind: string, label: string, body: Record<string, unknown>): string {
  const t = kind.startsWith('key') ? 'KeyRule' : kind.startsWith('service') ? 'ServiceRule' : `${kind[0]!.toUpperCase()}${kind.replace(/_prefix$/, '').slice(1)}Rule`;
  return `&acl.${t}{Prefix:${JSON.stringify(label)}, Policy:${JSON.stringify(String(body.policy ?? ''))}}`;
}

/** Parses and validates rules text (HCL or JSON). Empty text = a policy without rules. */
export function parseRules(text: string): Rules {
  const rules: Rules = { exact: {}, prefix: {}, scalar: {} };
  if (text.trim() === '') return rules;
  let doc: Record<string, unknown>;
  try {
    doc = parseHclRaw(text);
  } catch (err) {
    throw new RulesError(`Failed to parse ACL rules: ${(err as Error).message}`);
  }
  for (const [key, raw] of Object.entries(doc)) {
    if ((SCALARS as readonly string[]).includes(key)) {
      const v = Array.isArray(raw) ? raw[0] : raw;
      if (typeof v !== 'string' || !ACCESS.has(v)) throw new RulesError(`Invalid ${key} policy: ${JSON.stringify(String(v))}`);
      rules.scalar[key as Scalar] = v as Access;
      continue;
    }
    const isPrefix = key.endsWith('_prefix');
    const kind = (isPrefix ? key.slice(0, -7) : key) as Resource;
    if (!(LABELED as readonly string[]).includes(kind)) {
      // Enterprise-only and unknown blocks: Consul CE's decoder ignores unknown keys of its Policy struct.
      continue;
    }
    const table = (isPrefix ? rules.prefix : rules.exact);
    const m = (table[kind] ??= new Map());
    for (const [label, bodyRaw] of Object.entries(flatten(raw))) {
      const body = flatten(bodyRaw);
      const p = body.policy;
      const ok = typeof p === 'string' && (ACCESS.has(p) || (kind === 'key' && p === 'list'));
      if (!ok) throw new RulesError(`Invalid ${key} policy: ${goRepr(key, label, body)}`);
      if (kind === 'service' && body.intentions !== undefined && !(typeof body.intentions === 'string' && ACCESS.has(body.intentions))) {
        throw new RulesError(`Invalid service intentions policy: ${goRepr(key, label, body)}`);
      }
      m.set(label, strongest(m.get(label), p as Access));
    }
  }
  return rules;
}

const RANK: Record<Access, number> = { read: 1, list: 2, write: 3, deny: 4 };

/** Consul's takesPrecedenceOver when merging: deny > write > list > read. */
export function strongest(a: Access | undefined, b: Access): Access {
  return a === undefined || RANK[b] > RANK[a] ? b : a;
}

/** The rules of the built-in global-management policy (Consul's text). */
export const GLOBAL_MANAGEMENT_RULES = `
acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
  intentions = "write"
}
session_prefix "" {
  policy = "write"
}`;

/** The built-in read-only policy's rules (Consul 1.16+ `builtin/global-read-only`). */
export const GLOBAL_READ_ONLY_RULES = `
acl = "read"
agent_prefix "" { policy = "read" }
event_prefix "" { policy = "read" }
key_prefix "" { policy = "read" }
keyring = "read"
node_prefix "" { policy = "read" }
operator = "read"
mesh = "read"
peering = "read"
query_prefix "" { policy = "read" }
service_prefix "" { policy = "read" }
session_prefix "" { policy = "read" }`;

/**
 * @module Consul service definition files → the registrations a folder asks for, and the plan that
 * makes an agent match it (register new or changed, deregister what this registrar owns but the
 * folder no longer has). Pure functions, unit-tested.
 *
 * Files: `*.json` (or `*.hcl`) holding `{"service": {...}}` or `{"services": [...]}` (other keys, agent settings,
 * are ignored). Keys match case-insensitively as in Consul (`name`, `Name`, `port`, `check`, ...).
 * `*.hcl` files are read as Consul reads them (src/config/hcl.ts) into the same shape.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseHcl } from '../config/hcl.ts';

/** Service Meta key naming the registrar that owns a registration. */
export const OWNER_META = 'roster-registrar';
/** Service Meta key holding the hash of the definition that was registered. */
export const HASH_META = 'roster-registrar-hash';

export interface ServiceDef {
  id: string;
  name: string;
  file: string;
  /** The definition as PUT to /v1/agent/service/register, without ownership Meta. */
  body: Record<string, unknown>;
  /** Hash of `body` (stable key order). */
  hash: string;
}

/** A stable owner id for a folder: the first 12 hex chars of sha256(realpath). */
export function ownerId(dir: string): string {
  let p = resolve(dir);
  try { p = realpathSync(p); } catch { /* a folder that does not exist yet */ }
  return createHash('sha256').update(p).digest('hex').slice(0, 12);
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map(k => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Hash of a definition body, independent of key order. */
export function defHash(body: Record<string, unknown>): string {
  return createHash('sha256').update(stable(body)).digest('hex').slice(0, 16);
}

/** The value of `key` in `o`, matched case-insensitively, with the actual key. */
export function getCI(o: Record<string, unknown>, key: string): [string, unknown] | undefined {
  if (key in o) return [key, o[key]];
  const l = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === l) return [k, o[k]];
  return undefined;
}

/** The services of one parsed definition file; throws with a message naming the file on bad input. */
export function servicesOf(doc: unknown, file: string): ServiceDef[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file}: top level must be an object`);
  const raw: unknown[] = [];
  for (const k of ['service', 'services']) {
    const v = getCI(doc as Record<string, unknown>, k)?.[1];
    if (v === undefined || v === null) continue;
    raw.push(...(Array.isArray(v) ? v : [v]));
  }
  return raw.map((s, i) => {
    if (!s || typeof s !== 'object' || Array.isArray(s)) throw new Error(`${file}: service #${i + 1} must be an object`);
    const body = { ...(s as Record<string, unknown>) };
    const name = getCI(body, 'name')?.[1];
    if (typeof name !== 'string' || !name) throw new Error(`${file}: service #${i + 1}: Missing service name`);
    const idv = getCI(body, 'id')?.[1];
    const id = typeof idv === 'string' && idv ? idv : name;
    return { id, name, file, body, hash: defHash(body) };
  });
}

/** Parses one file's text: JSON, or HCL when the name ends in `.hcl`. */
export function parseDefinitionText(text: string, file: string): ServiceDef[] {
  if (file.endsWith('.hcl')) return servicesOf(parseHcl(text, file), file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return servicesOf(doc, file);
}

/** `body` plus the ownership Meta (the caller's Meta keys kept, whatever their key case). */
export function withOwner(d: ServiceDef, owner: string): Record<string, unknown> {
  const out = { ...d.body };
  const m = getCI(out, 'meta');
  const meta = { ...((m?.[1] as Record<string, string> | undefined) ?? {}), [OWNER_META]: owner, [HASH_META]: d.hash };
  if (m) delete out[m[0]];
  out.Meta = meta;
  if (!getCI(out, 'id')) out.ID = d.id;
  return out;
}

/** What /v1/agent/services tells us about one registration. */
export interface CurrentService {
  ID: string;
  Meta?: Record<string, string> | null;
}

export interface SyncPlan {
  /** New or changed definitions to PUT. */
  register: ServiceDef[];
  /** Service IDs this owner registered that the folder no longer has. */
  deregister: string[];
  /** IDs registered (and owned) by someone else: left alone. */
  conflicts: { id: string; owner: string }[];
  unchanged: number;
}

/**
 * Plans a sync: a desired service whose ID is registered with the same owner and hash is left alone
 * (identical re-registration is skipped entirely), one owned by another registrar is a conflict;
 * a registration of this owner that is not desired is removed. Unowned registrations are adopted.
 */
export function planSync(desired: readonly ServiceDef[], current: Record<string, CurrentService>, owner: string, force = false): SyncPlan {
  const plan: SyncPlan = { register: [], deregister: [], conflicts: [], unchanged: 0 };
  const want = new Set<string>();
  for (const d of desired) {
    want.add(d.id);
    const cur = current[d.id];
    const curOwner = cur?.Meta?.[OWNER_META];
    if (cur && curOwner && curOwner !== owner) { plan.conflicts.push({ id: d.id, owner: curOwner }); continue; }
    if (!force && cur && curOwner === owner && cur.Meta?.[HASH_META] === d.hash) { plan.unchanged++; continue; }
    plan.register.push(d);
  }
  for (const [id, s] of Object.entries(current)) if (s.Meta?.[OWNER_META] === owner && !want.has(id)) plan.deregister.push(id);
  plan.deregister.sort();
  return plan;
}

/**
 * Merges per-file results into the desired list: files that failed to parse keep their last good
 * definitions (a half-written file never deregisters anything); a duplicate ID keeps the first file
 * in name order and reports the other.
 */
export function mergeFiles(files: Map<string, ServiceDef[]>): { defs: ServiceDef[]; errors: string[] } {
  const seen = new Map<string, string>();
  const defs: ServiceDef[] = [];
  const errors: string[] = [];
  for (const file of [...files.keys()].sort()) {
    for (const d of files.get(file)!) {
      const prev = seen.get(d.id);
      if (prev) { errors.push(`${file}: service ID "${d.id}" is already defined in ${prev}; ignored`); continue; }
      seen.set(d.id, file);
      defs.push(d);
    }
  }
  return { defs, errors };
}

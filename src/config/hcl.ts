/**
 * @module HCL configuration and service definition files, read the way Consul reads them:
 * hashicorp/hcl v1 (the parser Consul uses, via the `js-hcl-parser` build of it), then Consul's
 * `lib.PatchSliceOfMaps`, which turns HCL's one-element lists of blocks (`service { ... }` →
 * `service: [{...}]`) back into objects, except under keys that really are lists (`services`,
 * `checks`, ...). The result has the same shape as the JSON form, so one code path reads both.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let parser: { parse(text: string): string } | undefined;

/** Paths whose lists stay lists (Consul's skip list, lower-case, dotted). */
const LISTS = new Set([
  'checks', 'segments', 'services', 'watches', 'service.checks', 'services.checks',
  'service.connect.proxy.config.upstreams', 'services.connect.proxy.config.upstreams',
  'service.connect.proxy.upstreams', 'services.connect.proxy.upstreams',
  'service.connect.proxy.expose.paths', 'services.connect.proxy.expose.paths',
  'service.proxy.upstreams', 'services.proxy.upstreams', 'service.proxy.expose.paths', 'services.proxy.expose.paths',
  'service.connect.sidecar_service.checks', 'services.connect.sidecar_service.checks',
  'service.connect.sidecar_service.proxy.upstreams', 'services.connect.sidecar_service.proxy.upstreams',
  'config_entries.bootstrap', 'acl.tokens.managed_service_provider',
]);

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function patch(path: string, v: unknown, file: string): unknown {
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = patch(path ? `${path}.${k.toLowerCase()}` : k.toLowerCase(), x, file);
    return out;
  }
  if (!Array.isArray(v)) return v;
  if (v.length === 0) return null;
  if (LISTS.has(path)) return v.map(x => patch(path, x, file));
  if (!isMap(v[0])) return v;
  if (v.length > 1) throw new Error(`${file}: ${path}: more than one block is not supported here${path === 'service' ? '; use "services" blocks for several services' : ''}`);
  return patch(path, v[0], file);
}

/**
 * HCL (or JSON) text as hashicorp/hcl v1 decodes it, blocks left as lists of one-key maps (ACL rules
 * read it this way: several `key_prefix "..." { }` blocks are normal there). Throws with line and column.
 */
export function parseHclRaw(text: string): Record<string, unknown> {
  parser ??= require('js-hcl-parser') as { parse(text: string): string };
  const out = parser.parse(text);
  let doc: unknown;
  try {
    doc = JSON.parse(out);
  } catch {
    throw new Error(out.replace(/^unable to parse JSON: /, ''));
  }
  if (!isMap(doc)) throw new Error('not an HCL object');
  return doc;
}

/** Parses HCL text into the object its JSON form would give. Throws with the file, line and column. */
export function parseHcl(text: string, file: string): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = parseHclRaw(text);
  } catch (err) {
    // The parser reports errors as text: "At 2:10: object expected closing RBRACE got: EOF".
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return patch('', doc, file) as Record<string, unknown>;
}

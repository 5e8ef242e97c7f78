/**
 * @module `roster services register FILE|DIR|flags` and `roster services deregister FILE|DIR|-id ID`:
 * service definitions (Consul's config-file JSON: {"service": {...}} or {"services": [...]}); a
 * folder means each of its `*.json` files. Many definitions show progress on stderr (progress.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encPath, fail, parseApiFlags } from './http.ts';
import { progress } from './progress.ts';

/** A file, or every `*.json` file of a folder (sorted), as `roster services register DIR` takes it. */
export function definitionFiles(arg: string): string[] {
  let dir = false;
  try { dir = statSync(arg).isDirectory(); } catch { /* definitionsFromFile reports it */ }
  if (!dir) return [arg];
  const files = readdirSync(arg).filter(f => f.endsWith('.json')).sort().map(f => join(arg, f));
  if (files.length === 0) throw new Error(`Error: no service definition files (*.json) in ${arg}`);
  return files;
}

/** The service definitions in a Consul JSON config file. */
export function definitionsFromFile(path: string): Record<string, unknown>[] {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`Error reading service definition file ${path}: ${(err as Error).message}`);
  }
  const out: Record<string, unknown>[] = [];
  for (const k of ['service', 'services']) {
    const v = doc[k];
    if (v) out.push(...(Array.isArray(v) ? v : [v]) as Record<string, unknown>[]);
  }
  if (out.length === 0) throw new Error(`Error: no service definitions found in ${path}`);
  return out;
}

export async function servicesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'register' && sub !== 'deregister') {
    process.stderr.write('Usage: roster services <subcommand> [options]\n\nSubcommands:\n    deregister    Deregister services from the local agent\n    register      Register services with the local agent\n');
    return sub === undefined ? 0 : 1;
  }
  const { flags, args, api } = parseApiFlags(rest, { name: 'string', id: 'string', address: 'string', port: 'int', tag: 'list', meta: 'list', kind: 'string', format: 'string' });
  try {
    if (sub === 'register') {
      let defs: Record<string, unknown>[];
      if (args.length > 0) defs = args.flatMap(definitionFiles).flatMap(definitionsFromFile);
      else {
        if (!flags.name) return fail('Service name must be specified via -name or a definition file');
        const meta: Record<string, string> = {};
        for (const m of (flags.meta as string[] | undefined) ?? []) {
          const i = m.indexOf('=');
          if (i < 0) return fail(`Error: meta must be key=value, got "${m}"`);
          meta[m.slice(0, i)] = m.slice(i + 1);
        }
        defs = [{ Name: flags.name, ID: flags.id, Address: flags.address, Port: flags.port, Tags: flags.tag, Meta: Object.keys(meta).length ? meta : undefined, Kind: flags.kind }];
      }
      const p = defs.length > 1 ? progress({ label: 'Registering services', total: defs.length }) : null;
      try {
        for (const d of defs) {
          await api.json('PUT', '/v1/agent/service/register', d);
          const name = (d.Name ?? d.name ?? d.ID ?? d.id) as string;
          if (p) p.line(`Registered service: ${name}\n`); else process.stdout.write(`Registered service: ${name}\n`);
          p?.add(1);
        }
      } catch (err) {
        p?.done(false);
        throw err;
      }
      p?.done();
      return 0;
    }
    let ids: string[];
    if (flags.id) ids = [flags.id as string];
    else if (args.length > 0) ids = args.flatMap(definitionFiles).flatMap(definitionsFromFile).map(d => (d.ID ?? d.id ?? d.Name ?? d.name) as string);
    else return fail('Either a service ID (-id) or a definition file must be specified');
    const p = ids.length > 1 ? progress({ label: 'Deregistering services', total: ids.length }) : null;
    try {
      for (const id of ids) {
        await api.json('PUT', `/v1/agent/service/deregister/${encPath(id)}`);
        if (p) p.line(`Deregistered service: ${id}\n`); else process.stdout.write(`Deregistered service: ${id}\n`);
        p?.add(1);
      }
    } catch (err) {
      p?.done(false);
      throw err;
    }
    p?.done();
    return 0;
  } catch (err) {
    return fail(`Error ${sub === 'register' ? 'registering' : 'deregistering'} service: ${(err as Error).message}`);
  }
}

/**
 * @module `roster services register FILE|flags` and `roster services deregister FILE|-id ID`:
 * service definitions (Consul's config-file JSON: {"service": {...}} or {"services": [...]}).
 */
import { readFileSync } from 'node:fs';
import { encPath, fail, parseApiFlags } from './http.ts';

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
      if (args.length > 0) defs = args.flatMap(definitionsFromFile);
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
      for (const d of defs) {
        await api.json('PUT', '/v1/agent/service/register', d);
        const name = (d.Name ?? d.name ?? d.ID ?? d.id) as string;
        process.stdout.write(`Registered service: ${name}\n`);
      }
      return 0;
    }
    let ids: string[];
    if (flags.id) ids = [flags.id as string];
    else if (args.length > 0) ids = args.flatMap(definitionsFromFile).map(d => (d.ID ?? d.id ?? d.Name ?? d.name) as string);
    else return fail('Either a service ID (-id) or a definition file must be specified');
    for (const id of ids) {
      await api.json('PUT', `/v1/agent/service/deregister/${encPath(id)}`);
      process.stdout.write(`Deregistered service: ${id}\n`);
    }
    return 0;
  } catch (err) {
    return fail(`Error ${sub === 'register' ? 'registering' : 'deregistering'} service: ${(err as Error).message}`);
  }
}

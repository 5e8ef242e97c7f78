/** @module `roster kv get|put|delete`: Consul's KV commands and messages. */
import { HelpRequested } from './flags.ts';
import { readFileSync } from 'node:fs';
import { encPath, fail, parseApiFlags } from './http.ts';
import { parseExact } from '../util/json.ts';

interface Pair { Key: string; Value: string | null; Flags: number | bigint; LockIndex: number; Session?: string; CreateIndex: number; ModifyIndex: number }

const USAGE = 'Usage: roster kv <subcommand> [options] [args]\n\nSubcommands:\n    delete    Removes data from the KV store\n    get       Retrieves or lists data from the KV store\n    put       Sets or updates data in the KV store\n';

const val = (p: Pair, b64: boolean) => (p.Value === null ? '' : b64 ? p.Value : Buffer.from(p.Value, 'base64').toString('utf8'));

function detailed(p: Pair, b64: boolean): string {
  const rows: [string, string][] = [
    ['CreateIndex', String(p.CreateIndex)], ['Flags', String(p.Flags)], ['Key', p.Key], ['LockIndex', String(p.LockIndex)],
    ['ModifyIndex', String(p.ModifyIndex)], ['Session', p.Session || '-'], ['Value', val(p, b64)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(17)}${v}`).join('\n') + '\n';
}

async function kvGet(argv: string[]): Promise<number> {
  const { flags, args, api } = parseApiFlags(argv, { recurse: 'bool', keys: 'bool', separator: 'string', detailed: 'bool', base64: 'bool', format: 'string' });
  if (args.length > 1) return fail(`Too many arguments (expected 1, got ${args.length})`);
  let key = args[0] ?? '';
  if (key.startsWith('/')) key = key.slice(1);
  if (!key && !flags.recurse && !flags.keys) return fail('Error! Missing KEY argument');
  const b64 = flags.base64 === true;
  const q = flags.keys ? { keys: '', separator: (flags.separator as string | undefined) ?? '/' } : flags.recurse ? { recurse: '' } : {};
  const r = await api.raw('GET', `/v1/kv/${encPath(key)}`, undefined, { ...q, ...(api.stale ? { stale: '' } : {}) });
  if (r.status === 404) {
    if (flags.keys || flags.recurse) return 0;
    return fail(`Error! No key exists at: ${key}`);
  }
  if (r.status !== 200) return fail(`Error querying Consul agent: Unexpected response code: ${r.status} (${r.text.trim()})`);
  if (flags.format === 'json') { process.stdout.write(JSON.stringify(parseExact(r.text), null, 2) + '\n'); return 0; }
  if (flags.keys) {
    for (const k of JSON.parse(r.text) as string[]) process.stdout.write(`${k}\n`);
    return 0;
  }
  const pairs = parseExact(r.text) as Pair[];
  if (flags.recurse) {
    for (const p of pairs) process.stdout.write(flags.detailed ? detailed(p, b64) + '\n' : `${p.Key}:${val(p, b64)}\n`);
    return 0;
  }
  process.stdout.write(flags.detailed ? detailed(pairs[0]!, b64) : `${val(pairs[0]!, b64)}\n`);
  return 0;
}

function readValue(arg: string | undefined, b64: boolean): Buffer {
  if (arg === undefined) return Buffer.alloc(0);
  let v: Buffer;
  if (arg === '-') v = readFileSync(0);
  else if (arg.startsWith('@')) v = readFileSync(arg.slice(1));
  else v = Buffer.from(arg);
  return b64 ? Buffer.from(v.toString('utf8'), 'base64') : v;
}

async function kvPut(argv: string[]): Promise<number> {
  const { flags, args, api } = parseApiFlags(argv, { cas: 'bool', 'modify-index': 'int', flags: 'string', acquire: 'bool', release: 'bool', session: 'string', base64: 'bool' });
  if (args.length === 0) return fail('Error! Missing KEY argument');
  if (args.length > 2) return fail(`Too many arguments (expected 1 or 2, got ${args.length})`);
  let key = args[0]!;
  if (key.startsWith('/')) key = key.slice(1);
  const body = readValue(args[1], flags.base64 === true);
  const q: Record<string, string | undefined> = {};
  if (flags.flags !== undefined) {
    const f = String(flags.flags);
    if (!/^\d+$/.test(f) || BigInt(f) > 0xffffffffffffffffn) return fail(`invalid value "${f}" for flag -flags: parse error`);
    q.flags = f;
  }
  if (flags.cas) {
    if (flags['modify-index'] === undefined) return fail('Must specify -modify-index with -cas!');
    q.cas = String(flags['modify-index']);
  }
  if ((flags.acquire || flags.release) && !flags.session) return fail('Error! Missing -session (required with -acquire and -release)');
  if (flags.acquire) q.acquire = flags.session as string;
  if (flags.release) q.release = flags.session as string;
  const r = await api.raw('PUT', `/v1/kv/${encPath(key)}`, body, q);
  if (r.status !== 200) return fail(`Error! Failed writing data: Unexpected response code: ${r.status} (${r.text.trim()})`);
  if (r.text.trim() !== 'true') {
    if (flags.cas) return fail(`Error! Did not write to ${key}: CAS failed`);
    if (flags.acquire) return fail(`Error! Did not write to ${key}: lock acquisition failed`);
    if (flags.release) return fail(`Error! Did not write to ${key}: lock release failed`);
    return fail(`Error! Failed writing data to ${key}`);
  }
  process.stdout.write(flags.acquire ? `Success! Lock acquired on: ${key}\n` : flags.release ? `Success! Lock released on: ${key}\n` : `Success! Data written to: ${key}\n`);
  return 0;
}

async function kvDelete(argv: string[]): Promise<number> {
  const { flags, args, api } = parseApiFlags(argv, { recurse: 'bool', cas: 'bool', 'modify-index': 'int' });
  if (args.length > 1) return fail(`Too many arguments (expected 1, got ${args.length})`);
  let key = args[0] ?? '';
  if (key.startsWith('/')) key = key.slice(1);
  if (!key && !flags.recurse) return fail('Error! Missing KEY argument');
  if (flags.recurse && flags.cas) return fail('Cannot specify both -cas and -recurse!');
  const q: Record<string, string | undefined> = {};
  if (flags.recurse) q.recurse = '';
  if (flags.cas) {
    if (flags['modify-index'] === undefined) return fail('Must specify -modify-index with -cas!');
    q.cas = String(flags['modify-index']);
  }
  const r = await api.raw('DELETE', `/v1/kv/${encPath(key)}`, undefined, q);
  if (r.status !== 200) return fail(`Error! Did not delete key ${key}: Unexpected response code: ${r.status} (${r.text.trim()})`);
  if (r.text.trim() !== 'true') return fail(`Error! Did not delete key ${key}: CAS failed`);
  process.stdout.write(flags.recurse ? `Success! Deleted keys with prefix: ${key}\n` : `Success! Deleted key: ${key}\n`);
  return 0;
}

export async function kvCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const run: Record<string, (a: string[]) => Promise<number>> = { get: kvGet, put: kvPut, delete: kvDelete };
  const f = sub ? run[sub] : undefined;
  if (!f) {
    process.stderr.write(USAGE);
    return sub === undefined ? 0 : 1;
  }
  try {
    return await f(rest);
  } catch (err) {
    if (err instanceof HelpRequested) throw err;
    return fail(`Error! ${(err as Error).message}`);
  }
}


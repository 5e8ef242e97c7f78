/**
 * @module `roster snapshot save|restore|inspect`: Consul's `consul snapshot` commands, their flags
 * and wording, on Roster's snapshot format (src/store/snapshot-format.ts). Save and restore show
 * their progress on stderr (src/cli/progress.ts: a bar on a terminal, plain lines otherwise).
 */
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HelpRequested } from './flags.ts';
import { columns, fail, parseApiFlags } from './http.ts';
import { decodeSnapshot, type SnapshotHeader } from '../store/snapshot-format.ts';
import { progress } from './progress.ts';

const USAGE = `Usage: roster snapshot <subcommand> [options] [args]

  Saves, restores and inspects snapshots of the datacenter's state (catalog, KV, sessions).

Subcommands:
    inspect    Displays information about a snapshot file
    restore    Restores snapshot of the datacenter's state
    save       Saves snapshot of the datacenter's state
`;

/** Consul's humanize.Bytes-style sizes: 344B, 1.7KB, 5KB. */
export function byteSize(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let u = 0;
  let v = n;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return u === 0 ? `${n}B` : `${v < 10 ? Math.round(v * 10) / 10 : Math.round(v)}${units[u]}`;
}

async function* counted(src: AsyncIterable<Buffer>, p: { add(n: number): void }): AsyncGenerator<Buffer> {
  for await (const c of src) { p.add(c.length); yield c; }
}

/** Reads a whole snapshot file, verifying its checksum; returns its header and per-kind key stats. */
async function verify(file: string): Promise<{ header: SnapshotHeader; kinds: Map<string, { keys: number; bytes: number }> }> {
  let header: SnapshotHeader | null = null;
  const kinds = new Map<string, { keys: number; bytes: number }>();
  for await (const item of decodeSnapshot(createReadStream(file))) {
    if (item.kind === 'header') { header = item.header; continue; }
    const kind = kindOf(item.name);
    const k = kinds.get(kind) ?? { keys: 0, bytes: 0 };
    k.keys++;
    k.bytes += item.value.length;
    kinds.set(kind, k);
  }
  return { header: header!, kinds };
}

/** The record kind a saved key holds (the key names of src/store/keys.ts, after the prefix). */
function kindOf(name: string): string {
  const head = name.split(':')[0]!;
  const map: Record<string, string> = {
    nodes: 'Node', svc: 'Service', chk: 'Check', chkstate: 'CheckState', ttl: 'CheckTTL', outq: 'CheckOutput', tables: 'Index', svcidx: 'Index',
    kv: 'KV', kvkeys: 'KV', kvtombs: 'Tombstone', kvtombidx: 'Tombstone', lockdelay: 'KV', sess: 'Session', sessexp: 'Session', slocks: 'Session',
    snode: 'Session', sesssweep: 'Session', uevents: 'Event', ueventids: 'Event', ueventltime: 'Event',
  };
  return map[head] ?? head;
}

async function save(argv: string[]): Promise<number> {
  const { args, api } = parseApiFlags(argv, {});
  if (args.length !== 1) return fail(args.length === 0 ? 'Missing FILE argument' : `Too many arguments (expected 1, got ${args.length})`);
  const file = args[0]!;
  const u = new URL(`${api.base}/v1/snapshot`);
  if (api.dc) u.searchParams.set('dc', api.dc);
  if (api.stale) u.searchParams.set('stale', '');
  const tmp = `${file}.tmp`;
  const p = progress({ label: 'Saving snapshot', format: byteSize });
  try {
    let res: Response;
    try { res = await fetch(u, { headers: api.token ? { 'X-Consul-Token': api.token } : {} }); } catch (err) {
      throw new Error(`Get "${u.toString()}": ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
    }
    if (res.status !== 200 || !res.body) throw new Error(`Unexpected response code: ${res.status} (${(await res.text()).trim()})`);
    await pipeline(counted(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) as AsyncIterable<Buffer>, p), createWriteStream(tmp, { mode: 0o600 }));
  } catch (err) {
    p.done(false);
    rmSync(tmp, { force: true });
    return fail(`Error saving snapshot: ${(err as Error).message}`);
  }
  p.done();
  let header: SnapshotHeader;
  try { header = (await verify(tmp)).header; } catch (err) {
    rmSync(tmp, { force: true });
    return fail(`Error verifying snapshot file: ${(err as Error).message}`);
  }
  renameSync(tmp, file);
  process.stdout.write(`Saved and verified snapshot to index ${header.index}\n`);
  return 0;
}

async function restore(argv: string[]): Promise<number> {
  const { args, api } = parseApiFlags(argv, {});
  if (args.length !== 1) return fail(args.length === 0 ? 'Missing FILE argument' : `Too many arguments (expected 1, got ${args.length})`);
  const file = args[0]!;
  let size: number;
  try { size = statSync(file).size; } catch (err) { return fail(`Error opening snapshot file: ${(err as Error).message}`); }
  const u = new URL(`${api.base}/v1/snapshot`);
  if (api.dc) u.searchParams.set('dc', api.dc);
  const p = progress({ label: 'Restoring snapshot', total: size, format: byteSize });
  try {
    const body = Readable.toWeb(Readable.from(counted(createReadStream(file), p)));
    let res: Response;
    try {
      res = await fetch(u, { method: 'PUT', body: body as unknown as RequestInit["body"], duplex: 'half', headers: api.token ? { 'X-Consul-Token': api.token } : {} } as RequestInit);
    } catch (err) {
      throw new Error(`Put "${u.toString()}": ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    if (res.status !== 200) throw new Error(`Unexpected response code: ${res.status} (${text.trim()})`);
  } catch (err) {
    p.done(false);
    return fail(`Error restoring snapshot: ${(err as Error).message}`);
  }
  p.done();
  process.stdout.write('Restored snapshot\n');
  return 0;
}

async function inspect(argv: string[]): Promise<number> {
  const { flags, args } = parseApiFlags(argv, { format: 'string' });
  if (args.length !== 1) return fail(args.length === 0 ? 'Missing FILE argument' : `Too many arguments (expected 1, got ${args.length})`);
  const file = args[0]!;
  let info: Awaited<ReturnType<typeof verify>>;
  let size: number;
  try { size = statSync(file).size; info = await verify(file); } catch (err) { return fail(`Error verifying snapshot: ${(err as Error).message}`); }
  const h = info.header;
  const id = `${h.dc}-${h.index}-${Date.parse(h.created) || 0}`;
  if (flags.format === 'json') {
    const kinds = Object.fromEntries([...info.kinds].map(([k, v]) => [k, { Keys: v.keys, Size: v.bytes }]));
    process.stdout.write(JSON.stringify({ Meta: { ID: id, Size: size, Index: h.index, Version: h.version, Datacenter: h.dc, Created: h.created, RedisVersion: h.redisVersion }, Counts: h.counts, Keys: kinds }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(columns([
    [' ID', id], [' Size', String(size)], [' Index', String(h.index)], [' Version', String(h.version)],
    [' Datacenter', h.dc], [' Created', h.created], [' Redis', h.redisVersion],
  ]));
  const rows: string[][] = [[' Type', 'Count', 'Size'], [' ----', '----', '----']];
  const count: Record<string, string> = { Node: 'nodes', Service: 'services', Check: 'checks', KV: 'kv', Session: 'sessions' };
  let total = 0;
  for (const [kind, v] of [...info.kinds].sort((a, b) => b[1].bytes - a[1].bytes)) {
    total += v.bytes;
    const c = count[kind] ? h.counts[count[kind]!] : undefined;
    rows.push([` ${kind}`, String(c ?? v.keys), byteSize(v.bytes)]);
  }
  rows.push([' ----', '----', '----'], [' Total', '', byteSize(total)]);
  process.stdout.write('\n' + columns(rows));
  return 0;
}

export async function snapshotCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'save') return await save(rest);
    if (sub === 'restore') return await restore(rest);
    if (sub === 'inspect') return await inspect(rest);
  } catch (err) {
    if (err instanceof HelpRequested) throw err; // main prints the flags
    return fail((err as Error).message);
  }
  process.stderr.write(USAGE);
  return sub === undefined || sub === '-h' || sub === '-help' ? 0 : 1;
}

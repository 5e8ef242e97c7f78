/**
 * @module Roster's snapshot file format: versioned, checksummed, gzip-compressed, streamed.
 *
 * Inside the gzip stream:
 *   `ROSTER-SNAPSHOT\n`                       magic (a Consul .snap, a tarball or random bytes fail here)
 *   `<header JSON>\n`                         SnapshotHeader: version, dc, index, created, counts, ...
 *   frames: u32be name length, name (UTF-8), u32be value length, value — one per Redis key of the
 *           datacenter: the key's name after `<prefix>:` and its DUMP payload
 *   u32be 0xFFFFFFFF                          end of frames
 *   32 bytes                                  SHA-256 of every byte above (magic through end marker)
 * The checksum is a trailer so that a snapshot streams out as it is produced, without being held
 * twice; a reader acts on nothing until the trailer has verified (restores stage keys first).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import { pipeline } from 'node:stream';

export const MAGIC = Buffer.from('ROSTER-SNAPSHOT\n');
export const FORMAT_VERSION = 1;
const END = 0xffffffff;
const MAX_HEADER = 64 * 1024;
const MAX_NAME = 4096;
/** Redis's own limit on one bulk string (proto-max-bulk-len). */
const MAX_VALUE = 512 * 1024 * 1024;

export interface SnapshotHeader {
  version: number;
  /** The datacenter the snapshot was taken from; restores refuse another one. */
  dc: string;
  /** The global index the snapshot was taken at (one Redis transaction). */
  index: number;
  /** ISO time the snapshot was taken. */
  created: string;
  /** Redis's clock (ms) when the snapshot was taken: deadlines (TTL checks, sessions) are shifted by the time since. */
  redisTimeMs: number;
  /** The redis_version that produced the DUMP payloads (RESTORE needs the same or a newer Redis). */
  redisVersion: string;
  /** Number of keys (frames). */
  keys: number;
  /** Records by kind: nodes, services, checks, kv, sessions; acl and query once Roster has them. */
  counts: Record<string, number>;
}

/** A file that is not a valid Roster snapshot (corrupt, truncated, foreign); nothing was changed. */
export class SnapshotError extends Error {}

const u32 = (n: number): Buffer => { const b = Buffer.allocUnsafe(4); b.writeUInt32BE(n); return b; };

/**
 * Encodes a snapshot as a gzip stream. `entries` is a flat array [name, value, name, value, ...]
 * that is emptied as it is written, so the payload is never held twice.
 */
export function encodeSnapshot(header: SnapshotHeader, entries: (string | Buffer | null)[]): Gzip {
  const hash = createHash('sha256');
  function* frames(): Generator<Buffer> {
    const out = (b: Buffer): Buffer => { hash.update(b); return b; };
    yield out(MAGIC);
    yield out(Buffer.from(JSON.stringify(header) + '\n'));
    for (let i = 0; i + 1 < entries.length; i += 2) {
      const name = Buffer.from(String(entries[i]));
      const value = entries[i + 1] as Buffer;
      entries[i] = entries[i + 1] = null;
      yield out(Buffer.concat([u32(name.length), name, u32(value.length)]));
      yield out(value);
    }
    yield out(u32(END));
    yield hash.digest();
  }
  const gz = createGzip();
  pipeline(Readable.from(frames(), { objectMode: false }), gz, () => {});
  return gz;
}

export type SnapshotItem = { kind: 'header'; header: SnapshotHeader } | { kind: 'entry'; name: string; value: Buffer };

/**
 * Decodes a snapshot stream: yields the header, then every entry, and returns normally only when
 * the trailer's checksum matched. Throws SnapshotError on anything else (callers must discard what
 * they staged).
 */
export async function* decodeSnapshot(input: AsyncIterable<Buffer | string>): AsyncGenerator<SnapshotItem> {
  const gunzip = createGunzip();
  pipeline(Readable.from(input), gunzip, () => {});
  const hash = createHash('sha256');
  let buf: Buffer = Buffer.alloc(0);
  const it = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let ended = false;
  /** Ensures `n` bytes are buffered; false at the end of the stream. */
  const need = async (n: number): Promise<boolean> => {
    if (buf.length >= n) return true;
    const parts = [buf];
    let have = buf.length;
    while (have < n && !ended) { // collected, then joined once: a large value is not copied per chunk
      let r: IteratorResult<Buffer>;
      try { r = await it.next(); } catch (err) { throw new SnapshotError(`failed to decompress snapshot: ${(err as Error).message}`); }
      if (r.done) ended = true; else { parts.push(r.value); have += r.value.length; }
    }
    buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    return buf.length >= n;
  };
  const take = (n: number, hashed = true): Buffer => { const b = buf.subarray(0, n); buf = buf.subarray(n); if (hashed) hash.update(b); return b; };
  const truncated = (): SnapshotError => new SnapshotError('snapshot is truncated');
  try {
    if (!(await need(MAGIC.length)) || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new SnapshotError('not a Roster snapshot (bad magic)');
    take(MAGIC.length);
    let nl = -1;
    while ((nl = buf.indexOf(10)) < 0) {
      if (buf.length > MAX_HEADER || !(await need(buf.length + 1))) throw new SnapshotError('snapshot header is missing or too long');
    }
    let header: SnapshotHeader;
    try { header = JSON.parse(take(nl + 1).toString('utf8')) as SnapshotHeader; } catch { throw new SnapshotError('snapshot header is not valid JSON'); }
    if (typeof header !== 'object' || header === null || typeof header.version !== 'number') throw new SnapshotError('snapshot header is malformed');
    if (header.version !== FORMAT_VERSION) throw new SnapshotError(`unsupported snapshot version ${header.version} (this Roster reads version ${FORMAT_VERSION})`);
    if (typeof header.dc !== 'string' || !Number.isSafeInteger(header.index) || header.index < 0 || !Number.isSafeInteger(header.keys) || typeof header.redisTimeMs !== 'number') throw new SnapshotError('snapshot header is malformed');
    yield { kind: 'header', header };
    let count = 0;
    for (;;) {
      if (!(await need(4))) throw truncated();
      const nameLen = take(4).readUInt32BE();
      if (nameLen === END) break;
      if (nameLen === 0 || nameLen > MAX_NAME) throw new SnapshotError('snapshot frame has a bad key name length');
      if (!(await need(nameLen + 4))) throw truncated();
      const name = take(nameLen).toString('utf8');
      const valueLen = take(4).readUInt32BE();
      if (valueLen > MAX_VALUE) throw new SnapshotError('snapshot frame has a bad value length');
      if (!(await need(valueLen))) throw truncated();
      const value = Buffer.from(take(valueLen));
      count++;
      yield { kind: 'entry', name, value };
    }
    const digest = hash.digest();
    if (!(await need(32))) throw truncated();
    if (!take(32, false).equals(digest)) throw new SnapshotError('snapshot checksum mismatch');
    if (buf.length > 0 || (await need(1))) throw new SnapshotError('unexpected data after the snapshot checksum');
    if (count !== header.keys) throw new SnapshotError(`snapshot holds ${count} keys, its header says ${header.keys}`);
  } finally {
    gunzip.destroy();
  }
}

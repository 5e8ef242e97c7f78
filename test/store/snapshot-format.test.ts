import test from 'ava';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeSnapshot, encodeSnapshot, SnapshotError, type SnapshotHeader, type SnapshotItem } from '../../src/store/snapshot-format.ts';

const header = (keys: number): SnapshotHeader => ({ version: 1, dc: 'dc1', index: 42, created: '2026-01-01T00:00:00.000Z', redisTimeMs: 1, redisVersion: '7.0.15', keys, counts: { nodes: 1 } });
const encode = async (h: SnapshotHeader, entries: (string | Buffer | null)[]) => Buffer.concat(await encodeSnapshot(h, entries).toArray());
async function decode(bytes: Buffer, chunk = 7): Promise<SnapshotItem[]> {
  async function* chunks() { for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk); }
  const out: SnapshotItem[] = [];
  for await (const it of decodeSnapshot(chunks())) out.push(it);
  return out;
}

test('snapshot-format: round trip in small chunks, with an empty and a large value; the encoder empties its input', async t => {
  const big = Buffer.alloc(300_000, 7);
  const entries: (string | Buffer | null)[] = ['nodes', Buffer.from('a'), 'svc:x', Buffer.alloc(0), 'kv', big];
  const bytes = await encode(header(3), entries);
  t.deepEqual(entries, [null, null, null, null, null, null]);
  const items = await decode(bytes, 1000);
  t.deepEqual(items[0], { kind: 'header', header: header(3) });
  t.deepEqual(items.slice(1).map(i => i.kind === 'entry' && [i.name, i.value.length]), [['nodes', 1], ['svc:x', 0], ['kv', 300_000]]);
  t.true(items[3]!.kind === 'entry' && items[3].value.equals(big));
});

test('snapshot-format: every kind of damage is a SnapshotError, raised before the stream is accepted', async t => {
  const plain = gunzipSync(await encode(header(1), ['nodes', Buffer.from('hello world')]));
  const flip = (i: number) => { const b = Buffer.from(plain); b[i]! ^= 1; return gzipSync(b); };
  const bad: [string, Buffer, RegExp][] = [
    ['not gzip', Buffer.from('plain text'), /^failed to decompress snapshot: /],
    ['bad magic', gzipSync(Buffer.from('CONSUL-SNAPSHOT\n{}\n')), /^not a Roster snapshot/],
    ['header not JSON', gzipSync(Buffer.from('ROSTER-SNAPSHOT\n{nope\n')), /^snapshot header is not valid JSON$/],
    ['header without newline', gzipSync(Buffer.from('ROSTER-SNAPSHOT\n{"version":1')), /^snapshot header is missing or too long$/],
    ['header malformed', gzipSync(Buffer.from('ROSTER-SNAPSHOT\n{"version":1}\n')), /^snapshot header is malformed$/],
    ['value byte flipped', flip(plain.length - 40), /^snapshot checksum mismatch$/],
    ['checksum byte flipped', flip(plain.length - 1), /^snapshot checksum mismatch$/],
    ['truncated', gzipSync(plain.subarray(0, plain.length - 33)), /^snapshot is truncated$/],
    ['trailing data', gzipSync(Buffer.concat([plain, Buffer.from('x')])), /^unexpected data after the snapshot checksum$/],
    ['huge name length', gzipSync(Buffer.concat([plain.subarray(0, plain.indexOf(10, 16) + 1), Buffer.from([0, 1, 0, 0])])), /^snapshot frame has a bad key name length$/],
  ];
  for (const [what, bytes, msg] of bad) {
    const err = await t.throwsAsync(decode(bytes), { instanceOf: SnapshotError }, what);
    t.regex(err!.message, msg, what);
  }
  const wrongCount = await encode(header(5), ['nodes', Buffer.from('x')]);
  t.is((await t.throwsAsync(decode(wrongCount)))!.message, 'snapshot holds 1 keys, its header says 5');
});

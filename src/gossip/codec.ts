/**
 * @module msgpack helpers matching HashiCorp's go-msgpack `MsgpackHandle{}` defaults.
 *
 * Go writes both `string` and `[]byte` as the legacy msgpack "raw" (str family) and its decoder
 * rejects `bin` for string fields. We therefore always pass JS strings for Go strings and
 * `Uint8Array` (encoded as bin, which Go accepts for `[]byte`) for byte slices. On decode we use
 * `rawStrings` so every str value arrives as bytes and only known text fields are UTF-8 decoded.
 */
import { Encoder, Decoder } from '@msgpack/msgpack';
import { isIP } from 'node:net';

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder({ rawStrings: true });
const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

/** A decoded msgpack map (Go struct) with field names as keys. */
export type GoStruct = Record<string, unknown>;

/** Encodes a value as msgpack; `undefined` properties are omitted (Go `omitempty`). */
export function encode(v: unknown): Uint8Array {
  return encoder.encode(v);
}

/** Decodes exactly one msgpack value filling `buf`; str values come back as `Uint8Array`. */
export function decode(buf: Uint8Array): unknown {
  return decoder.decode(buf);
}

/** Decodes a msgpack map (a Go struct); throws if the value is not a map. */
export function decodeStruct(buf: Uint8Array): GoStruct {
  const v = decoder.decode(buf);
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    throw new Error('msgpack: expected a map');
  }
  return v as GoStruct;
}

/** `[type] + msgpack(body)`: the framing of every memberlist and Serf message. */
export function encodeTyped(type: number, body: unknown): Uint8Array {
  const enc = encoder.encode(body);
  const out = new Uint8Array(enc.length + 1);
  out[0] = type;
  out.set(enc, 1);
  return out;
}

/**
 * Size in bytes of the msgpack value starting at `start`, or -1 if `buf` ends before the value does.
 * Needed because memberlist's TCP streams carry msgpack values back to back with no length prefix.
 * Throws on the never-used 0xc1 descriptor.
 */
export function msgpackValueSize(buf: Uint8Array, start = 0): number {
  let pos = start;
  let pending = 1;
  while (pending > 0) {
    if (pos >= buf.length) return -1;
    const b = buf[pos]!;
    pending--;
    let hdr = 1; let body = 0; let items = 0;
    if (b <= 0x7f || b >= 0xe0) { /* fixint */ }
    else if (b <= 0x8f) items = (b & 0x0f) * 2;
    else if (b <= 0x9f) items = b & 0x0f;
    else if (b <= 0xbf) body = b & 0x1f;
    else {
      // [header bytes, fixed body bytes, length field size, length multiplier kind]
      let lenBytes = 0; let kind: 'body' | 'items' | 'pairs' | 'ext' = 'body';
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break;
        case 0xc1: throw new Error('msgpack: invalid descriptor 0xc1');
        case 0xc4: case 0xd9: lenBytes = 1; break;
        case 0xc5: case 0xda: lenBytes = 2; break;
        case 0xc6: case 0xdb: lenBytes = 4; break;
        case 0xc7: lenBytes = 1; kind = 'ext'; break;
        case 0xc8: lenBytes = 2; kind = 'ext'; break;
        case 0xc9: lenBytes = 4; kind = 'ext'; break;
        case 0xca: body = 4; break;
        case 0xcb: body = 8; break;
        case 0xcc: case 0xd0: body = 1; break;
        case 0xcd: case 0xd1: body = 2; break;
        case 0xce: case 0xd2: body = 4; break;
        case 0xcf: case 0xd3: body = 8; break;
        case 0xd4: body = 2; break;
        case 0xd5: body = 3; break;
        case 0xd6: body = 5; break;
        case 0xd7: body = 9; break;
        case 0xd8: body = 17; break;
        case 0xdc: lenBytes = 2; kind = 'items'; break;
        case 0xdd: lenBytes = 4; kind = 'items'; break;
        case 0xde: lenBytes = 2; kind = 'pairs'; break;
        case 0xdf: lenBytes = 4; kind = 'pairs'; break;
      }
      if (lenBytes > 0) {
        if (pos + 1 + lenBytes > buf.length) return -1;
        let n = 0;
        for (let i = 0; i < lenBytes; i++) n = n * 256 + buf[pos + 1 + i]!;
        hdr = 1 + lenBytes;
        if (kind === 'items') items = n;
        else if (kind === 'pairs') items = n * 2;
        else if (kind === 'ext') { hdr += 1; body = n; }
        else body = n;
      }
    }
    pos += hdr + body;
    pending += items;
  }
  return pos > buf.length ? -1 : pos - start;
}

/** Go string field → JS string ('' for nil). */
export function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return utf8.decode(v);
  throw new Error(`msgpack: expected string, got ${typeof v}`);
}

/** Go `[]byte` field → bytes (empty for nil; accepts str, bin or an array of small ints). */
export function bytes(v: unknown): Uint8Array {
  if (v === null || v === undefined) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return utf8enc.encode(v);
  if (Array.isArray(v)) return Uint8Array.from(v.map(x => Number(x) & 0xff));
  throw new Error(`msgpack: expected bytes, got ${typeof v}`);
}

/** Go `[]byte` field that may legitimately be nil → bytes or null. */
export function bytesOrNull(v: unknown): Uint8Array | null {
  return v === null || v === undefined ? null : bytes(v);
}

/** Go integer/float field → number (0 for nil). */
export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new Error(`msgpack: expected number, got ${typeof v}`);
}

/** Go bool field → boolean. */
export function bool(v: unknown): boolean {
  return v === true;
}

/** Go `map[string]string` → record (values decoded as text). */
export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === null || v === undefined) return out;
  if (typeof v !== 'object' || v instanceof Uint8Array || Array.isArray(v)) throw new Error('msgpack: expected map');
  for (const [k, val] of Object.entries(v as GoStruct)) out[k] = str(val);
  return out;
}

/** Go `[]string` → string[] (nil → []). */
export function strList(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new Error('msgpack: expected array');
  return v.map(str);
}

/** UTF-8 encode text. */
export function utf8Bytes(s: string): Uint8Array {
  return utf8enc.encode(s);
}

/** UTF-8 decode bytes. */
export function utf8Text(b: Uint8Array): string {
  return utf8.decode(b);
}

/** IP literal → 4 bytes (IPv4) or 16 bytes (IPv6), as Go's `net.IP` travels in memberlist. */
export function ipToBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (isIP(ip) === 6) {
    const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, undefined];
    const parse = (s: string | undefined): number[] => {
      if (!s) return [];
      const out: number[] = [];
      for (const g of s.split(':')) {
        if (g.includes('.')) { const b = g.split('.').map(Number); out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!); }
        else out.push(parseInt(g, 16));
      }
      return out;
    };
    const h = parse(head); const t = parse(tail);
    const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
    const out = new Uint8Array(16);
    groups.forEach((g, i) => { out[i * 2] = g >> 8; out[i * 2 + 1] = g & 0xff; });
    return out;
  }
  throw new Error(`not an IP address: ${ip}`);
}

/** 4/16 bytes → IP text; IPv4-mapped IPv6 comes back as dotted IPv4 (Go's `net.IP.String()`). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length === 16) {
    const mapped = b.subarray(0, 10).every(x => x === 0) && b[10] === 0xff && b[11] === 0xff;
    if (mapped) return Array.from(b.subarray(12)).join('.');
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
    // Compress the longest zero run, as RFC 5952.
    let bestStart = -1; let bestLen = 0;
    for (let i = 0; i < 8;) {
      if (groups[i] !== '0') { i++; continue; }
      let j = i; while (j < 8 && groups[j] === '0') j++;
      if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
      i = j;
    }
    if (bestStart < 0) return groups.join(':');
    return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
  }
  if (b.length === 0) return '';
  throw new Error(`bad IP length ${b.length}`);
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  const x = a ?? new Uint8Array(0); const y = b ?? new Uint8Array(0);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0; for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0; for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

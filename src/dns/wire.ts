/**
 * @module DNS wire format: constants, names, resource records and a message encoder.
 *
 * The encoder is ours, not a library's: it compresses names case-insensitively against
 * everything already written (the question included, so answers owned by the question name
 * cost 2 bytes and follow the client's spelling when the question bytes are copied in), it
 * leaves SRV targets uncompressed like miekg/dns (RFC 2782) while still offering them as
 * compression targets, it reports where SOA serials sit so cached answers can be patched, and
 * it measures the uncompressed size that Consul's UDP trimming uses. README.md ("Library
 * choices") has the numbers against dns2, native-dns-packet and dns-packet.
 */

/** RR types Roster names in code. */
export const T = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35, OPT: 41, DS: 43,
  SSHFP: 44, RRSIG: 46, NSEC: 47, DNSKEY: 48, TLSA: 52, SVCB: 64, HTTPS: 65, SPF: 99, IXFR: 251, AXFR: 252, ANY: 255, CAA: 257,
} as const;

/** Response codes (RFC 1035 §4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export const CLASS_IN = 1;

/** Header flag bits as they sit in bytes 2 and 3. */
export const F2 = { QR: 0x80, OPCODE: 0x78, AA: 0x04, TC: 0x02, RD: 0x01 } as const;
export const F3 = { RA: 0x80, Z: 0x40, AD: 0x20, CD: 0x10, RCODE: 0x0f } as const;

/** Record data Roster can encode. Names are absolute presentation-format strings ("a.b.", escapes allowed). */
export type RData =
  | { k: 'ip'; ip: Uint8Array }
  | { k: 'name'; name: string }
  | { k: 'srv'; priority: number; weight: number; port: number; target: string }
  | { k: 'mx'; preference: number; exchange: string }
  | { k: 'soa'; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { k: 'txt'; strings: Uint8Array[] }
  | { k: 'raw'; data: Uint8Array };

/** A resource record. Class is IN unless stated. */
export interface RR {
  name: string;
  type: number;
  ttl: number;
  data: RData;
  cls?: number;
  /** SOA serial is "now" (Unix seconds), patched per reply. */
  liveSerial?: boolean;
}

/** A message to encode. ID 0; flags are the header bits Roster decides (QR is always set). */
export interface Msg {
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  cd: boolean;
  rcode: number;
  /** The question; null for replies without one (REFUSED to a header-only query). */
  question: { name: string; type: number; cls: number } | null;
  answer: RR[];
  authority: RR[];
  additional: RR[];
}

export function newMsg(q: Msg['question']): Msg {
  return { opcode: 0, aa: false, tc: false, rd: false, ra: false, cd: false, rcode: 0, question: q, answer: [], authority: [], additional: [] };
}

// ---------------------------------------------------------------- names

/** Bytes that miekg/dns escapes with a backslash in presentation format. */
const SPECIAL = new Set([0x2e, 0x20, 0x27, 0x40, 0x3b, 0x28, 0x29, 0x22, 0x5c]);

/** One wire label as presentation text, escaped like miekg/dns (so `a.b` in one label is `a\.b`). */
export function labelToText(buf: Uint8Array, start: number, end: number): string {
  let plain = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x21 || b > 0x7e || SPECIAL.has(b)) { plain = false; break; }
  }
  if (plain) return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (SPECIAL.has(b)) s += '\\' + String.fromCharCode(b);
    else if (b < 0x20 || b > 0x7e) s += '\\' + String(b).padStart(3, '0');
    else s += String.fromCharCode(b);
  }
  return s;
}

const labelCache = new Map<string, Uint8Array[]>();

/** Splits an absolute or relative presentation name into wire labels (root → []). Throws on bad syntax. */
export function nameToLabels(name: string): Uint8Array[] {
  const hit = labelCache.get(name);
  if (hit) return hit;
  const labels: Uint8Array[] = [];
  if (name !== '.' && name !== '') {
    let cur: number[] = [];
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c === 0x5c) { // backslash escape
        const d = name.slice(i + 1, i + 4);
        if (/^[0-9]{3}$/.test(d)) {
          const v = Number(d);
          if (v > 255) throw new Error(`bad escape in ${name}`);
          cur.push(v); i += 3;
        } else if (i + 1 < name.length) { cur.push(name.charCodeAt(i + 1) & 0xff); i += 1; } else throw new Error(`bad escape in ${name}`);
      } else if (c === 0x2e) {
        if (cur.length === 0) throw new Error(`empty label in ${name}`);
        labels.push(Uint8Array.from(cur)); cur = [];
      } else {
        if (c > 0xff) throw new Error(`non-latin1 character in ${name}`);
        cur.push(c);
      }
    }
    if (cur.length) labels.push(Uint8Array.from(cur));
  }
  let wire = 1;
  for (const l of labels) {
    if (l.length > 63) throw new Error(`label longer than 63 octets in ${name}`);
    wire += l.length + 1;
  }
  if (wire > 255) throw new Error(`name longer than 255 octets: ${name}`);
  if (labelCache.size > 50_000) labelCache.clear();
  labelCache.set(name, labels);
  return labels;
}

/** Wire length of a name written without compression. */
export function nameWireLength(name: string): number {
  let n = 1;
  for (const l of nameToLabels(name)) n += l.length + 1;
  return n;
}

/** Lower-cases ASCII letters only (DNS case-insensitivity, RFC 4343). */
export function lowerName(name: string): string {
  return /[A-Z]/.test(name) ? name.replace(/[A-Z]+/g, s => s.toLowerCase()) : name;
}

/** Makes a name absolute (adds the trailing dot). */
export function fqdn(name: string): string {
  return name.endsWith('.') && !name.endsWith('\\.') ? name : name + '.';
}

/** Is `name` equal to or below `zone` (both absolute, any case)? */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '.') return true;
  const n = lowerName(name); const z = lowerName(zone);
  return n === z || (n.endsWith(z) && n[n.length - z.length - 1] === '.' && n[n.length - z.length - 2] !== '\\');
}

// ---------------------------------------------------------------- addresses

/** Parses an IPv4 or IPv6 text address to 4 or 16 bytes; null if it is not an IP literal. */
export function parseIP(s: string): Uint8Array | null {
  if (s.includes(':')) return parseIPv6(s);
  return parseIPv4(s);
}

function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | null {
  if (s.includes('%')) return null;
  let tail: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return null;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const rest = dbl >= 0 ? s.slice(dbl + 2) : '';
  const h = head === '' ? [] : head.split(':');
  const r = rest === '' ? [] : rest.split(':');
  if (dbl < 0 && h.length !== 8) return null;
  if (dbl >= 0 && h.length + r.length > 7) return null;
  const groups = [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8; out[i * 2 + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** Go's net.IP.To4(): the IPv4 bytes of a 4-byte or IPv4-mapped 16-byte address, else null. */
export function to4(ip: Uint8Array): Uint8Array | null {
  if (ip.length === 4) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return null;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return null;
  return ip.subarray(12);
}

/** Formats an address like Go's net.IP.String() (RFC 5952 for IPv6; IPv4-mapped as dotted quad). */
export function formatIP(ip: Uint8Array): string {
  const v4 = to4(ip);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.${v4[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((ip[i]! << 8) | ip[i + 1]!);
  let bs = -1; let bl = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i; while (j < 8 && g[j] === 0) j++;
    if (j - i > bl && j - i >= 2) { bs = i; bl = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map(x => x.toString(16)).join(':');
  if (bs < 0) return hex(g);
  return hex(g.slice(0, bs)) + '::' + hex(g.slice(bs + bl));
}

/** Lower-case hex of an address, 8 digits for IPv4 (incl. mapped), 32 for IPv6: the `<hex>.addr` label. */
export function ipHex(ip: Uint8Array): string {
  return Buffer.from(to4(ip) ?? ip).toString('hex');
}

/** The reverse-lookup name of an address (miekg's dns.ReverseAddr), lower-case, absolute. */
export function reverseName(ip: Uint8Array): string {
  const v4 = to4(ip);
  if (v4) return `${v4[3]}.${v4[2]}.${v4[1]}.${v4[0]}.in-addr.arpa.`;
  let s = '';
  for (let i = 15; i >= 0; i--) s += (ip[i]! & 0xf).toString(16) + '.' + (ip[i]! >> 4).toString(16) + '.';
  return s + 'ip6.arpa.';
}

/** The address named by a reverse-lookup name (Consul's dnsutil.IPFromARPA), or null. */
export function ipFromArpa(name: string): Uint8Array | null {
  const n = lowerName(fqdn(name));
  if (n.endsWith('.in-addr.arpa.')) {
    const p = n.slice(0, -'.in-addr.arpa.'.length).split('.');
    if (p.length !== 4) return null;
    return parseIPv4(p.reverse().join('.'));
  }
  if (n.endsWith('.ip6.arpa.')) {
    const p = n.slice(0, -'.ip6.arpa.'.length).split('.');
    if (p.length !== 32 || !p.every(x => /^[0-9a-f]$/.test(x))) return null;
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = (parseInt(p[31 - 2 * i]!, 16) << 4) | parseInt(p[30 - 2 * i]!, 16);
    return out;
  }
  return null;
}

// ---------------------------------------------------------------- encoder

/** Types whose rdata names may be compressed (RFC 3597 §4: only the RFC 1035 ones). */
const COMPRESS_RDATA = new Set<number>([T.NS, T.CNAME, T.PTR, T.SOA, T.MX]);

/** Result of encoding: the message and where live SOA serials sit in it. */
export interface Encoded {
  buf: Buffer;
  serialOffsets: number[];
}

let scratch = Buffer.allocUnsafe(70_000);

/**
 * Encodes a message with ID 0. With `compress`, names are compressed case-insensitively against
 * every name already written (RFC 1035 §4.1.4). Throws if it would exceed 65535 bytes.
 */
export function encodeMsg(m: Msg, compress = true): Encoded {
  const w = write(m, compress);
  if (w.off > 65535) throw new RangeError('DNS message longer than 65535 bytes');
  return { buf: Buffer.from(w.out().subarray(0, w.off)), serialOffsets: w.serials };
}

function write(m: Msg, compress: boolean): Writer {
  const w = new Writer(scratch, compress);
  w.u16(0);
  w.u8(F2.QR | ((m.opcode & 0xf) << 3) | (m.aa ? F2.AA : 0) | (m.tc ? F2.TC : 0) | (m.rd ? F2.RD : 0));
  w.u8((m.ra ? F3.RA : 0) | (m.cd ? F3.CD : 0) | (m.rcode & 0xf));
  w.u16(m.question ? 1 : 0); w.u16(m.answer.length); w.u16(m.authority.length); w.u16(m.additional.length);
  if (m.question) { w.name(m.question.name, true); w.u16(m.question.type); w.u16(m.question.cls); }
  for (const rr of m.answer) w.rr(rr);
  for (const rr of m.authority) w.rr(rr);
  for (const rr of m.additional) w.rr(rr);
  return w;
}

/** Size of the encoded message (compressed or not); may exceed 65535 (it only measures). */
export function msgLength(m: Msg, compress: boolean): number {
  if (!compress) {
    let n = 12;
    if (m.question) n += nameWireLength(m.question.name) + 4;
    for (const s of [m.answer, m.authority, m.additional]) for (const rr of s) n += rrLengthUncompressed(rr);
    return n;
  }
  return write(m, true).off;
}

function rrLengthUncompressed(rr: RR): number {
  return nameWireLength(rr.name) + 10 + rdataLengthUncompressed(rr.data);
}

function rdataLengthUncompressed(d: RData): number {
  switch (d.k) {
    case 'ip': return d.ip.length;
    case 'name': return nameWireLength(d.name);
    case 'srv': return 6 + nameWireLength(d.target);
    case 'mx': return 2 + nameWireLength(d.exchange);
    case 'soa': return nameWireLength(d.mname) + nameWireLength(d.rname) + 20;
    case 'txt': { let n = 0; for (const s of d.strings) n += 1 + s.length; return n; }
    case 'raw': return d.data.length;
  }
}

class Writer {
  off = 0;
  serials: number[] = [];
  readonly dict = new Map<string, number>();
  private buf: Buffer;
  private readonly compress: boolean;
  constructor(buf: Buffer, compress: boolean) { this.buf = buf; this.compress = compress; }

  out(): Buffer { return this.buf; }
  ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(nb, 0, 0, this.off);
    this.buf = nb; scratch = nb;
  }
  u8(v: number): void { this.ensure(1); this.buf[this.off++] = v; }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16BE(v & 0xffff, this.off); this.off += 2; }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.off); this.off += 4; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.off); this.off += b.length; }

  /** Writes a name; `mayPoint` false writes it in full but still offers its suffixes as targets. */
  name(name: string, mayPoint: boolean): void {
    const labels = nameToLabels(name);
    const lower = lowerName(name === '.' ? '' : name.endsWith('.') ? name.slice(0, -1) : name);
    // suffix keys: the lower-cased presentation text from label i to the end
    let pos = 0;
    for (let i = 0; i < labels.length; i++) {
      const key = lower.slice(pos);
      if (this.compress && mayPoint) {
        const p = this.dict.get(key);
        if (p !== undefined) { this.u16(0xc000 | p); return; }
      }
      if (this.off < 0x3fff && !this.dict.has(key)) this.dict.set(key, this.off);
      const l = labels[i]!;
      this.u8(l.length); this.bytes(l);
      pos = nextLabelStart(lower, pos);
    }
    this.u8(0);
  }

  rr(rr: RR): void {
    this.name(rr.name, true);
    this.u16(rr.type); this.u16(rr.cls ?? CLASS_IN); this.u32(rr.ttl);
    const lenAt = this.off; this.u16(0);
    const d = rr.data;
    const cz = COMPRESS_RDATA.has(rr.type);
    switch (d.k) {
      case 'ip': this.bytes(d.ip); break;
      case 'name': this.name(d.name, cz); break;
      case 'srv': this.u16(d.priority); this.u16(d.weight); this.u16(d.port); this.name(d.target, false); break;
      case 'mx': this.u16(d.preference); this.name(d.exchange, cz); break;
      case 'soa':
        this.name(d.mname, cz); this.name(d.rname, cz);
        if (rr.liveSerial) this.serials.push(this.off);
        this.u32(d.serial); this.u32(d.refresh); this.u32(d.retry); this.u32(d.expire); this.u32(d.minimum);
        break;
      case 'txt': for (const s of d.strings) { this.u8(s.length); this.bytes(s); } break;
      case 'raw': this.bytes(d.data); break;
    }
    this.buf.writeUInt16BE(this.off - lenAt - 2, lenAt);
  }
}

/**
 * The keys the encoder's compression dictionary uses for a name, one per label: the lower-cased
 * presentation text from that label to the end, without the trailing dot (as Writer.name builds
 * them), so that code assembling pre-encoded records compresses exactly as encodeMsg does.
 */
export function compressionKeys(name: string): string[] {
  const n = nameToLabels(name).length;
  const lower = lowerName(name === '.' ? '' : name.endsWith('.') ? name.slice(0, -1) : name);
  const keys: string[] = [];
  for (let i = 0, pos = 0; i < n; i++) { keys.push(lower.slice(pos)); pos = nextLabelStart(lower, pos); }
  return keys;
}

/** Index just past the next unescaped dot at or after `pos` in presentation text. */
function nextLabelStart(s: string, pos: number): number {
  for (let i = pos; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) { i += /^[0-9]{3}/.test(s.slice(i + 1, i + 4)) ? 3 : 1; continue; }
    if (c === 0x2e) return i + 1;
  }
  return s.length;
}

// ---------------------------------------------------------------- record helpers

export function rrA(name: string, ttl: number, ip: Uint8Array): RR {
  const v4 = to4(ip);
  return v4 ? { name, type: T.A, ttl, data: { k: 'ip', ip: v4 } } : { name, type: T.AAAA, ttl, data: { k: 'ip', ip } };
}
export function rrName(name: string, type: number, ttl: number, target: string): RR {
  return { name, type, ttl, data: { k: 'name', name: target } };
}
export function rrTXT(name: string, ttl: number, text: string): RR {
  const b = Buffer.from(text, 'utf8');
  const strings: Uint8Array[] = [];
  for (let i = 0; i < b.length || i === 0; i += 255) strings.push(b.subarray(i, i + 255));
  return { name, type: T.TXT, ttl, data: { k: 'txt', strings } };
}

/**
 * @module An RFC 1035 §5 master-file parser: $ORIGIN, $TTL, `@`, relative names, blank owner
 * (= previous owner), TTL and class in either order, TTL units (1h30m, 1d, 1w), parentheses
 * spanning lines, `;` comments, quoted strings with `\"`, `\\` and `\DDD` escapes, and RFC 3597
 * generic rdata (`TYPE65280 \# 2 abcd`).
 *
 * Types: A AAAA NS CNAME PTR DNAME MX TXT SPF SRV SOA CAA SSHFP TLSA DS NAPTR HINFO, plus any
 * type in generic form. $INCLUDE and $GENERATE are rejected (a zone is one file).
 * Why not a library: dns-zonefile 0.3.2 and zone-file 1.0.0 (npm) both drop unknown types and
 * `IN 300 A` lines silently, turn a blank owner into `@` (or the string `IN`), accept
 * 999.1.1.1, and mis-parse multi-line TXT — see README.md ("Library choices").
 */
import { T, nameToLabels, parseIP, to4 } from './wire.ts';
import type { RR, RData } from './wire.ts';

export interface ParsedZone {
  origin: string;
  records: RR[];
}

export class ZoneFileError extends Error {}

interface Tok { v: string; quoted: boolean }
interface Line { toks: Tok[]; blankOwner: boolean; lineNo: number }

const TYPE_NUM: Record<string, number> = {
  A: T.A, NS: T.NS, CNAME: T.CNAME, SOA: T.SOA, PTR: T.PTR, HINFO: T.HINFO, MX: T.MX, TXT: T.TXT, AAAA: T.AAAA,
  SRV: T.SRV, NAPTR: T.NAPTR, DS: T.DS, SSHFP: T.SSHFP, DNSKEY: T.DNSKEY, TLSA: T.TLSA, SPF: T.SPF, CAA: T.CAA, DNAME: 39,
};

/** Splits the text into logical lines of tokens (parentheses joined, comments dropped). */
function lex(text: string): Line[] {
  const lines: Line[] = [];
  let toks: Tok[] = []; let depth = 0; let lineNo = 1; let startLine = 1;
  let blankOwner = false; let atLineStart = true;
  let i = 0;
  const flush = (): void => {
    if (toks.length) lines.push({ toks, blankOwner, lineNo: startLine });
    toks = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (atLineStart && depth === 0) { blankOwner = c === ' ' || c === '\t'; atLineStart = false; startLine = lineNo; }
    if (c === '\n') {
      lineNo++; i++;
      if (depth === 0) { flush(); atLineStart = true; }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === ';') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (c === '(') { depth++; i++; continue; }
    if (c === ')') { if (--depth < 0) throw new ZoneFileError(`line ${lineNo}: unbalanced )`); i++; continue; }
    if (c === '"') {
      let v = ''; i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') { v += text.slice(i, i + 2); i += 2; continue; }
        if (text[i] === '\n') lineNo++;
        v += text[i++];
      }
      if (i >= text.length) throw new ZoneFileError(`line ${lineNo}: unterminated string`);
      i++;
      toks.push({ v, quoted: true });
      continue;
    }
    let v = '';
    while (i < text.length && !' \t\r\n;()"'.includes(text[i]!)) {
      if (text[i] === '\\') { v += text.slice(i, i + 2); i += 2; continue; }
      v += text[i++];
    }
    toks.push({ v, quoted: false });
  }
  if (depth !== 0) throw new ZoneFileError(`line ${lineNo}: unbalanced (`);
  flush();
  return lines;
}

/** BIND-style TTL: plain seconds or units s/m/h/d/w (case-insensitive), e.g. 1h30m. */
export function parseTtl(s: string): number | null {
  if (/^[0-9]+$/.test(s)) { const n = Number(s); return n <= 0x7fffffff ? n : null; }
  const re = /([0-9]+)([smhdw])/giy;
  let total = 0; let pos = 0;
  const mult: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return null;
    total += Number(m[1]) * mult[m[2]!.toLowerCase()]!;
    pos = re.lastIndex;
  }
  return pos > 0 && total <= 0x7fffffff ? total : null;
}

/** Character-string escapes → bytes. */
function charString(s: string): Uint8Array {
  const out: number[] = [];
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x5c && i + 1 < bytes.length) {
      const d = bytes.subarray(i + 1, i + 4).toString('latin1');
      if (/^[0-9]{3}$/.test(d)) { const v = Number(d); if (v > 255) throw new ZoneFileError(`bad escape \\${d}`); out.push(v); i += 3; } else { out.push(bytes[i + 1]!); i++; }
    } else out.push(b);
  }
  if (out.length > 255) throw new ZoneFileError('character-string longer than 255 octets');
  return Uint8Array.from(out);
}

function u(s: string | undefined, max: number, what: string): number {
  if (s === undefined || !/^[0-9]+$/.test(s) || Number(s) > max) throw new ZoneFileError(`bad ${what}: ${s ?? '(missing)'}`);
  return Number(s);
}

function hex(parts: string[], what: string): Uint8Array {
  const h = parts.join('');
  if (!/^([0-9a-fA-F]{2})*$/.test(h) || h.length === 0) throw new ZoneFileError(`bad ${what}`);
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap(p => [...p]));
}

/** Parses a zone file. `origin` is the default $ORIGIN (usually from the file name). */
export function parseZone(text: string, origin: string): ParsedZone {
  let org = absolute(origin, '.');
  const records: RR[] = [];
  let defaultTtl: number | null = null; let lastTtl: number | null = null; let owner: string | null = null;
  for (const line of lex(text)) {
    try {
      const t = line.toks;
      const d = t[0]!.quoted ? '' : t[0]!.v.toUpperCase();
      if (d === '$ORIGIN') { org = absolute(need(t[1]).v, org); continue; }
      if (d === '$TTL') { const v = parseTtl(need(t[1]).v); if (v === null) throw new ZoneFileError(`bad $TTL ${t[1]!.v}`); defaultTtl = v; continue; }
      if (d.startsWith('$')) throw new ZoneFileError(`unsupported directive ${t[0]!.v}`);
      let k = 0;
      if (!line.blankOwner) { owner = t[0]!.v === '@' ? org : absolute(t[0]!.v, org); k = 1; }
      if (owner === null) throw new ZoneFileError('record without an owner name');
      let ttl: number | null = null; let cls = 'IN';
      for (let n = 0; n < 2 && k < t.length; n++) {
        const v = t[k]!.v;
        const maybeTtl = t[k]!.quoted ? null : parseTtl(v);
        if (ttl === null && maybeTtl !== null) { ttl = maybeTtl; k++; continue; }
        if (/^(IN|CH|HS|CS|CLASS[0-9]+)$/i.test(v)) { cls = v.toUpperCase(); k++; continue; }
        break;
      }
      if (cls !== 'IN' && cls !== 'CLASS1') throw new ZoneFileError(`class ${cls} not supported (IN only)`);
      const typeTok = need(t[k]).v.toUpperCase();
      const type = TYPE_NUM[typeTok] ?? (/^TYPE[0-9]+$/.test(typeTok) ? Number(typeTok.slice(4)) : NaN);
      if (!Number.isInteger(type) || type < 1 || type > 65535) throw new ZoneFileError(`unknown type ${t[k]!.v}`);
      const rd = t.slice(k + 1);
      const data = rdata(type, rd, org);
      if (ttl === null) {
        ttl = defaultTtl ?? lastTtl;
        if (ttl === null && type === T.SOA && data.k === 'soa') ttl = data.minimum;
        if (ttl === null) throw new ZoneFileError('no TTL and no $TTL');
      } else lastTtl = ttl;
      nameToLabels(owner);
      records.push({ name: owner, type, ttl, data });
    } catch (e) {
      throw new ZoneFileError(`line ${line.lineNo}: ${(e as Error).message}`);
    }
  }
  return { origin: org, records };
}

function need(t: Tok | undefined): Tok {
  if (!t) throw new ZoneFileError('unexpected end of line');
  return t;
}

function absolute(name: string, origin: string): string {
  if (name === '@') return origin;
  const abs = name.endsWith('.') && !name.endsWith('\\.') ? name : name + '.' + (origin === '.' ? '' : origin);
  nameToLabels(abs);
  return abs;
}

function rdata(type: number, t: Tok[], origin: string): RData {
  const v = t.map(x => x.v);
  const name = (i: number): string => absolute(need(t[i]).v, origin);
  const count = (n: number): void => { if (t.length !== n) throw new ZoneFileError(`expected ${n} rdata fields, got ${t.length}`); };
  if (v[0] === '\\#') {
    const len = u(v[1], 65535, 'generic length');
    const data = len === 0 ? new Uint8Array(0) : hex(v.slice(2), 'generic rdata');
    if (data.length !== len) throw new ZoneFileError('generic rdata length mismatch');
    return { k: 'raw', data };
  }
  switch (type) {
    case T.A: {
      count(1);
      const ip = parseIP(v[0]!);
      if (!ip || ip.length !== 4) throw new ZoneFileError(`bad IPv4 address ${v[0]}`);
      return { k: 'ip', ip };
    }
    case T.AAAA: {
      count(1);
      const ip = v[0]!.includes(':') ? parseIP(v[0]!) : null;
      if (!ip || ip.length !== 16) throw new ZoneFileError(`bad IPv6 address ${v[0]}`);
      return { k: 'ip', ip: to4(ip) && !v[0]!.includes(':') ? ip : ip };
    }
    case T.NS: case T.CNAME: case T.PTR: case 39: count(1); return { k: 'name', name: name(0) };
    case T.MX: count(2); return { k: 'mx', preference: u(v[0], 65535, 'preference'), exchange: name(1) };
    case T.SRV: count(4); return { k: 'srv', priority: u(v[0], 65535, 'priority'), weight: u(v[1], 65535, 'weight'), port: u(v[2], 65535, 'port'), target: name(3) };
    case T.SOA: {
      count(7);
      const ttl = (i: number): number => { const x = parseTtl(v[i]!); if (x === null) throw new ZoneFileError(`bad SOA field ${v[i]}`); return x; };
      return { k: 'soa', mname: name(0), rname: name(1), serial: u(v[2], 0xffffffff, 'serial'), refresh: ttl(3), retry: ttl(4), expire: ttl(5), minimum: ttl(6) };
    }
    case T.TXT: case T.SPF:
      if (t.length === 0) throw new ZoneFileError('TXT needs at least one string');
      return { k: 'txt', strings: v.map(charString) };
    case T.HINFO: count(2); return { k: 'raw', data: cat([charString(v[0]!).length], charString(v[0]!), [charString(v[1]!).length], charString(v[1]!)) };
    case T.CAA: {
      count(3);
      const tag = Buffer.from(v[1]!, 'latin1');
      if (!/^[a-zA-Z0-9]+$/.test(v[1]!)) throw new ZoneFileError(`bad CAA tag ${v[1]}`);
      return { k: 'raw', data: cat([u(v[0], 255, 'CAA flags'), tag.length], tag, charString(v[2]!)) };
    }
    case T.SSHFP: return { k: 'raw', data: cat([u(v[0], 255, 'algorithm'), u(v[1], 255, 'fp type')], hex(v.slice(2), 'fingerprint')) };
    case T.TLSA: return { k: 'raw', data: cat([u(v[0], 255, 'usage'), u(v[1], 255, 'selector'), u(v[2], 255, 'matching type')], hex(v.slice(3), 'certificate data')) };
    case T.DS: {
      const tag = u(v[0], 65535, 'key tag');
      return { k: 'raw', data: cat([tag >> 8, tag & 0xff, u(v[1], 255, 'algorithm'), u(v[2], 255, 'digest type')], hex(v.slice(3), 'digest')) };
    }
    case T.NAPTR: {
      count(6);
      const o = u(v[0], 65535, 'order'); const p = u(v[1], 65535, 'preference');
      const cs = [charString(v[2]!), charString(v[3]!), charString(v[4]!)];
      const repl = name(5);
      const wire = nameToLabels(repl).flatMap(l => [l.length, ...l]).concat([0]);
      return { k: 'raw', data: cat([o >> 8, o & 0xff, p >> 8, p & 0xff], ...cs.flatMap(c => [[c.length], c]), wire) };
    }
    default:
      throw new ZoneFileError(`type ${type} needs the generic \\# form`);
  }
}

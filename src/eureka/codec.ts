/**
 * @module Eureka's wire formats: JSON and XML both ways, gzip when asked.
 *
 * As Eureka's Jersey resources: the answer is JSON when `Accept` names json, else XML; a request
 * body is XML when its Content-Type names xml, else JSON. XML maps onto the JSON shape with
 * `$` = element text and `@x` = attribute x (the convention the JSON itself comes from), via
 * fast-xml-parser (no DTDs or external entities are ever resolved).
 */
import { gzipSync } from 'node:zlib';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { Reply } from '../http/server.ts';
import { EurekaInputError } from './mapping.ts';

const XML_OPTS = { ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '$' } as const;
const parser = new XMLParser({ ...XML_OPTS, parseTagValue: false, parseAttributeValue: false, processEntities: true, htmlEntities: false });
const builder = new XMLBuilder({ ...XML_OPTS, suppressEmptyNode: false, suppressBooleanAttributes: false, format: false });

/** Bodies smaller than this are not worth compressing. */
const GZIP_MIN = 1024;

export type Format = 'json' | 'xml';

/** The answer format `Accept` asks for (Eureka: XML unless json is named). */
export function wants(accept: string | undefined): Format {
  return accept && /json/i.test(accept) ? 'json' : 'xml';
}

export function acceptsGzip(enc: string | undefined): boolean {
  return !!enc && /\bgzip\b/i.test(enc);
}

/** Encodes a value whose single top-level key is the root element (`{applications: {...}}`). */
export function encode(v: unknown, f: Format): string {
  if (f === 'json') return JSON.stringify(v);
  return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + builder.build(v);
}

/**
 * The reply for a body, rendered once per format/encoding when `cache` is given (the registry
 * drops its cache on every change). `json`, when given, produces the JSON text itself (the registry's per-app cache).
 */
export function reply(v: unknown | (() => unknown), f: Format, gzip: boolean, cache?: Map<string, Buffer | string>, status = 200, json?: () => string): Reply {
  const key = f + (gzip ? '+gz' : '');
  let body = cache?.get(key) as Buffer | undefined;
  if (body === undefined) {
    let plain = cache?.get(f) as Buffer | undefined;
    if (plain === undefined) {
      plain = Buffer.from(f === 'json' && json ? json() : encode(typeof v === 'function' ? (v as () => unknown)() : v, f));
      cache?.set(f, plain);
    }
    body = gzip && plain.length >= GZIP_MIN ? gzipSync(plain, { level: 1 }) : plain;
    cache?.set(key, body);
  }
  const headers: Record<string, string> = { 'Content-Type': f === 'json' ? 'application/json' : 'application/xml' };
  // JSON and XML never start with gzip's magic bytes.
  if (body.length > 1 && body[0] === 0x1f && body[1] === 0x8b) headers['Content-Encoding'] = 'gzip';
  return { status, body, headers };
}

/** Parses a request body by its Content-Type: XML into the JSON shape (`<instance>` → `{instance: {...}}`), else JSON. */
export function decodeBody(buf: Buffer, contentType: string | undefined): unknown {
  if (buf.length === 0) throw new EurekaInputError('Missing request body');
  const text = buf.toString('utf8');
  if (contentType && /xml/i.test(contentType)) {
    let v: unknown;
    try {
      v = parser.parse(text, true);
    } catch (err) {
      throw new EurekaInputError(`Malformed XML: ${(err as Error).message.split('\n')[0]}`);
    }
    return v;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EurekaInputError(`Malformed JSON: ${(err as Error).message}`);
  }
}

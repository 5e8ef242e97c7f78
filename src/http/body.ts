/**
 * @module Request bodies: read whole under a limit (413 past it, nothing kept) and parsed as
 * Consul's Go decoder would accept them.
 */
import type { IncomingMessage } from 'node:http';
import { parseExact } from '../util/json.ts';
import { HttpError } from './errors.ts';
import { clientKey, logLimit } from './limits.ts';

/** How big a request body may be, and how a bigger one is refused (413, nothing read past the limit). */
export interface BodyLimit {
  max: number;
  /** Consul's message for a body of `n` bytes (as many as were read when the length was not announced). */
  message(n: number): string;
}

/** Every request body but KV values and transactions: Consul's txn wording. */
export const DEFAULT_BODY_LIMIT: BodyLimit = { max: 512 * 1024, message: () => `Request body too large, max size: ${512 * 1024} bytes` };

/** Go's encoding/json nesting limit. */
const MAX_JSON_DEPTH = 10_000;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * JSON.parse, refusing what Roster cannot store faithfully: nesting deeper than Go's limit, and
 * strings (keys included) with a lone UTF-16 surrogate, which have no UTF-8 form.
 */
export function parseJson(b: Buffer): unknown {
  if (b.length === 0) return undefined;
  let v: unknown;
  try {
    v = parseExact(b.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
  }
  // Iterative walk: the depth check must not itself overflow the stack.
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x === 'string') {
      if (LONE_SURROGATE.test(x)) throw new HttpError(400, `Request decode failed: invalid string ${JSON.stringify(x.length > 64 ? x.slice(0, 64) + '...' : x)}: lone UTF-16 surrogate (not valid Unicode)`);
      continue;
    }
    if (typeof x !== 'object' || x === null) continue;
    if (d > MAX_JSON_DEPTH) throw new HttpError(400, 'Request decode failed: exceeded max depth');
    if (Array.isArray(x)) for (const e of x) stack.push([e, d + 1]);
    else for (const [k, e] of Object.entries(x)) { stack.push([k, d]); stack.push([e, d + 1]); }
  }
  return v;
}

/**
 * Reads a request body whole, or refuses it with 413 as soon as it is known to be over the limit:
 * at once from Content-Length, else when the bytes read pass the limit. Nothing past the limit is
 * kept, and the connection is closed after the answer (the rest of the body is never read).
 */
export function readBody(req: IncomingMessage, limit: BodyLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const announced = Number(req.headers['content-length'] ?? NaN);
    const refuse = (n: number) => {
      req.removeAllListeners('data');
      req.pause();
      logLimit('body', 'request body over the limit: answered 413', { client: clientKey(req.socket.remoteAddress), path: req.url?.slice(0, 100), bytes: n, limit: limit.max });
      reject(new HttpError(413, limit.message(n), true));
    };
    if (announced > limit.max) { refuse(announced); return; }
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit.max) { refuse(n); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, n)));
    req.on('error', reject);
  });
}

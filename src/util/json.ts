/**
 * @module Exact 64-bit integers in JSON. Consul's uint64 fields (KV flags, indexes) may exceed
 * 2^53, where a JavaScript number rounds (3304740253564472344 → 3304740253564472300). Parsing
 * turns such literals into BigInts (from the literal's source text); serialising writes a BigInt
 * or a `rawInt` as its digits. Neither goes through a double.
 */

interface RawJson { readonly rawJSON: string }
const J = JSON as unknown as {
  rawJSON(text: string): RawJson;
  parse(text: string, reviver?: (this: unknown, key: string, value: unknown, ctx?: { source?: string }) => unknown): unknown;
};

/** A decimal integer string written into JSON as a number, digit for digit. */
export function rawInt(digits: string | bigint): unknown {
  const s = String(digits);
  if (!/^-?\d+$/.test(s)) throw new Error(`not an integer: ${s.slice(0, 40)}`);
  return J.rawJSON(s);
}

/** JSON.parse reviver: integer literals past 2^53 become BigInts of their exact text. */
export function exactIntegers(_k: string, v: unknown, ctx?: { source?: string }): unknown {
  if (typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source && /^-?\d+$/.test(ctx.source)) return BigInt(ctx.source);
  return v;
}

/**
 * JSON.parse keeping integers past 2^53 exact (as BigInts). The reviver (recursive in V8) runs
 * only when the text holds a 16-digit run; nesting too deep for it falls back to plain parsing.
 */
export function parseExact(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  try {
    return J.parse(text, exactIntegers);
  } catch (err) {
    if (err instanceof RangeError) return JSON.parse(text);
    throw err;
  }
}

// A BigInt anywhere in a value (e.g. a big integer inside a service's Proxy config) serialises as its
// digits instead of making JSON.stringify throw.
const proto = BigInt.prototype as unknown as { toJSON?: () => unknown };
if (!proto.toJSON) proto.toJSON = function (this: bigint) { return J.rawJSON(this.toString()); };

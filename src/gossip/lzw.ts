/**
 * @module LZW compatible with Go's `compress/lzw` in LSB order with 8-bit literals, the only
 * algorithm memberlist uses (`compress{Algo: 0}`): clear = 256, eof = 257, first free code 258,
 * code width 9 bits growing to 12, a leading clear code, and a clear + reset when the writer
 * reaches code 4095.
 */

const CLEAR = 256;
const EOF = 257;
const MAX_CODE = 4095;
const MAX_WIDTH = 12;

/** Compresses `input` exactly as Go's `lzw.NewWriter(w, lzw.LSB, 8)` followed by `Close()`. */
export function lzwCompress(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  let bits = 0; let nBits = 0; let width = 9;
  let hi = EOF; let overflow = 512;
  let table = new Map<number, number>();
  const write = (code: number): void => {
    bits |= code << nBits;
    nBits += width;
    while (nBits >= 8) { out.push(bits & 0xff); bits >>>= 8; nBits -= 8; }
  };
  // Returns false when the code space ran out and the writer reset itself.
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) { width++; overflow <<= 1; }
    if (hi === MAX_CODE) {
      write(CLEAR);
      width = 9; hi = EOF; overflow = 512;
      table = new Map();
      return false;
    }
    return true;
  };
  write(CLEAR);
  if (input.length > 0) {
    let code = input[0]!;
    for (let i = 1; i < input.length; i++) {
      const lit = input[i]!;
      const key = code * 256 + lit;
      const hit = table.get(key);
      if (hit !== undefined) { code = hit; continue; }
      write(code);
      code = lit;
      if (incHi()) table.set(key, hi);
    }
    write(code);
    incHi();
  }
  write(EOF);
  if (nBits > 0) out.push(bits & 0xff);
  return Uint8Array.from(out);
}

/**
 * Decompresses Go `compress/lzw` LSB/8 data. Stops at the eof code (or the end of the input, as
 * Go returns io.ErrUnexpectedEOF then — we throw). `maxOutput` bounds memory for hostile input.
 */
export function lzwDecompress(input: Uint8Array, maxOutput = 64 << 20): Uint8Array {
  const suffix = new Uint8Array(1 << MAX_WIDTH);
  const prefix = new Uint16Array(1 << MAX_WIDTH);
  let out = new Uint8Array(Math.max(64, input.length * 4));
  let o = 0;
  const ensure = (n: number): void => {
    if (o + n <= out.length) return;
    if (o + n > maxOutput) throw new Error('lzw: output too large');
    let cap = out.length * 2; while (cap < o + n) cap *= 2;
    const next = new Uint8Array(Math.min(cap, maxOutput)); next.set(out.subarray(0, o)); out = next;
  };
  const stack = new Uint8Array(1 << MAX_WIDTH);
  let bits = 0; let nBits = 0; let pos = 0;
  let width = 9; let hi = EOF; let overflow = 512; let last = -1;
  for (;;) {
    while (nBits < width) {
      if (pos >= input.length) throw new Error('lzw: unexpected EOF');
      bits |= input[pos++]! << nBits; nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width; nBits -= width;
    if (code < CLEAR) {
      ensure(1); out[o++] = code;
      if (last !== -1) { suffix[hi] = code; prefix[hi] = last; }
    } else if (code === CLEAR) {
      width = 9; hi = EOF; overflow = 512; last = -1;
      continue;
    } else if (code === EOF) {
      break;
    } else if (code <= hi) {
      let sp = stack.length; let c = code;
      if (code === hi && last !== -1) {
        // KwKwK case: expansion of last followed by its own first byte.
        let h = last; while (h >= CLEAR) h = prefix[h]!;
        stack[--sp] = h;
        c = last;
      }
      while (c >= CLEAR) { stack[--sp] = suffix[c]!; c = prefix[c]!; }
      stack[--sp] = c;
      const n = stack.length - sp;
      ensure(n); out.set(stack.subarray(sp), o); o += n;
      if (last !== -1) { suffix[hi] = c; prefix[hi] = last; }
    } else {
      throw new Error('lzw: invalid code');
    }
    last = code; hi++;
    if (hi >= overflow) {
      if (hi > MAX_CODE) { hi = MAX_CODE; last = -1; } else { width++; overflow <<= 1; }
    }
  }
  return out.slice(0, o);
}

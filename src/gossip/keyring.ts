/**
 * @module memberlist keyring and AES-GCM payload encryption (memberlist/security.go format).
 *
 * Payload: `[vsn u8][nonce 12][GCM ciphertext ‖ 16-byte tag]`. Version 0 PKCS7-pads the
 * plaintext to the AES block size first; version 1 (used for memberlist protocol ≥ 2, i.e. always
 * with Serf) does not. The primary key encrypts; every key is tried when decrypting.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CipherGCMTypes } from 'node:crypto';

/** Encryption format version byte. */
export type EncryptionVersion = 0 | 1;

const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const BLOCK_SIZE = 16;
const VALID_KEY_SIZES = new Set([16, 24, 32]);

/** Bytes added by encryption for a message of length `n`. */
export function encryptOverhead(vsn: EncryptionVersion): number {
  return vsn === 0 ? 1 + NONCE_SIZE + TAG_SIZE + BLOCK_SIZE : 1 + NONCE_SIZE + TAG_SIZE;
}

/** Total length of the encrypted form of an `n`-byte plaintext. */
export function encryptedLength(vsn: EncryptionVersion, n: number): number {
  if (vsn === 1) return 1 + NONCE_SIZE + n + TAG_SIZE;
  const padded = n + (BLOCK_SIZE - (n % BLOCK_SIZE));
  return 1 + NONCE_SIZE + padded + TAG_SIZE;
}

function algo(key: Uint8Array): CipherGCMTypes {
  return `aes-${key.length * 8}-gcm` as CipherGCMTypes;
}

/**
 * Encrypts `msg` with `key`. `aad` is the additional data (empty for UDP in memberlist 0.2, the
 * label for newer; the 5-byte stream header [+ label] for TCP). `nonce` is for test vectors only.
 */
export function encryptPayload(vsn: EncryptionVersion, key: Uint8Array, msg: Uint8Array, aad?: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const iv = nonce ?? randomBytes(NONCE_SIZE);
  if (iv.length !== NONCE_SIZE) throw new Error('nonce must be 12 bytes');
  let src = msg;
  if (vsn === 0) {
    const pad = BLOCK_SIZE - (msg.length % BLOCK_SIZE);
    src = new Uint8Array(msg.length + pad);
    src.set(msg); src.fill(pad, msg.length);
  }
  const c = createCipheriv(algo(key), key, iv);
  if (aad && aad.length > 0) c.setAAD(aad);
  const ct = Buffer.concat([c.update(src), c.final()]);
  const out = new Uint8Array(1 + NONCE_SIZE + ct.length + TAG_SIZE);
  out[0] = vsn; out.set(iv, 1); out.set(ct, 1 + NONCE_SIZE); out.set(c.getAuthTag(), 1 + NONCE_SIZE + ct.length);
  return out;
}

/** Decrypts with the first key that authenticates; throws if none does or the format is bad. */
export function decryptPayload(keys: readonly Uint8Array[], buf: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (buf.length === 0) throw new Error('Cannot decrypt empty payload');
  const vsn = buf[0]!;
  if (vsn > 1) throw new Error(`Unsupported encryption version ${vsn}`);
  if (buf.length < encryptedLength(vsn as EncryptionVersion, 0)) throw new Error('Payload is too small to decrypt');
  const iv = buf.subarray(1, 1 + NONCE_SIZE);
  const ct = buf.subarray(1 + NONCE_SIZE, buf.length - TAG_SIZE);
  const tag = buf.subarray(buf.length - TAG_SIZE);
  for (const key of keys) {
    try {
      const d = createDecipheriv(algo(key), key, iv);
      if (aad && aad.length > 0) d.setAAD(aad);
      d.setAuthTag(tag);
      const plain = new Uint8Array(Buffer.concat([d.update(ct), d.final()]));
      if (vsn === 0) {
        const pad = plain[plain.length - 1] ?? 0;
        if (pad === 0 || pad > BLOCK_SIZE || pad > plain.length) throw new Error('bad padding');
        return plain.subarray(0, plain.length - pad);
      }
      return plain;
    } catch { /* try next key */ }
  }
  throw new Error('No installed keys could decrypt the message');
}

/** Parses a base64 key as produced by `serf keygen` / `consul keygen`; throws on a bad length. */
export function parseKey(b64: string): Uint8Array {
  const key = new Uint8Array(Buffer.from(b64.trim(), 'base64'));
  if (!VALID_KEY_SIZES.has(key.length)) throw new Error(`key size must be 16, 24 or 32 bytes (got ${key.length})`);
  return key;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Set of AES keys with one primary (memberlist Keyring). */
export class Keyring {
  #keys: Uint8Array[] = [];

  /** `keys[0]` (or `primary`) becomes the primary key. */
  constructor(keys: readonly Uint8Array[], primary?: Uint8Array) {
    for (const k of keys) this.addKey(k);
    if (primary) { this.addKey(primary); this.useKey(primary); }
    if (this.#keys.length === 0) throw new Error('keyring needs at least one key');
  }

  /** Keyring from base64 keys (the first is primary). */
  static fromBase64(primary: string, ...others: string[]): Keyring {
    return new Keyring([parseKey(primary), ...others.map(parseKey)]);
  }

  /** Adds a key (no-op if present). */
  addKey(key: Uint8Array): void {
    if (!VALID_KEY_SIZES.has(key.length)) throw new Error(`key size must be 16, 24 or 32 bytes (got ${key.length})`);
    if (!this.#keys.some(k => same(k, key))) this.#keys.push(new Uint8Array(key));
  }

  /** Makes an installed key primary. */
  useKey(key: Uint8Array): void {
    const i = this.#keys.findIndex(k => same(k, key));
    if (i < 0) throw new Error('Requested key is not in the keyring');
    const [k] = this.#keys.splice(i, 1);
    this.#keys.unshift(k!);
  }

  /** Removes a non-primary key. */
  removeKey(key: Uint8Array): void {
    if (this.#keys.length > 0 && same(this.#keys[0]!, key)) throw new Error('Removing the primary key is not allowed');
    this.#keys = this.#keys.filter(k => !same(k, key));
  }

  /** All keys, primary first. */
  getKeys(): Uint8Array[] {
    return [...this.#keys];
  }

  /** The key used for encryption. */
  getPrimaryKey(): Uint8Array {
    return this.#keys[0]!;
  }
}

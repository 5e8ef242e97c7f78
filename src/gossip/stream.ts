/**
 * @module Incremental reader and framing for memberlist TCP streams. A connection carries one
 * request and one reply with no length prefix, so values are parsed as bytes arrive.
 * Envelope (outside in): optional label `[244][len][label]` (dialer only), optional encryption
 * `[10][u32 BE len][payload]` (AAD = those 5 bytes + label), optional compression `[9]{Algo,Buf}`.
 */
import type { Duplex } from 'node:stream';
import { decode, decodeStruct, msgpackValueSize, utf8Bytes, utf8Text, concat } from './codec.ts';
import type { GoStruct } from './codec.ts';
import { MsgType, compressPayload, decompressStruct } from './messages.ts';
import { encryptPayload, decryptPayload } from './keyring.ts';
import type { Keyring, EncryptionVersion } from './keyring.ts';

/** Largest encrypted stream message accepted (memberlist's 20 MB limit). */
export const MAX_STREAM_ENCRYPTED = 20 * 1024 * 1024;

/** Pull-based byte reader over a socket (or a fixed buffer). */
export class StreamReader {
  #buf: Uint8Array;
  #pos = 0;
  #ended: boolean;
  #err: Error | null = null;
  #wake: (() => void) | null = null;
  #src: Duplex | null;

  constructor(src: Duplex | Uint8Array) {
    if (src instanceof Uint8Array) { this.#buf = src; this.#ended = true; this.#src = null; return; }
    this.#buf = new Uint8Array(0); this.#ended = false; this.#src = src;
    const wake = (): void => { const w = this.#wake; this.#wake = null; w?.(); };
    src.on('data', (chunk: Buffer) => {
      const rest = this.#buf.subarray(this.#pos);
      this.#buf = rest.length ? concat([rest, chunk]) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.#pos = 0;
      wake();
    });
    src.on('end', () => { this.#ended = true; wake(); });
    src.on('close', () => { this.#ended = true; wake(); });
    src.on('error', (e: Error) => { this.#err = e; this.#ended = true; wake(); });
  }

  /** Bytes buffered but not yet consumed. */
  get available(): number { return this.#buf.length - this.#pos; }

  async #more(): Promise<void> {
    if (this.#err) throw this.#err;
    if (this.#ended) throw new Error('EOF');
    await new Promise<void>(r => { this.#wake = r; });
  }

  /** Waits for at least one byte; false at a clean EOF. */
  async hasMore(): Promise<boolean> {
    while (this.available === 0) {
      if (this.#ended) return false;
      await this.#more();
    }
    return true;
  }

  /** Next byte without consuming it. */
  async peekByte(): Promise<number> {
    while (this.available < 1) await this.#more();
    return this.#buf[this.#pos]!;
  }

  async readByte(): Promise<number> {
    while (this.available < 1) await this.#more();
    return this.#buf[this.#pos++]!;
  }

  async readBytes(n: number): Promise<Uint8Array> {
    while (this.available < n) await this.#more();
    const out = this.#buf.slice(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** Reads the raw bytes of one complete msgpack value. */
  async readValueBytes(): Promise<Uint8Array> {
    for (;;) {
      const n = msgpackValueSize(this.#buf, this.#pos);
      if (n >= 0) { const out = this.#buf.slice(this.#pos, this.#pos + n); this.#pos += n; return out; }
      await this.#more();
    }
  }

  async readValue(): Promise<unknown> {
    return decode(await this.readValueBytes());
  }

  async readStruct(): Promise<GoStruct> {
    return decodeStruct(await this.readValueBytes());
  }

  /** Stops listening (the socket itself is closed by the owner). */
  detach(): void {
    this.#src?.removeAllListeners('data');
  }
}

/** Security/encoding settings for a stream endpoint. */
export interface StreamOptions {
  keyring: Keyring | null;
  encryptionVersion: EncryptionVersion;
  label: string;
  skipInboundLabelCheck: boolean;
  gossipVerifyIncoming: boolean;
  gossipVerifyOutgoing: boolean;
  enableCompression: boolean;
}

/** Reads the dialer's label header (responder side) and checks it against ours. */
export async function readStreamLabel(r: StreamReader, opts: StreamOptions): Promise<string> {
  if (!(await r.hasMore())) throw new Error('EOF');
  let label = '';
  // The label type byte can never start a normal stream message.
  if ((await r.peekByte()) === MsgType.hasLabel) {
    await r.readByte();
    const n = await r.readByte();
    label = utf8Text(await r.readBytes(n));
    if (opts.skipInboundLabelCheck) throw new Error('unexpected stream label header');
  }
  if (opts.skipInboundLabelCheck) return opts.label;
  if (label !== opts.label) throw new Error(`discarding stream with unacceptable label "${label}"`);
  return label;
}

/**
 * Reads the envelope of one stream message. Returns its type and a reader positioned after the
 * type byte (a buffer reader when the message was encrypted or compressed).
 */
export async function readStreamMessage(r: StreamReader, opts: StreamOptions, streamLabel: string): Promise<{ type: number; reader: StreamReader }> {
  let type = await r.readByte();
  let reader = r;
  if (type === MsgType.encrypt) {
    if (!opts.keyring) throw new Error('Remote state is encrypted and encryption is not configured');
    const lenBytes = await r.readBytes(4);
    const len = new DataView(lenBytes.buffer, lenBytes.byteOffset, 4).getUint32(0);
    if (len > MAX_STREAM_ENCRYPTED) throw new Error(`Remote node state is larger than limit (${len})`);
    const cipher = await r.readBytes(len);
    const aad = concat([Uint8Array.of(MsgType.encrypt), lenBytes, utf8Bytes(streamLabel)]);
    const plain = decryptPayload(opts.keyring.getKeys(), cipher, aad);
    if (plain.length === 0) throw new Error('empty decrypted stream');
    type = plain[0]!; reader = new StreamReader(plain.subarray(1));
  } else if (opts.keyring && opts.gossipVerifyIncoming) {
    throw new Error('Encryption is configured but remote state is not encrypted');
  }
  if (type === MsgType.compress) {
    const inner = decompressStruct(await reader.readStruct());
    if (inner.length === 0) throw new Error('empty decompressed stream');
    type = inner[0]!; reader = new StreamReader(inner.subarray(1));
  }
  return { type, reader };
}

/** Applies compression and encryption to a complete stream message (`[type][…]`). */
export function frameStreamMessage(msg: Uint8Array, opts: StreamOptions, streamLabel: string): Uint8Array {
  let out = msg;
  if (opts.enableCompression) {
    try { out = compressPayload(out); } catch { /* send uncompressed */ }
  }
  if (opts.keyring && opts.gossipVerifyOutgoing) {
    const encLen = 1 + 12 + out.length + 16 + (opts.encryptionVersion === 0 ? 16 - (out.length % 16) : 0);
    const header = new Uint8Array(5);
    header[0] = MsgType.encrypt;
    new DataView(header.buffer).setUint32(1, encLen);
    const aad = concat([header, utf8Bytes(streamLabel)]);
    const enc = encryptPayload(opts.encryptionVersion, opts.keyring.getPrimaryKey(), out, aad);
    out = concat([header, enc]);
  }
  return out;
}

/**
 * Queues all bytes on the stream. Resolves once queued, not when flushed: an in-process duplex
 * only acknowledges writes when the peer reads again, and a peer that got its whole reply closes
 * instead. Write errors surface as read errors or timeouts on the same connection.
 */
export function writeAll(sock: Duplex, buf: Uint8Array): Promise<void> {
  if (sock.destroyed || !sock.writable) return Promise.reject(new Error('stream is closed'));
  sock.write(buf, () => {});
  return Promise.resolve();
}

import test from 'ava';
import { readFileSync } from 'node:fs';
import { encryptPayload, decryptPayload, encryptedLength, Keyring, parseKey } from '../../src/gossip/keyring.ts';
import { decodeStruct, num } from '../../src/gossip/codec.ts';
import { decompressPayload, decodeCompound, verifyCrc, MsgType } from '../../src/gossip/messages.ts';
import { hex } from './helpers.ts';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 3, 4 (AES-128) and 15, 16 (AES-256).
const K128 = h('feffe9928665731c6d6a8f9467308308');
const K256 = h('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
const IV = h('cafebabefacedbaddecaf888');
const P = h(`d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
  1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255`);
const AAD = h('feedfacedeadbeeffeedfacedeadbeefabaddad2');
const vectors = [
  { name: 'GCM TC3 (AES-128)', key: K128, p: P, aad: undefined,
    c: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985', tag: '4d5c2af327cd64a62cf35abd2ba6fab4' },
  { name: 'GCM TC4 (AES-128, AAD)', key: K128, p: P.subarray(0, 60), aad: AAD,
    c: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091', tag: '5bc94fbc3221a5db94fae95ae7121a47' },
  { name: 'GCM TC15 (AES-256)', key: K256, p: P, aad: undefined,
    c: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad', tag: 'b094dac5d93471bdec1a502270e3cc6c' },
  { name: 'GCM TC16 (AES-256, AAD)', key: K256, p: P.subarray(0, 60), aad: AAD,
    c: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad'.slice(0, 120), tag: '76fc6ece0f4e1768cddf8853bb2d551b' },
];

for (const v of vectors) {
  test(`keyring: vsn 1 payload = [01][nonce][${v.name} ciphertext‖tag]`, t => {
    const out = encryptPayload(1, v.key, v.p, v.aad, IV);
    t.is(hex(out), '01' + hex(IV) + v.c + v.tag);
    t.is(out.length, encryptedLength(1, v.p.length));
    t.deepEqual(Buffer.from(decryptPayload([v.key], out, v.aad)), Buffer.from(v.p));
  });
}

test('keyring: vsn 0 PKCS7-pads to the block size and strips it on decrypt', t => {
  for (const len of [0, 1, 15, 16, 17, 60]) {
    const msg = Buffer.alloc(len, 7);
    const out = encryptPayload(0, K128, msg, undefined, IV);
    t.is(out[0], 0);
    t.is(out.length, encryptedLength(0, len));
    t.is((out.length - 1 - 12 - 16) % 16, 0, 'ciphertext is whole blocks');
    t.deepEqual(Buffer.from(decryptPayload([K128], out)), msg);
  }
  // With a 60-byte message the padding is 4 × 0x04: the first 60 ciphertext bytes equal TC3's.
  const out = encryptPayload(0, K128, P.subarray(0, 60), undefined, IV);
  t.is(hex(out.subarray(13, 73)), vectors[0]!.c.slice(0, 120));
});

test('keyring: wrong key, wrong AAD, tampering and unknown versions are rejected', t => {
  const out = encryptPayload(1, K128, Buffer.from('hello'), AAD);
  t.throws(() => decryptPayload([K256], out, AAD), { message: /No installed keys/ });
  t.throws(() => decryptPayload([K128], out), { message: /No installed keys/ });
  const bad = new Uint8Array(out); bad[20] ^= 1;
  t.throws(() => decryptPayload([K128], bad, AAD));
  const v9 = new Uint8Array(out); v9[0] = 9;
  t.throws(() => decryptPayload([K128], v9, AAD), { message: /version/ });
  t.throws(() => decryptPayload([K128], out.subarray(0, 20), AAD), { message: /too small/ });
});

test('keyring: every installed key is tried; the primary encrypts', t => {
  const kr = new Keyring([K128, K256]);
  t.deepEqual(kr.getPrimaryKey(), new Uint8Array(K128));
  const old = encryptPayload(1, K256, Buffer.from('from a node still on the old key'));
  t.is(Buffer.from(decryptPayload(kr.getKeys(), old)).toString(), 'from a node still on the old key');
  kr.useKey(K256);
  t.deepEqual(kr.getPrimaryKey(), new Uint8Array(K256));
  t.throws(() => kr.removeKey(K256), { message: /primary/ });
  kr.removeKey(K128);
  t.is(kr.getKeys().length, 1);
  t.throws(() => kr.useKey(K128), { message: /not in the keyring/ });
});

test('keyring: base64 keys as from `serf keygen` (16/24/32 bytes only)', t => {
  t.is(parseKey('5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4=').length, 32);
  t.is(parseKey(Buffer.alloc(16, 1).toString('base64')).length, 16);
  t.is(parseKey(Buffer.alloc(24, 1).toString('base64')).length, 24);
  t.throws(() => parseKey(Buffer.alloc(20).toString('base64')), { message: /16, 24 or 32/ });
  t.throws(() => Keyring.fromBase64(''));
});

test('keyring: decrypts a UDP ack sent by a real `serf agent -encrypt`', t => {
  const cap = JSON.parse(readFileSync(new URL('./fixtures/serf-captures.json', import.meta.url), 'utf8')) as Record<string, string>;
  const pkt = Buffer.from(cap.encryptedAck!, 'hex');
  t.is(pkt[0], 1, 'serf uses encryption version 1');
  let plain = verifyCrc(decryptPayload([parseKey(cap.key!)], pkt))!;
  if (plain[0] === MsgType.compress) plain = decompressPayload(plain.subarray(1));
  if (plain[0] === MsgType.compound) plain = decodeCompound(plain.subarray(1)).parts[0]!;
  t.is(plain[0], MsgType.ack);
  t.is(num(decodeStruct(plain.subarray(1)).SeqNo), 7);
});

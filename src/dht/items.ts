/**
 * BEP 44 items: immutable (stored under SHA-1 of the bencoded value) and mutable (under
 * SHA-1(public key ‖ salt), signed with ed25519 over the bencoded salt, seq and v, replaced only by a
 * higher sequence number, optionally compare-and-swap). Node's own crypto does ed25519.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export const MAX_VALUE_BYTES = 1000; // BEP 44
export const MAX_SALT_BYTES = 64;
export const ITEM_ERRORS = {
  tooBig: 205,
  badSignature: 206,
  saltTooBig: 207,
  casMismatch: 301,
  seqTooLow: 302,
} as const;

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

export function immutableTarget(encodedValue: Uint8Array): Buffer {
  return createHash('sha1').update(encodedValue).digest();
}

export function mutableTarget(publicKey: Uint8Array, salt?: Uint8Array): Buffer {
  const h = createHash('sha1').update(publicKey);
  if (salt && salt.length > 0) h.update(salt);
  return h.digest();
}

/** The bytes a mutable item's signature covers: "4:salt<n>:<salt>3:seqi<seq>e1:v<encoded v>" (salt only if non-empty). */
export function signedBytes(encodedValue: Uint8Array, seq: number, salt?: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  if (salt && salt.length > 0) parts.push(Buffer.from(`4:salt${salt.length}:`, 'latin1'), Buffer.from(salt));
  parts.push(Buffer.from(`3:seqi${seq}e1:v`, 'latin1'), Buffer.from(encodedValue));
  return Buffer.concat(parts);
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
}

export function verifyMutable(publicKey: Uint8Array, sig: Uint8Array, encodedValue: Uint8Array, seq: number, salt?: Uint8Array): boolean {
  if (publicKey.length !== 32 || sig.length !== 64) return false;
  try {
    return verify(null, signedBytes(encodedValue, seq, salt), publicKeyObject(publicKey), sig);
  } catch {
    return false;
  }
}

export interface Ed25519Keys {
  /** 32-byte seed (the private key as BEP 44 tools store it). */
  seed: Buffer;
  publicKey: Buffer;
}

export function generateKeys(): Ed25519Keys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { seed: Buffer.from(seed), publicKey: Buffer.from(pub) };
}

export function keysFromSeed(seed: Uint8Array): Ed25519Keys {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { seed: Buffer.from(seed), publicKey: Buffer.from(pub) };
}

export function signMutable(seed: Uint8Array, encodedValue: Uint8Array, seq: number, salt?: Uint8Array): Buffer {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  return sign(null, signedBytes(encodedValue, seq, salt), priv);
}

/**
 * A small, slow, independent Ed25519 (RFC 8032) in BigInt, for checking BEP 44 against its test
 * vectors. BEP 44's vectors list the 64-byte *expanded* private key of the ref10 / nightcracker
 * libraries (SHA-512 of the seed, first half clamped: the scalar `a`; second half: the nonce prefix),
 * not seed ‖ public key, so the seed behind them is unknown and `signMutable(seed, …)` cannot be fed
 * them. This signs with an expanded key directly, and expands a seed the same way, so that the BEP's
 * signatures can be reproduced from its private key and compared with what `signMutable` makes.
 */
import { createHash } from 'node:crypto';

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const mod = (a: bigint, m = P): bigint => ((a % m) + m) % m;

function pow(b: bigint, e: bigint, m = P): bigint {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

const inv = (a: bigint): bigint => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));

/** Extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z. */
type Point = [bigint, bigint, bigint, bigint];

const BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202n;
const BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960n;
const BASE: Point = [BX, BY, 1n, mod(BX * BY)];
const ZERO: Point = [0n, 1n, 1n, 0n];

function add(p: Point, q: Point): Point {
  const [x1, y1, z1, t1] = p;
  const [x2, y2, z2, t2] = q;
  const a = mod((y1 - x1) * (y2 - x2));
  const b = mod((y1 + x1) * (y2 + x2));
  const c = mod(2n * D * t1 * t2);
  const d = mod(2n * z1 * z2);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function mul(s: bigint, p: Point): Point {
  let r = ZERO;
  let q = p;
  while (s > 0n) {
    if (s & 1n) r = add(r, q);
    q = add(q, q);
    s >>= 1n;
  }
  return r;
}

function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

function bigToLe(n: bigint, len = 32): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function encodePoint(p: Point): Buffer {
  const zi = inv(p[2]);
  const x = mod(p[0] * zi);
  const y = mod(p[1] * zi);
  const out = bigToLe(y);
  if (x & 1n) out[31]! |= 0x80;
  return out;
}

const sha512 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The 64-byte expanded private key of a 32-byte seed (clamped scalar ‖ nonce prefix). */
export function expandSeed(seed: Uint8Array): Buffer {
  const h = sha512(seed);
  h[0]! &= 248;
  h[31]! &= 63;
  h[31]! |= 64;
  return h;
}

/** The public key of an expanded private key. */
export function publicKeyOfExpanded(expanded: Uint8Array): Buffer {
  return encodePoint(mul(leToBig(expanded.subarray(0, 32)), BASE));
}

/** An Ed25519 signature of `message` with an expanded private key. */
export function signExpanded(expanded: Uint8Array, message: Uint8Array): Buffer {
  const a = leToBig(expanded.subarray(0, 32));
  const prefix = expanded.subarray(32, 64);
  const pub = publicKeyOfExpanded(expanded);
  const r = mod(leToBig(sha512(prefix, message)), L);
  const R = encodePoint(mul(r, BASE));
  const k = mod(leToBig(sha512(R, pub, message)), L);
  const S = mod(r + k * a, L);
  return Buffer.concat([R, bigToLe(S)]);
}

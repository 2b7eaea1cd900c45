/**
 * Node ids and distances (BEP 5) and BEP 42's ids bound to the node's external address, which keep
 * one host from choosing where in the keyspace it sits.
 *   IPv4: crc32c((ip & 0x030f3fff) | (r << 29)), IPv6: crc32c((ip_hi64 & 0x0103070f1f3f7fff) | (r << 61))
 *   id[0..2] = crc[0..2], id[2] top 5 bits from crc, id[19] = r (random byte), the rest random.
 * Local addresses (loopback, private ranges) are exempt, as the BEP says.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { encodeCompactIPv6 } from '../net/compact.js';

export const ID_BYTES = 20;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** XOR distance of two ids, as a byte string (compare with Buffer.compare). */
export function distance(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Is `a` closer to `target` than `b`? (-1 closer, 1 farther, 0 same) */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const da = a[i]! ^ target[i]!;
    const db = b[i]! ^ target[i]!;
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}

/** Number of leading bits `a` and `b` share (0..160). */
export function commonPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BYTES * 8;
}

/** The address bytes BEP 42 hashes: all 4 of IPv4, the high 8 (the routing prefix) of IPv6. */
function ipBytes(ip: string): Buffer | undefined {
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(v4)) return Buffer.from(v4.split('.').map(Number));
  if (isIPv6(ip)) return encodeCompactIPv6([{ host: ip, port: 1 }]).subarray(0, 8);
  return undefined;
}

/** Addresses BEP 42 exempts: loopback, private and link-local ranges. */
export function isLocalAddress(ip: string): boolean {
  return /^(127\.|10\.|192\.168\.|169\.254\.|172\.(1[6-9]|2\d|3[01])\.)/.test(ip) || ip === '::1' || /^f[cd]/i.test(ip) || /^fe[89ab]/i.test(ip);
}

function prefixFor(ip: Buffer, r: number): number {
  const mask = ip.length === 4 ? [0x03, 0x0f, 0x3f, 0xff] : [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];
  const masked = Buffer.from(ip.map((b, i) => b & mask[i]!));
  masked[0]! |= (r & 0x7) << 5;
  return crc32c(masked);
}

/** A BEP 42 id for our external IPv4 or IPv6 address; `random` supplies the 20 random bytes. */
export function secureNodeId(ip: string, random: Buffer): Buffer {
  const id = Buffer.from(random.subarray(0, ID_BYTES));
  const bytes = ipBytes(ip);
  if (!bytes) return id;
  const r = id[19]!;
  const crc = prefixFor(bytes, r);
  id[0] = (crc >>> 24) & 0xff;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 0x07);
  return id;
}

/** Does `id` fit `ip` under BEP 42? Local addresses always pass. */
export function validNodeId(id: Uint8Array, ip: string): boolean {
  if (isLocalAddress(ip)) return true;
  const bytes = ipBytes(ip);
  if (!bytes) return true;
  const crc = prefixFor(bytes, id[19]!);
  return id[0] === ((crc >>> 24) & 0xff) && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}

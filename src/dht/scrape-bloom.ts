/**
 * The BEP 33 scrape bloom filter: 2048 bits, k = 2, fed with raw IP address bytes. DHT nodes return
 * one filter for a torrent's seeds (BFsd) and one for its peers (BFpe); OR-ing the filters from many
 * nodes and estimating the population of the union counts the swarm without double-counting hosts
 * announced to several nodes. Every implementation must set exactly the same bits, so this follows
 * the BEP's reference pseudocode bit for bit.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export const BLOOM_BYTES = 256;
const M = BLOOM_BYTES * 8;
const K = 2;

/**
 * The BEP's estimate, `log(c / m) / (k * log(1 - 1/m))` with `c` the number of zero bits, unrounded.
 *
 * The BEP clamps with `c = min(m - 1, zeroBits)`, which guards the wrong end: an empty filter would
 * estimate 0.5 instead of 0, while a full one still takes log(0) and yields Infinity. Here `c` is
 * clamped to at least 1 instead, so a full filter reports the value for 2047 set bits (about 7,806).
 * That figure means "at or beyond what a 2048-bit filter can count" — the BEP keeps swarms under
 * 6,000 for this reason — and it stays finite, so it can be summed and compared. Between the two
 * extremes (including the BEP's test vector) the result is identical to the BEP's formula.
 */
export function estimateFromBitsSet(bitsSet: number): number {
  const zeroBits = Math.max(1, M - bitsSet);
  // Both logs negated so an empty filter gives +0, not -0 (which deepEqual and Object.is tell apart).
  return Math.log(M / zeroBits) / (K * -Math.log1p(-1 / M));
}

export class ScrapeBloom {
  private readonly bits: Buffer;

  constructor(existing?: Buffer) {
    if (existing === undefined) {
      this.bits = Buffer.alloc(BLOOM_BYTES);
    } else {
      checkSize(existing);
      // A copy, so a filter decoded from a KRPC message cannot be changed under us (or change it).
      this.bits = Buffer.from(existing);
    }
  }

  /** Adds an IPv4 (dotted) or IPv6 address; throws RangeError for anything else, host names included. */
  insertIp(host: string): void {
    const [a, b] = indexes(host);
    this.setBit(a);
    this.setBit(b);
  }

  /** Whether the address may be in the set (both its bits set; false positives as any bloom filter). */
  mayContainIp(host: string): boolean {
    const [a, b] = indexes(host);
    return this.hasBit(a) && this.hasBit(b);
  }

  /** Ors in another filter, so this one then represents the union of both sets. */
  merge(other: ScrapeBloom | Buffer): void {
    const src = other instanceof ScrapeBloom ? other.bits : other;
    checkSize(src);
    for (let i = 0; i < BLOOM_BYTES; i++) this.bits[i] = this.bits[i]! | src[i]!;
  }

  /** The estimated number of distinct addresses inserted, rounded; finite even when the filter is full. */
  estimate(): number {
    return Math.round(estimateFromBitsSet(this.bitsSet));
  }

  toBuffer(): Buffer {
    return Buffer.from(this.bits);
  }

  get bitsSet(): number {
    let n = 0;
    for (const byte of this.bits) n += popcount8(byte);
    return n;
  }

  private hasBit(index: number): boolean {
    return (this.bits[index >> 3]! & (1 << (index & 7))) !== 0;
  }

  private setBit(index: number): void {
    this.bits[index >> 3] = this.bits[index >> 3]! | (1 << (index & 7));
  }
}

/**
 * Little-endian 16-bit indexes from the first four hash bytes (set low-bit-first within each byte
 * by setBit), as the BEP's reference code: other nodes' filters only OR correctly if bits line up.
 */
function indexes(host: string): [number, number] {
  const hash = createHash('sha1').update(addressBytes(host)).digest();
  return [(hash[0]! | (hash[1]! << 8)) % M, (hash[2]! | (hash[3]! << 8)) % M];
}

function checkSize(b: Buffer): void {
  if (b.length !== BLOOM_BYTES) {
    throw new RangeError(`scrape bloom filter must be ${BLOOM_BYTES} bytes, got ${b.length}`);
  }
}

function popcount8(byte: number): number {
  let n = 0;
  for (let b = byte; b !== 0; b &= b - 1) n++;
  return n;
}

/**
 * The raw address bytes the BEP hashes: 4 for IPv4, 16 for IPv6. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, in any spelling) yields the 4 IPv4 bytes: a dual-stack socket reports IPv4 peers
 * in that form, and hashing it as 16 bytes would count the same host twice against nodes that saw it
 * on a plain IPv4 socket (src/net/cidr.ts treats mapped addresses as IPv4 for the same reason).
 */
function addressBytes(host: string): Buffer {
  if (isIPv4(host)) return Buffer.from(host.split('.').map(Number));
  if (!isIPv6(host)) throw new RangeError(`not an IP address: ${JSON.stringify(host)}`);
  const v6 = parseIPv6(host);
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.subarray(12) : v6;
}

/** Expands a string that net.isIPv6 accepted into its 16 bytes. */
function parseIPv6(host: string): Buffer {
  // A zone (fe80::1%eth0) only says which interface to use; it is not part of the address.
  let text = host.split('%')[0]!;
  // A dotted tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) stands for the last two 16-bit groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[2]!.split('.').map(Number) as [number, number, number, number];
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const groupsOf = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8) throw new RangeError(`not an IP address: ${JSON.stringify(host)}`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/**
 * Allow and deny lists of CIDR ranges (IPv4 and IPv6). They govern every connection in and out and
 * every tracker request: an address is usable when it matches the allow list (or the allow list is
 * empty) and does not match the deny list. `SHOAL_NET_ALLOW` / `SHOAL_NET_DENY` (comma-separated)
 * set them from the environment; on the machines we test on they are always 127.0.0.0/8.
 */
import { isIP } from 'node:net';
import { ArgumentError } from '../util/errors.js';

interface Range {
  v6: boolean;
  bits: bigint;
  prefix: number;
}

function toBigInt(host: string): { v6: boolean; value: bigint } | undefined {
  const kind = isIP(host);
  if (kind === 4) {
    return { v6: false, value: host.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  }
  if (kind === 6) {
    // IPv4-mapped IPv6 addresses are checked as IPv4.
    // An embedded dotted IPv4 tail (::ffff:1.2.3.4, 0:0:0:0:0:ffff:1.2.3.4) becomes two hex groups.
    const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (dotted) {
      const v4 = toBigInt(dotted[2]!)!.value;
      return toBigInt(`${dotted[1]}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`);
    }
    const [head, tail] = host.includes('::') ? (host.split('::') as [string, string]) : [host, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
    // IPv4-mapped (::ffff:a.b.c.d) in any spelling — hex groups too — is checked as the IPv4 address.
    if (value >> 32n === 0xffffn) return { v6: false, value: value & 0xffffffffn };
    return { v6: true, value };
  }
  return undefined;
}

export function parseCidr(text: string): Range {
  const parts = text.trim().split('/');
  const [host, prefixText] = parts as [string, string | undefined];
  const addr = parts.length <= 2 ? toBigInt(host) : undefined;
  if (!addr) throw new ArgumentError(`${JSON.stringify(text)} is not an IP address or CIDR range`);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw new ArgumentError(`${JSON.stringify(text)} has a bad prefix length`);
  const max = addr.v6 ? 128 : 32;
  let prefix = prefixText === undefined ? max : Number(prefixText);
  // A mapped range is an IPv4 range: its prefix counts IPv4 bits (::ffff:127.0.0.0/8), or all 128
  // (::ffff:127.0.0.0/104) when it is longer than 32.
  if (!addr.v6 && host.includes(':') && prefix > 32) prefix -= 96;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new ArgumentError(`${JSON.stringify(text)} has a bad prefix length`);
  const shift = BigInt(max - prefix);
  return { v6: addr.v6, bits: addr.value >> shift, prefix };
}

function matches(r: Range, host: string): boolean {
  const a = toBigInt(host);
  if (!a || a.v6 !== r.v6) return false;
  const shift = BigInt((a.v6 ? 128 : 32) - r.prefix);
  return a.value >> shift === r.bits;
}

export class AddressFilter {
  private readonly allow: Range[];
  private readonly deny: Range[];

  constructor(allow: readonly string[] = [], deny: readonly string[] = []) {
    this.allow = allow.map(parseCidr);
    this.deny = deny.map(parseCidr);
  }

  /** From SHOAL_NET_ALLOW / SHOAL_NET_DENY plus the given lists (both apply). */
  static fromEnv(env: NodeJS.ProcessEnv, allow: readonly string[] = [], deny: readonly string[] = []): AddressFilter {
    const split = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    return new AddressFilter([...split(env.SHOAL_NET_ALLOW), ...allow], [...split(env.SHOAL_NET_DENY), ...deny]);
  }

  /** Is this IP literal usable? Names (not IPs) are never allowed when an allow list is set. */
  allows(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, '');
    if (this.deny.some((r) => matches(r, h))) return false;
    if (this.allow.length === 0) return true;
    return this.allow.some((r) => matches(r, h));
  }

  /** Could any IPv6 address pass? (Not when an allow list names only IPv4 ranges.) */
  get allowsIPv6(): boolean {
    return this.allow.length === 0 || this.allow.some((r) => r.v6);
  }

  get restricted(): boolean {
    return this.allow.length > 0 || this.deny.length > 0;
  }
}

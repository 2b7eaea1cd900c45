/**
 * Compact peer and node encodings shared by trackers (BEP 23), PEX (BEP 11) and the DHT (BEP 5, 32):
 * IPv4 as 4 address bytes + 2 port bytes, IPv6 as 16 + 2, both big-endian.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface PeerAddress {
  host: string;
  port: number;
}

export function addressKey(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Parses "host:port" or "[v6]:port". */
export function parseAddress(text: string): PeerAddress | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

export function encodeCompactIPv4(peers: readonly PeerAddress[]): Buffer {
  const v4 = peers.filter((p) => isIPv4(p.host));
  const b = Buffer.allocUnsafe(v4.length * 6);
  v4.forEach((p, i) => {
    const parts = p.host.split('.').map(Number);
    for (let j = 0; j < 4; j++) b[i * 6 + j] = parts[j]!;
    b.writeUInt16BE(p.port, i * 6 + 4);
  });
  return b;
}

export function decodeCompactIPv4(b: Uint8Array): PeerAddress[] {
  const out: PeerAddress[] = [];
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 6 <= buf.length; i += 6) {
    const port = buf.readUInt16BE(i + 4);
    if (port === 0) continue;
    out.push({ host: `${buf[i]}.${buf[i + 1]}.${buf[i + 2]}.${buf[i + 3]}`, port });
  }
  return out;
}

function expandIPv6(host: string): number[] {
  const [head, tail] = host.includes('::') ? host.split('::') as [string, string] : [host, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16));
}

export function encodeCompactIPv6(peers: readonly PeerAddress[]): Buffer {
  const v6 = peers.filter((p) => isIPv6(p.host) && !p.host.includes('.'));
  const b = Buffer.alloc(v6.length * 18);
  v6.forEach((p, i) => {
    expandIPv6(p.host).forEach((g, j) => b.writeUInt16BE(g, i * 18 + j * 2));
    b.writeUInt16BE(p.port, i * 18 + 16);
  });
  return b;
}

export function decodeCompactIPv6(b: Uint8Array): PeerAddress[] {
  const out: PeerAddress[] = [];
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 18 <= buf.length; i += 18) {
    const groups: string[] = [];
    for (let j = 0; j < 8; j++) groups.push(buf.readUInt16BE(i + j * 2).toString(16));
    const port = buf.readUInt16BE(i + 16);
    if (port === 0) continue;
    out.push({ host: canonicalIPv6(groups.join(':')), port });
  }
  return out;
}

/** RFC 5952 text for an IPv6 address (the URL parser compresses zeros exactly that way). */
export function canonicalIPv6(full: string): string {
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

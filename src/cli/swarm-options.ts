/** Options shared by `shoal get` and `shoal seed`, and turning them into session and torrent options. */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { DEFAULT_BOOTSTRAP } from '../session/dht-service.js';
import type { NodeSessionOptions } from '../session/node-session.js';
import { VERSION } from './version.js';
import { parseAddress } from '../net/compact.js';
import type { PeerAddress } from '../net/compact.js';
import { parseCidr } from '../net/cidr.js';
import { UsageError } from './errors.js';
import { parseBytes } from './format.js';

export interface SwarmCliOptions {
  port?: string;
  host?: string;
  pex: boolean;
  peer: string[];
  tracker: string[];
  maxPeers?: string;
  uploadLimit?: string;
  downloadLimit?: string;
  allow: string[];
  deny: string[];
  json?: boolean;
  quiet?: boolean;
  dht: boolean;
  ipv6: boolean;
  bootstrap: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function addSwarmOptions(c: Command): Command {
  return c
    .option('--port <n>', 'TCP port to listen on (default: any free port)')
    .option('--host <ip>', 'local address to listen on (default: every address)')
    .option('--peer <host:port>', 'connect to this peer; repeatable', collect, [])
    .option('--tracker <url>', 'announce to this tracker (http, https or udp); repeatable', collect, [])
    .option('--max-peers <n>', 'most connections for this torrent (default 50)')
    .option('--upload-limit <rate>', 'upload limit in bytes/s (e.g. 500K, 2M; 0 = none)')
    .option('--download-limit <rate>', 'download limit in bytes/s (0 = none)')
    .option('--allow <cidr>', 'only talk to these networks (also SHOAL_NET_ALLOW); repeatable', collect, [])
    .option('--deny <cidr>', 'never talk to these networks (also SHOAL_NET_DENY); repeatable', collect, [])
    .option('--no-dht', 'do not use the DHT (BEP 5) to find peers')
    .option('--no-pex', 'do not exchange peer lists with peers (BEP 11)')
    .option('--no-ipv6', 'IPv4 only (default: also IPv6 peers and the IPv6 DHT when the host has a global IPv6 address)')
    .option('--bootstrap <host:port>', 'DHT bootstrap node (replaces the public routers); repeatable', collect, [])
    .option('--json', 'one JSON object per line: ready, metadata, progress, done, error')
    .option('-q, --quiet', 'no live status');
}

/** The session both commands run: listening address, filters, DHT and IPv6 from the options. */
export function sessionOptions(o: SwarmCliOptions): NodeSessionOptions {
  if (o.host !== undefined && isIP(o.host) === 0) throw new UsageError(`--host ${JSON.stringify(o.host)} is not an IP address`);
  return {
    port: parsePort(o.port),
    ...(o.host !== undefined ? { host: o.host } : {}),
    allow: o.allow,
    deny: o.deny,
    version: VERSION,
    ...(o.dht ? { dht: { bootstrap: o.bootstrap.length > 0 ? o.bootstrap : DEFAULT_BOOTSTRAP } } : {}),
    ...(o.ipv6 ? {} : { ipv6: false }),
  };
}

/** The per-torrent options both commands share. */
export function torrentLimits(o: SwarmCliOptions): { maxPeers: number; uploadLimitBytesPerSec: number; downloadLimitBytesPerSec: number; pex?: false } {
  return {
    maxPeers: parseCount(o.maxPeers, '--max-peers', 50),
    uploadLimitBytesPerSec: parseRate(o.uploadLimit, '--upload-limit'),
    downloadLimitBytesPerSec: parseRate(o.downloadLimit, '--download-limit'),
    ...(o.pex ? {} : { pex: false as const }),
  };
}

export function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port ${JSON.stringify(text)} is not a port number`);
  return n;
}

export function parseRate(text: string | undefined, flag: string): number {
  if (text === undefined) return 0;
  const n = parseBytes(text);
  if (n === undefined) throw new UsageError(`${flag} ${JSON.stringify(text)} is not a rate (e.g. 500K, 2M)`);
  return n;
}

export function parsePeers(list: readonly string[]): PeerAddress[] {
  return list.map((p) => {
    const a = parseAddress(p);
    if (!a) throw new UsageError(`--peer ${JSON.stringify(p)} is not host:port`);
    return a;
  });
}

export function parseCount(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} ${JSON.stringify(text)} is not a positive whole number`);
  return n;
}

export function checkCidrs(list: readonly string[]): void {
  for (const c of list) parseCidr(c);
}

/** "0,2-4" → [0, 2, 3, 4] */
export function parseSelection(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UsageError(`--select ${JSON.stringify(text)}: expected indices like 0,2-4`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UsageError(`--select range ${part} runs backwards`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

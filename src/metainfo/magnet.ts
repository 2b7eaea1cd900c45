/**
 * Magnet links (BEP 9, BEP 53, and BEP 52's `urn:btmh`).
 *
 * Parsed: `xt=urn:btih:` (40 hex or 32 base32 characters), `xt=urn:btmh:1220<64 hex>` (a SHA-256
 * multihash), `dn`, `tr` (repeatable, also `tr.N`), `ws`, `x.pe` (peer addresses), `xl`, and BEP 53
 * `so` (file indices and ranges). Unknown parameters are kept out of the way, not refused.
 */
import { MetainfoError } from './errors.js';
import type { Metainfo } from './types.js';

export interface Magnet {
  /** v1 info-hash (20 bytes). */
  infoHash?: Buffer;
  /** v2 info-hash (32 bytes). */
  infoHashV2?: Buffer;
  name?: string;
  trackers: string[];
  webSeeds: string[];
  /** `x.pe` peer addresses, as given ("host:port"). */
  peers: string[];
  /** BEP 53 select-only file indices, expanded and sorted. */
  selectOnly?: number[];
  /** `xl`: exact length in bytes. */
  length?: number;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Refuse `so` ranges that expand into more than this many indices. */
const MAX_SELECT = 1_000_000;

function base32Decode(s: string): Buffer | undefined {
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of s.toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return undefined;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

function bad(message: string): never {
  throw new MetainfoError('ERR_MAGNET', message);
}

function parseSelectOnly(value: string): number[] {
  const set = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(part.trim());
    if (!m) bad(`magnet "so" has a bad entry ${JSON.stringify(part)}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) bad(`magnet "so" range ${part} runs backwards`);
    if (set.size + (to - from + 1) > MAX_SELECT) bad('magnet "so" selects too many files');
    for (let i = from; i <= to; i++) set.add(i);
  }
  return [...set].sort((a, b) => a - b);
}

export function isMagnet(text: string): boolean {
  return /^magnet:\?/i.test(text);
}

export function parseMagnet(uri: string): Magnet {
  if (!isMagnet(uri)) bad('not a magnet link (it must start with "magnet:?")');
  const magnet: Magnet = { trackers: [], webSeeds: [], peers: [] };
  const query = uri.slice(uri.indexOf('?') + 1);
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
    let value: string;
    try {
      value = decodeURIComponent((eq < 0 ? '' : pair.slice(eq + 1)).replace(/\+/g, ' '));
    } catch {
      bad(`magnet parameter "${key}" is not valid percent-encoding`);
    }
    const base = key.replace(/\.\d+$/, ''); // "xt.1", "tr.2": numbered duplicates
    if (base === 'xt') {
      const lower = value.toLowerCase();
      if (lower.startsWith('urn:btih:')) {
        const h = value.slice(9);
        let hash: Buffer | undefined;
        if (/^[0-9a-fA-F]{40}$/.test(h)) hash = Buffer.from(h, 'hex');
        else if (h.length === 32) hash = base32Decode(h);
        if (!hash || hash.length !== 20) bad(`magnet "xt" has a bad btih hash ${JSON.stringify(h)}`);
        magnet.infoHash = hash;
      } else if (lower.startsWith('urn:btmh:')) {
        const h = value.slice(9);
        // multihash: 0x12 = sha2-256, 0x20 = 32 bytes
        if (!/^1220[0-9a-fA-F]{64}$/.test(h)) bad(`magnet "xt" has a bad btmh hash ${JSON.stringify(h)}`);
        magnet.infoHashV2 = Buffer.from(h.slice(4), 'hex');
      }
    } else if (base === 'dn') magnet.name = value;
    else if (base === 'tr') magnet.trackers.push(value);
    else if (base === 'ws') magnet.webSeeds.push(value);
    else if (base === 'x.pe') magnet.peers.push(value);
    else if (base === 'so') magnet.selectOnly = parseSelectOnly(value);
    else if (base === 'xl') {
      if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) bad('magnet "xl" is not a length');
      magnet.length = Number(value);
    }
  }
  if (!magnet.infoHash && !magnet.infoHashV2) bad('magnet link has no "xt=urn:btih:" or "xt=urn:btmh:" info-hash');
  return magnet;
}

/** Percent-encodes what must be, and leaves ':' and '/' readable as other clients do. */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%2F/gi, '/');
}

export function formatMagnet(m: Magnet): string {
  const parts: string[] = [];
  if (m.infoHash) parts.push(`xt=urn:btih:${m.infoHash.toString('hex')}`);
  if (m.infoHashV2) parts.push(`xt=urn:btmh:1220${m.infoHashV2.toString('hex')}`);
  if (m.name !== undefined) parts.push(`dn=${enc(m.name)}`);
  if (m.length !== undefined) parts.push(`xl=${m.length}`);
  for (const t of m.trackers) parts.push(`tr=${enc(t)}`);
  for (const w of m.webSeeds) parts.push(`ws=${enc(w)}`);
  for (const p of m.peers) parts.push(`x.pe=${enc(p)}`);
  if (m.selectOnly?.length) parts.push(`so=${m.selectOnly.join(',')}`);
  return `magnet:?${parts.join('&')}`;
}

/** The magnet link of a torrent: both info-hashes for a hybrid, its name, trackers and web seeds. */
export function magnetOf(t: Metainfo): string {
  return formatMagnet({
    ...(t.infoHash ? { infoHash: t.infoHash } : {}),
    ...(t.infoHashV2 ? { infoHashV2: t.infoHashV2 } : {}),
    name: t.name,
    trackers: [...new Set(t.announce.flat())],
    webSeeds: [...t.webSeeds],
    peers: [],
  });
}

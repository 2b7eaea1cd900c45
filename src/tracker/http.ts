/**
 * HTTP(S) tracker announces (BEP 3, with compact peers per BEP 23 and `peers6` per BEP 7).
 * The request's host is checked against the address filter when it is resolved (a custom `lookup`),
 * so a tracker name can never lead us outside the allowed networks.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { decode, isDict } from '../bencode/index.js';
import type { BencodeValue } from '../bencode/index.js';
import type { AddressFilter } from '../net/cidr.js';
import { decodeCompactIPv4, decodeCompactIPv6 } from '../net/compact.js';
import type { PeerAddress } from '../net/compact.js';
import { TrackerError } from './types.js';
import type { AnnounceRequest, AnnounceResponse } from './types.js';

const MAX_RESPONSE_BYTES = 1024 * 1024;
const TIMEOUT_MS = 15_000;

/** Percent-encodes raw bytes for a query string: unreserved characters stay, the rest become %XX. */
export function encodeBinary(b: Uint8Array): string {
  let s = '';
  for (const byte of b) {
    const c = String.fromCharCode(byte);
    s += /[A-Za-z0-9.\-_~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

export function announceUrl(base: string, req: AnnounceRequest): string {
  const params = [
    `info_hash=${encodeBinary(req.infoHash)}`,
    `peer_id=${encodeBinary(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${req.uploaded}`,
    `downloaded=${req.downloaded}`,
    `left=${req.left}`,
    'compact=1',
    `numwant=${req.numWant}`,
    `key=${req.key.toString(16)}`,
  ];
  if (req.event) params.push(`event=${req.event}`);
  return `${base}${base.includes('?') ? '&' : '?'}${params.join('&')}`;
}

function peersFrom(v: BencodeValue | undefined, v6 = false): PeerAddress[] {
  if (Buffer.isBuffer(v)) return v6 ? decodeCompactIPv6(v) : decodeCompactIPv4(v);
  if (!Array.isArray(v)) return [];
  const out: PeerAddress[] = [];
  for (const p of v) {
    if (!isDict(p)) continue;
    const ip = p.get('ip');
    const port = p.get('port');
    if (Buffer.isBuffer(ip) && typeof port === 'number' && port > 0 && port < 65536) out.push({ host: ip.toString('utf8'), port });
  }
  return out;
}

export function parseAnnounceResponse(body: Buffer): AnnounceResponse {
  let d;
  try {
    d = decode(body, { maxDepth: 10, maxTokens: 100_000 });
  } catch (e) {
    throw new TrackerError(`tracker sent a bad response: ${(e as Error).message}`);
  }
  if (!isDict(d)) throw new TrackerError('tracker response is not a dictionary');
  const failure = d.get('failure reason');
  if (Buffer.isBuffer(failure)) throw new TrackerError(`tracker refused: ${failure.toString('utf8').slice(0, 200)}`);
  const interval = d.get('interval');
  const min = d.get('min interval');
  const warning = d.get('warning message');
  const complete = d.get('complete');
  const incomplete = d.get('incomplete');
  return {
    intervalSec: typeof interval === 'number' && interval > 0 ? interval : 1800,
    ...(typeof min === 'number' && min > 0 ? { minIntervalSec: min } : {}),
    peers: [...peersFrom(d.get('peers')), ...peersFrom(d.get('peers6'), true)],
    ...(typeof complete === 'number' ? { seeders: complete } : {}),
    ...(typeof incomplete === 'number' ? { leechers: incomplete } : {}),
    ...(Buffer.isBuffer(warning) ? { warning: warning.toString('utf8').slice(0, 200) } : {}),
  };
}

/** A dns lookup that refuses addresses outside the filter. */
export function filteredLookup(filter: AddressFilter | undefined): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: false }, (err, address, family) => {
      if (err) return callback(err, '', 0);
      const addr = address;
      if (filter && !filter.allows(addr)) {
        return callback(Object.assign(new Error(`${hostname} (${addr}) is outside the allowed networks`), { code: 'EACCES' }), '', 0);
      }
      callback(null, addr, family);
    });
  };
}

export function httpAnnounce(filter: AddressFilter | undefined) {
  return (url: string, req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceResponse> =>
    new Promise((resolve, reject) => {
      const target = new URL(announceUrl(url, req));
      const host = target.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) && filter && !filter.allows(host)) {
        reject(new TrackerError(`tracker ${target.host} is outside the allowed networks`));
        return;
      }
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const r = send(target, { method: 'GET', lookup: filteredLookup(filter), signal, timeout: TIMEOUT_MS, headers: { 'user-agent': 'shoal' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy();
            reject(new TrackerError('tracker response is too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) {
            reject(new TrackerError(`tracker answered HTTP ${res.statusCode}`));
            return;
          }
          try {
            resolve(parseAnnounceResponse(Buffer.concat(chunks)));
          } catch (e) {
            reject(e instanceof Error ? e : new TrackerError(String(e)));
          }
        });
        res.on('error', (e) => reject(new TrackerError(`tracker connection failed: ${e.message}`)));
      });
      r.on('timeout', () => r.destroy(new Error('timed out')));
      r.on('error', (e) => reject(e instanceof TrackerError ? e : new TrackerError(`tracker ${target.host}: ${e.message}`)));
      r.end();
    });
}

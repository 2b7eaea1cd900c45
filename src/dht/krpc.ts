/**
 * KRPC, the DHT's message format (BEP 5): bencoded dictionaries over UDP with a transaction id `t`,
 * a type `y` ('q' query, 'r' response, 'e' error), and for queries a method `q` and arguments `a`.
 * Extensions carried here: BEP 42's top-level `ip` (the requester's address as we see it), BEP 43's
 * `ro` (read-only node), BEP 32's `want` / `nodes6`.
 *
 * Decoding is strict and bounded; anything malformed throws `KrpcError`, which the node counts and
 * drops (no reply goes to garbage).
 */
import { decode, encode, isDict } from '../bencode/index.js';
import type { BencodeDict, BencodeValue, Encodable } from '../bencode/index.js';
import { ShoalError } from '../util/errors.js';

export const KRPC_ERROR = { generic: 201, server: 202, protocol: 203, methodUnknown: 204 } as const; // BEP 5
const LIMITS = { maxDepth: 8, maxTokens: 2000, maxStringLength: 8192 };
export const MAX_PACKET = 1500;

export class KrpcError extends ShoalError {
  constructor(message: string) {
    super('ERR_KRPC', message);
  }
}

export type KrpcMessage =
  | { y: 'q'; t: Buffer; q: string; a: BencodeDict; ro: boolean; v?: Buffer }
  | { y: 'r'; t: Buffer; r: BencodeDict; ip?: Buffer; v?: Buffer }
  | { y: 'e'; t: Buffer; code: number; message: string };

export function decodeKrpc(bytes: Uint8Array): KrpcMessage {
  if (bytes.length > MAX_PACKET * 2) throw new KrpcError('packet too large');
  let d: BencodeValue;
  try {
    d = decode(bytes, LIMITS);
  } catch (e) {
    throw new KrpcError(`not bencode: ${(e as Error).message}`);
  }
  if (!isDict(d)) throw new KrpcError('not a dictionary');
  const t = d.get('t');
  const y = d.get('y');
  if (!Buffer.isBuffer(t) || t.length === 0 || t.length > 16) throw new KrpcError('bad transaction id');
  if (!Buffer.isBuffer(y) || y.length !== 1) throw new KrpcError('bad message type');
  const v = d.get('v');
  const type = y.toString('latin1');
  if (type === 'q') {
    const q = d.get('q');
    const a = d.get('a');
    if (!Buffer.isBuffer(q) || q.length === 0 || q.length > 32) throw new KrpcError('bad method');
    if (!isDict(a)) throw new KrpcError('query without arguments');
    return { y: 'q', t, q: q.toString('latin1'), a, ro: d.get('ro') === 1, ...(Buffer.isBuffer(v) ? { v } : {}) };
  }
  if (type === 'r') {
    const r = d.get('r');
    if (!isDict(r)) throw new KrpcError('response without values');
    const ip = d.get('ip');
    return { y: 'r', t, r, ...(Buffer.isBuffer(ip) ? { ip } : {}), ...(Buffer.isBuffer(v) ? { v } : {}) };
  }
  if (type === 'e') {
    const e = d.get('e');
    if (!Array.isArray(e) || typeof e[0] !== 'number') throw new KrpcError('bad error');
    return { y: 'e', t, code: e[0], message: Buffer.isBuffer(e[1]) ? e[1].toString('utf8').slice(0, 200) : '' };
  }
  throw new KrpcError(`unknown message type ${JSON.stringify(type)}`);
}

export function encodeQuery(t: Buffer, q: string, a: Record<string, Encodable | undefined>, opts: { readOnly?: boolean; version?: Buffer } = {}): Buffer {
  return encode({ t, y: 'q', q, a, ro: opts.readOnly ? 1 : undefined, v: opts.version });
}

export function encodeResponse(t: Buffer, r: Record<string, Encodable | undefined>, opts: { ip?: Buffer; version?: Buffer } = {}): Buffer {
  return encode({ t, y: 'r', r, ip: opts.ip, v: opts.version });
}

export function encodeError(t: Buffer, code: number, message: string): Buffer {
  return encode({ t, y: 'e', e: [code, message] });
}

// ---- argument helpers (remote input: wrong types are protocol errors) ----

export function bytesArg(d: BencodeDict, key: string, length?: number): Buffer | undefined {
  const v = d.get(key);
  if (!Buffer.isBuffer(v)) return undefined;
  if (length !== undefined && v.length !== length) return undefined;
  return v;
}

export function intArg(d: BencodeDict, key: string): number | undefined {
  const v = d.get(key);
  return typeof v === 'number' ? v : undefined;
}

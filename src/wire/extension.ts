/**
 * BEP 10 extension protocol: the extension handshake, and the two extensions we speak —
 * `ut_metadata` (BEP 9: fetching the info dictionary from peers) and `ut_pex` (BEP 11: peer exchange).
 * Remote payloads are decoded strictly but tolerantly: a field of the wrong type is ignored, never thrown.
 */
import { decode, decodePrefix, encode, isDict } from '../bencode/index.js';
import type { BencodeDict, Encodable } from '../bencode/index.js';
import { decodeCompactIPv4, decodeCompactIPv6, encodeCompactIPv4, encodeCompactIPv6 } from '../net/compact.js';
import type { PeerAddress } from '../net/compact.js';
import { WireProtocolError } from './errors.js';

/** Our local ids for the extensions we support (sent in `m`). */
export const LOCAL_EXT_IDS = { ut_metadata: 1, ut_pex: 2 } as const;
export type ExtensionName = keyof typeof LOCAL_EXT_IDS;

export const METADATA_PIECE_SIZE = 16 * 1024; // BEP 9
/** Refuse metadata larger than this (a torrent with ~400k pieces); it would be a memory attack. */
export const MAX_METADATA_SIZE = 8 * 1024 * 1024;
const EXT_DECODE_LIMITS = { maxDepth: 8, maxTokens: 10_000, maxStringLength: 1024 * 1024 };

export interface ExtHandshake {
  /** Remote ids by extension name (0 or absent: not supported). */
  m: Map<string, number>;
  client?: string;
  listenPort?: number;
  reqq?: number;
  metadataSize?: number;
  yourIp?: Buffer;
  uploadOnly?: boolean;
}

export function encodeExtHandshake(h: {
  client: string;
  listenPort?: number;
  reqq?: number;
  metadataSize?: number;
  yourIp?: Buffer;
  uploadOnly?: boolean;
  extensions?: readonly ExtensionName[];
}): Buffer {
  const m: Record<string, number> = {};
  for (const name of h.extensions ?? (Object.keys(LOCAL_EXT_IDS) as ExtensionName[])) m[name] = LOCAL_EXT_IDS[name];
  const d: Record<string, Encodable | undefined> = {
    m,
    v: h.client,
    p: h.listenPort,
    reqq: h.reqq,
    metadata_size: h.metadataSize,
    yourip: h.yourIp,
    upload_only: h.uploadOnly ? 1 : undefined,
  };
  return encode(d);
}

const intOf = (d: BencodeDict, k: string): number | undefined => {
  const v = d.get(k);
  return typeof v === 'number' ? v : undefined;
};

export function decodeExtHandshake(payload: Buffer): ExtHandshake {
  let v;
  try {
    v = decode(payload, EXT_DECODE_LIMITS);
  } catch (e) {
    throw new WireProtocolError(`bad extension handshake: ${(e as Error).message}`);
  }
  if (!isDict(v)) throw new WireProtocolError('extension handshake is not a dictionary');
  const m = new Map<string, number>();
  const rawM = v.get('m');
  if (isDict(rawM)) {
    for (const [k, id] of rawM) if (typeof id === 'number' && id > 0 && id < 256) m.set(k, id);
  }
  const out: ExtHandshake = { m };
  const client = v.get('v');
  if (Buffer.isBuffer(client)) out.client = client.toString('utf8').slice(0, 100);
  const p = intOf(v, 'p');
  if (p !== undefined && p > 0 && p < 65536) out.listenPort = p;
  const reqq = intOf(v, 'reqq');
  if (reqq !== undefined && reqq > 0) out.reqq = reqq;
  const size = intOf(v, 'metadata_size');
  if (size !== undefined && size > 0) out.metadataSize = size;
  const ip = v.get('yourip');
  if (Buffer.isBuffer(ip) && (ip.length === 4 || ip.length === 16)) out.yourIp = Buffer.from(ip);
  if (intOf(v, 'upload_only') === 1) out.uploadOnly = true;
  return out;
}

// ---- ut_metadata (BEP 9) ----

export type MetadataMessage =
  | { kind: 'request'; piece: number }
  | { kind: 'data'; piece: number; totalSize: number; data: Buffer }
  | { kind: 'reject'; piece: number };

export function encodeMetadataMessage(msg: MetadataMessage): Buffer {
  if (msg.kind === 'request') return encode({ msg_type: 0, piece: msg.piece });
  if (msg.kind === 'reject') return encode({ msg_type: 2, piece: msg.piece });
  return Buffer.concat([encode({ msg_type: 1, piece: msg.piece, total_size: msg.totalSize }), msg.data]);
}

export function decodeMetadataMessage(payload: Buffer): MetadataMessage | undefined {
  let r;
  try {
    r = decodePrefix(payload, 0, EXT_DECODE_LIMITS);
  } catch (e) {
    throw new WireProtocolError(`bad ut_metadata message: ${(e as Error).message}`);
  }
  const d = r.value;
  if (!isDict(d)) throw new WireProtocolError('ut_metadata message is not a dictionary');
  const type = intOf(d, 'msg_type');
  const piece = intOf(d, 'piece');
  if (piece === undefined || piece < 0) throw new WireProtocolError('ut_metadata message has no piece');
  if (type === 0) return { kind: 'request', piece };
  if (type === 2) return { kind: 'reject', piece };
  if (type === 1) {
    const totalSize = intOf(d, 'total_size');
    if (totalSize === undefined || totalSize <= 0) throw new WireProtocolError('ut_metadata data has no total_size');
    return { kind: 'data', piece, totalSize, data: payload.subarray(r.end) };
  }
  return undefined; // an unknown msg_type is ignored (BEP 9)
}

// ---- ut_pex (BEP 11) ----

export interface PexMessage {
  added: PeerAddress[];
  /** Flags per added peer (0x02: seed, 0x10: reachable), same order as `added`. */
  addedFlags: number[];
  dropped: PeerAddress[];
}

/** At most this many contacts per list (BEP 11 says 50 except for the first message). */
export const MAX_PEX_CONTACTS = 200;

export function encodePex(msg: PexMessage): Buffer {
  const v4 = msg.added.filter((p) => !p.host.includes(':'));
  const v6 = msg.added.filter((p) => p.host.includes(':'));
  const flagsOf = (list: PeerAddress[]): Buffer => Buffer.from(list.map((p) => msg.addedFlags[msg.added.indexOf(p)] ?? 0));
  return encode({
    added: encodeCompactIPv4(v4),
    'added.f': flagsOf(v4),
    added6: v6.length ? encodeCompactIPv6(v6) : undefined,
    'added6.f': v6.length ? flagsOf(v6) : undefined,
    dropped: encodeCompactIPv4(msg.dropped),
    dropped6: msg.dropped.some((p) => p.host.includes(':')) ? encodeCompactIPv6(msg.dropped) : undefined,
  });
}

export function decodePex(payload: Buffer): PexMessage {
  let d;
  try {
    d = decode(payload, EXT_DECODE_LIMITS);
  } catch (e) {
    throw new WireProtocolError(`bad ut_pex message: ${(e as Error).message}`);
  }
  if (!isDict(d)) throw new WireProtocolError('ut_pex message is not a dictionary');
  const bytes = (k: string): Buffer => {
    const v = d.get(k);
    return Buffer.isBuffer(v) ? v : Buffer.alloc(0);
  };
  const added4 = decodeCompactIPv4(bytes('added'));
  const added6 = decodeCompactIPv6(bytes('added6'));
  const f4 = bytes('added.f');
  const f6 = bytes('added6.f');
  const added = [...added4, ...added6].slice(0, MAX_PEX_CONTACTS);
  const addedFlags = [...added4.map((_, i) => f4[i] ?? 0), ...added6.map((_, i) => f6[i] ?? 0)].slice(0, MAX_PEX_CONTACTS);
  const dropped = [...decodeCompactIPv4(bytes('dropped')), ...decodeCompactIPv6(bytes('dropped6'))].slice(0, MAX_PEX_CONTACTS);
  return { added, addedFlags, dropped };
}

/**
 * Peer wire messages: BEP 3 (core), BEP 5 (port), BEP 6 (fast extension), BEP 10 (extended),
 * BEP 52 (hash request / hashes / hash reject). Pure codecs over Buffers.
 *
 * Frames are <4-byte big-endian length><1-byte id><payload>; a zero length is a keep-alive.
 * Decoding checks each message's exact payload size; an unknown id decodes to `unknown` (peers may
 * speak extensions we do not). A `piece` payload is a view into the frame: no copy.
 */
import { WireProtocolError } from './errors.js';

export const MSG = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9, // BEP 5
  suggest: 13, // BEP 6
  haveAll: 14,
  haveNone: 15,
  reject: 16,
  allowedFast: 17,
  extended: 20, // BEP 10
  hashRequest: 21, // BEP 52
  hashes: 22,
  hashReject: 23,
} as const;

export const BLOCK_SIZE = 16 * 1024; // BEP 3: every client requests 16 KiB blocks
/** Largest block we request or serve; BEP 52 notes clients drop peers asking for more. */
export const MAX_REQUEST_LENGTH = 16 * 1024;

export interface BlockRef {
  index: number;
  begin: number;
  length: number;
}

export interface HashRequestRef {
  root: Buffer;
  baseLayer: number;
  index: number;
  length: number;
  proofLayers: number;
}

export type WireMessage =
  | { type: 'keepAlive' }
  | { type: 'choke' }
  | { type: 'unchoke' }
  | { type: 'interested' }
  | { type: 'notInterested' }
  | { type: 'haveAll' }
  | { type: 'haveNone' }
  | { type: 'have'; index: number }
  | { type: 'suggest'; index: number }
  | { type: 'allowedFast'; index: number }
  | { type: 'bitfield'; bits: Buffer }
  | ({ type: 'request' } & BlockRef)
  | ({ type: 'cancel' } & BlockRef)
  | ({ type: 'reject' } & BlockRef)
  | { type: 'piece'; index: number; begin: number; data: Buffer }
  | { type: 'port'; port: number }
  | { type: 'extended'; id: number; payload: Buffer }
  | ({ type: 'hashRequest' } & HashRequestRef)
  | ({ type: 'hashReject' } & HashRequestRef)
  | ({ type: 'hashes' } & HashRequestRef & { hashes: Buffer })
  | { type: 'unknown'; id: number };

function expectSize(id: number, payload: number, want: number): void {
  if (payload !== want) throw new WireProtocolError(`message ${id} has a ${payload}-byte payload, expected ${want}`);
}

/** Decodes one frame's body (the bytes after the length prefix; empty for a keep-alive). */
export function decodeMessage(body: Buffer): WireMessage {
  if (body.length === 0) return { type: 'keepAlive' };
  const id = body[0]!;
  const n = body.length - 1;
  switch (id) {
    case MSG.choke:
      expectSize(id, n, 0);
      return { type: 'choke' };
    case MSG.unchoke:
      expectSize(id, n, 0);
      return { type: 'unchoke' };
    case MSG.interested:
      expectSize(id, n, 0);
      return { type: 'interested' };
    case MSG.notInterested:
      expectSize(id, n, 0);
      return { type: 'notInterested' };
    case MSG.haveAll:
      expectSize(id, n, 0);
      return { type: 'haveAll' };
    case MSG.haveNone:
      expectSize(id, n, 0);
      return { type: 'haveNone' };
    case MSG.have:
      expectSize(id, n, 4);
      return { type: 'have', index: body.readUInt32BE(1) };
    case MSG.suggest:
      expectSize(id, n, 4);
      return { type: 'suggest', index: body.readUInt32BE(1) };
    case MSG.allowedFast:
      expectSize(id, n, 4);
      return { type: 'allowedFast', index: body.readUInt32BE(1) };
    case MSG.bitfield:
      return { type: 'bitfield', bits: body.subarray(1) };
    case MSG.request:
    case MSG.cancel:
    case MSG.reject:
      expectSize(id, n, 12);
      return {
        type: id === MSG.request ? 'request' : id === MSG.cancel ? 'cancel' : 'reject',
        index: body.readUInt32BE(1),
        begin: body.readUInt32BE(5),
        length: body.readUInt32BE(9),
      };
    case MSG.piece:
      if (n < 8) throw new WireProtocolError(`piece message has a ${n}-byte payload`);
      return { type: 'piece', index: body.readUInt32BE(1), begin: body.readUInt32BE(5), data: body.subarray(9) };
    case MSG.port:
      expectSize(id, n, 2);
      return { type: 'port', port: body.readUInt16BE(1) };
    case MSG.extended:
      if (n < 1) throw new WireProtocolError('extended message has no id');
      return { type: 'extended', id: body[1]!, payload: body.subarray(2) };
    case MSG.hashRequest:
    case MSG.hashReject:
    case MSG.hashes: {
      if (n < 48 || (id !== MSG.hashes && n !== 48)) throw new WireProtocolError(`hash message ${id} has a ${n}-byte payload`);
      const ref: HashRequestRef = {
        root: body.subarray(1, 33),
        baseLayer: body.readUInt32BE(33),
        index: body.readUInt32BE(37),
        length: body.readUInt32BE(41),
        proofLayers: body.readUInt32BE(45),
      };
      if (id === MSG.hashes) {
        if ((n - 48) % 32 !== 0) throw new WireProtocolError('hashes message is not a whole number of hashes');
        return { type: 'hashes', ...ref, hashes: body.subarray(49) };
      }
      return { type: id === MSG.hashRequest ? 'hashRequest' : 'hashReject', ...ref };
    }
    default:
      return { type: 'unknown', id };
  }
}

// ---- encoders: each returns one Buffer holding a whole frame (length prefix included) ----

const KEEP_ALIVE = Buffer.alloc(4);
const bare = (id: number): Buffer => Buffer.from([0, 0, 0, 1, id]);
const FIXED = {
  choke: bare(MSG.choke),
  unchoke: bare(MSG.unchoke),
  interested: bare(MSG.interested),
  notInterested: bare(MSG.notInterested),
  haveAll: bare(MSG.haveAll),
  haveNone: bare(MSG.haveNone),
} as const;

export function encodeKeepAlive(): Buffer {
  return KEEP_ALIVE;
}

/** The payload-less messages are shared constant buffers: never mutate them. */
export function encodeSimple(type: keyof typeof FIXED): Buffer {
  return FIXED[type];
}

function withIndex(id: number, index: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b.writeUInt32BE(5, 0);
  b[4] = id;
  b.writeUInt32BE(index, 5);
  return b;
}

export const encodeHave = (index: number): Buffer => withIndex(MSG.have, index);
export const encodeSuggest = (index: number): Buffer => withIndex(MSG.suggest, index);
export const encodeAllowedFast = (index: number): Buffer => withIndex(MSG.allowedFast, index);

export function encodeBitfield(bits: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + bits.length);
  b.writeUInt32BE(1 + bits.length, 0);
  b[4] = MSG.bitfield;
  b.set(bits, 5);
  return b;
}

export function encodeBlockRef(type: 'request' | 'cancel' | 'reject', index: number, begin: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(17);
  b.writeUInt32BE(13, 0);
  b[4] = MSG[type];
  b.writeUInt32BE(index, 5);
  b.writeUInt32BE(begin, 9);
  b.writeUInt32BE(length, 13);
  return b;
}

/** The 13-byte header of a piece message; the block itself is sent after it, uncopied. */
export function encodePieceHeader(index: number, begin: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(13);
  b.writeUInt32BE(9 + length, 0);
  b[4] = MSG.piece;
  b.writeUInt32BE(index, 5);
  b.writeUInt32BE(begin, 9);
  return b;
}

export function encodePort(port: number): Buffer {
  const b = Buffer.allocUnsafe(7);
  b.writeUInt32BE(3, 0);
  b[4] = MSG.port;
  b.writeUInt16BE(port, 5);
  return b;
}

export function encodeExtended(id: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(6 + payload.length);
  b.writeUInt32BE(2 + payload.length, 0);
  b[4] = MSG.extended;
  b[5] = id;
  b.set(payload, 6);
  return b;
}

export function encodeHashMessage(type: 'hashRequest' | 'hashReject' | 'hashes', ref: HashRequestRef, hashes?: Uint8Array): Buffer {
  const extra = type === 'hashes' ? (hashes?.length ?? 0) : 0;
  const b = Buffer.allocUnsafe(4 + 49 + extra);
  b.writeUInt32BE(49 + extra, 0);
  b[4] = MSG[type];
  b.set(ref.root, 5);
  b.writeUInt32BE(ref.baseLayer, 37);
  b.writeUInt32BE(ref.index, 41);
  b.writeUInt32BE(ref.length, 45);
  b.writeUInt32BE(ref.proofLayers, 49);
  if (extra > 0) b.set(hashes!, 53);
  return b;
}

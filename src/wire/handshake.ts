/**
 * The BitTorrent handshake (BEP 3): <19>"BitTorrent protocol"<8 reserved bytes><20-byte info-hash><20-byte peer id>.
 * Reserved bits we set and read: BEP 10 extension protocol, BEP 6 fast extension, BEP 5 DHT port,
 * BEP 52 v2 upgrade.
 */
import { WireProtocolError } from './errors.js';

export const PROTOCOL_NAME = Buffer.from('BitTorrent protocol', 'latin1');
export const HANDSHAKE_LENGTH = 68;

export interface Reserved {
  extensions: boolean; // BEP 10: reserved[5] & 0x10
  fast: boolean; // BEP 6: reserved[7] & 0x04
  dht: boolean; // BEP 5: reserved[7] & 0x01
  v2: boolean; // BEP 52: reserved[7] & 0x10
}

export interface Handshake {
  reserved: Reserved;
  infoHash: Buffer;
  peerId: Buffer;
}

export function encodeHandshake(h: Handshake): Buffer {
  const b = Buffer.alloc(HANDSHAKE_LENGTH);
  b[0] = PROTOCOL_NAME.length;
  PROTOCOL_NAME.copy(b, 1);
  if (h.reserved.extensions) b[20 + 5]! |= 0x10;
  if (h.reserved.fast) b[20 + 7]! |= 0x04;
  if (h.reserved.dht) b[20 + 7]! |= 0x01;
  if (h.reserved.v2) b[20 + 7]! |= 0x10;
  h.infoHash.copy(b, 28, 0, 20);
  h.peerId.copy(b, 48, 0, 20);
  return b;
}

/** Decodes the first 68 bytes of a connection. */
export function decodeHandshake(b: Buffer): Handshake {
  if (b.length < HANDSHAKE_LENGTH) throw new WireProtocolError('handshake is too short');
  if (b[0] !== PROTOCOL_NAME.length || !b.subarray(1, 20).equals(PROTOCOL_NAME)) {
    throw new WireProtocolError('not a BitTorrent handshake');
  }
  const r = b.subarray(20, 28);
  return {
    reserved: {
      extensions: (r[5]! & 0x10) !== 0,
      fast: (r[7]! & 0x04) !== 0,
      dht: (r[7]! & 0x01) !== 0,
      v2: (r[7]! & 0x10) !== 0,
    },
    infoHash: Buffer.from(b.subarray(28, 48)),
    peerId: Buffer.from(b.subarray(48, 68)),
  };
}

/**
 * Raw endpoints on the simulated network, for tests that speak bytes rather than run a torrent: a
 * collector of everything a connection receives, and the BitTorrent handshake (BEP 3) by hand.
 */
import type { SimConnection } from '../../../src/runtime/sim/network.js';
import { encodeHandshake } from '../../../src/wire/handshake.js';

export interface Collected {
  chunks: Buffer[];
  bytes: number;
  closed: boolean;
  closedAtMs: number | undefined;
  closeError: Error | undefined;
  connectedAtMs: number | undefined;
  drains: number;
  all(): Buffer;
}

/** Sets handlers on `conn` that record what arrives. */
export function collect(conn: SimConnection, now: () => number, onData?: (chunk: Buffer) => void): Collected {
  const c: Collected = {
    chunks: [],
    bytes: 0,
    closed: false,
    closedAtMs: undefined,
    closeError: undefined,
    connectedAtMs: undefined,
    drains: 0,
    all: () => Buffer.concat(c.chunks),
  };
  conn.setHandlers({
    data: (chunk) => {
      c.chunks.push(chunk);
      c.bytes += chunk.length;
      onData?.(chunk);
    },
    drain: () => {
      c.drains++;
    },
    close: (err) => {
      c.closed = true;
      c.closedAtMs = now();
      c.closeError = err;
    },
    connect: () => {
      c.connectedAtMs = now();
    },
  });
  return c;
}

/** A BEP 3 handshake with the fast (BEP 6) and extension (BEP 10) bits set. */
export function handshake(infoHash: Buffer, peerId: Buffer): Buffer {
  return encodeHandshake({ reserved: { extensions: true, fast: true, dht: false, v2: false }, infoHash, peerId });
}

/** Bytes of a stream made of `n`-byte pieces numbered from 0 (to check order and integrity). */
export function pattern(length: number, offset = 0): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (offset + i) % 251;
  return b;
}

/** Splits a byte stream into BEP 3 frames (after the 68-byte handshake). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  handshakeDone = false;

  /** Feeds bytes; returns the handshake (once) and the frame bodies now complete. */
  push(chunk: Buffer): { handshake?: Buffer; frames: Buffer[] } {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: { handshake?: Buffer; frames: Buffer[] } = { frames: [] };
    if (!this.handshakeDone) {
      if (this.buf.length < 68) return out;
      out.handshake = this.buf.subarray(0, 68);
      this.buf = this.buf.subarray(68);
      this.handshakeDone = true;
    }
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + len) break;
      out.frames.push(this.buf.subarray(4, 4 + len));
      this.buf = this.buf.subarray(4 + len);
    }
    return out;
  }
}

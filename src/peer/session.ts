/**
 * One peer connection's wire protocol as a pure state machine (design.md): bytes in, messages and
 * bytes out, no sockets, clocks or timers of its own.
 *
 *   handleBytes(chunk, now) / handleTimeout(now) / send*(…)   inputs
 *   pollTransmit() / pollEvent() / nextDeadline()              outputs, polled until empty
 *
 * Rules it enforces (BEP 3, 6, 10): the 68-byte handshake first (an incoming session answers only
 * info-hashes its owner accepts); frames longer than `maxFrameBytes` disconnect; fast-extension and
 * extended messages are only legal when both sides set the bit; at most one bitfield / have-all /
 * have-none and only before other state. It sends a keep-alive when it has been quiet for
 * `keepAliveMs` and disconnects after `idleTimeoutMs` of silence from the peer.
 *
 * Invariant: after a `disconnect` event nothing more is emitted and input is ignored.
 */
import { WireProtocolError } from '../wire/errors.js';
import { HANDSHAKE_LENGTH, decodeHandshake, encodeHandshake } from '../wire/handshake.js';
import type { Reserved } from '../wire/handshake.js';
import {
  decodeMessage,
  encodeAllowedFast,
  encodeBitfield,
  encodeBlockRef,
  encodeExtended,
  encodeHashMessage,
  encodeHave,
  encodeKeepAlive,
  encodePieceHeader,
  encodePort,
  encodeSimple,
} from '../wire/messages.js';
import type { HashRequestRef, WireMessage } from '../wire/messages.js';

export type DisconnectCode = 'protocol' | 'frame-too-large' | 'timeout' | 'handshake' | 'info-hash' | 'closed-by-us';

export type PeerSessionEvent =
  | { type: 'handshake'; infoHash: Buffer; peerId: Buffer; reserved: Reserved }
  | { type: 'message'; msg: Exclude<WireMessage, { type: 'keepAlive' }> }
  | { type: 'disconnect'; code: DisconnectCode; reason: string };

export interface PeerSessionOptions {
  role: 'outgoing' | 'incoming';
  /** Our info-hash (20 bytes; a v2 hash truncated). Required for outgoing sessions. */
  infoHash?: Buffer;
  peerId: Buffer;
  reserved: Reserved;
  /** Outgoing: other hashes the peer may answer with (a hybrid's truncated v2 hash, BEP 52). */
  alsoAccept?: readonly Buffer[];
  /** Incoming: may we serve this info-hash? (returns the hash to answer with, or undefined) */
  accept?: (infoHash: Buffer) => Buffer | undefined;
  maxFrameBytes?: number;
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
  keepAliveMs?: number;
}

export const DEFAULT_MAX_FRAME = 1024 * 1024 + 64;

type Phase = 'handshake' | 'open' | 'closed';

export class PeerSession {
  private phase: Phase = 'handshake';
  private readonly opts: PeerSessionOptions;
  private readonly maxFrame: number;
  private readonly idleMs: number;
  private readonly keepAliveMs: number;
  private readonly handshakeDeadline: number;
  private infoHash: Buffer | undefined;
  private sentHandshake = false;

  private chunks: Buffer[] = [];
  private head = 0; // read offset into chunks[0]
  private buffered = 0;

  private readonly out: Buffer[] = [];
  private readonly events: PeerSessionEvent[] = [];
  private eventHead = 0;
  private lastRecv: number;
  private lastSend: number;

  /** What the peer's handshake said; valid after the `handshake` event. */
  remoteReserved: Reserved = { extensions: false, fast: false, dht: false, v2: false };
  remotePeerId: Buffer | undefined;
  bytesReceived = 0;
  bytesSent = 0;

  constructor(opts: PeerSessionOptions, now: number) {
    this.opts = opts;
    this.maxFrame = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME;
    this.idleMs = opts.idleTimeoutMs ?? 120_000;
    this.keepAliveMs = opts.keepAliveMs ?? 60_000;
    this.handshakeDeadline = now + (opts.handshakeTimeoutMs ?? 20_000);
    this.lastRecv = now;
    this.lastSend = now;
    this.infoHash = opts.infoHash;
    if (opts.role === 'outgoing') {
      if (!opts.infoHash) throw new Error('an outgoing session needs an info-hash');
      this.sendHandshake(now);
    }
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Both sides set the fast-extension bit (BEP 6). */
  get fast(): boolean {
    return this.opts.reserved.fast && this.remoteReserved.fast;
  }

  /** Both sides set the extension-protocol bit (BEP 10). */
  get extensions(): boolean {
    return this.opts.reserved.extensions && this.remoteReserved.extensions;
  }

  // ---------------- inputs ----------------

  handleBytes(chunk: Buffer, now: number): void {
    if (this.phase === 'closed' || chunk.length === 0) return;
    this.lastRecv = now;
    this.bytesReceived += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      this.parse(now);
    } catch (e) {
      if (e instanceof WireProtocolError) this.fail('protocol', e.message);
      else throw e;
    }
  }

  handleTimeout(now: number): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'handshake' && now >= this.handshakeDeadline) {
      this.fail('timeout', 'no handshake in time');
      return;
    }
    if (now - this.lastRecv >= this.idleMs) {
      this.fail('timeout', `nothing received for ${Math.round((now - this.lastRecv) / 1000)} s`);
      return;
    }
    if (this.phase === 'open' && now - this.lastSend >= this.keepAliveMs) this.push(encodeKeepAlive(), now);
  }

  /** Closes from our side; emits a `disconnect` event with code `closed-by-us`. */
  close(reason = 'closed'): void {
    this.fail('closed-by-us', reason);
  }

  // ---------------- outputs ----------------

  pollTransmit(): Buffer | undefined {
    return this.out.length > 0 ? this.out.shift() : undefined;
  }

  /** Takes every pending transmit at once (for a vectored write). */
  drainTransmit(): Buffer[] {
    return this.out.splice(0);
  }

  pollEvent(): PeerSessionEvent | undefined {
    if (this.eventHead >= this.events.length) {
      if (this.events.length > 0) {
        this.events.length = 0;
        this.eventHead = 0;
      }
      return undefined;
    }
    return this.events[this.eventHead++];
  }

  nextDeadline(): number | undefined {
    if (this.phase === 'closed') return undefined;
    if (this.phase === 'handshake') return Math.min(this.handshakeDeadline, this.lastRecv + this.idleMs);
    return Math.min(this.lastRecv + this.idleMs, this.lastSend + this.keepAliveMs);
  }

  // ---------------- sending ----------------

  sendChoke(now: number): void {
    this.push(encodeSimple('choke'), now);
  }
  sendUnchoke(now: number): void {
    this.push(encodeSimple('unchoke'), now);
  }
  sendInterested(now: number): void {
    this.push(encodeSimple('interested'), now);
  }
  sendNotInterested(now: number): void {
    this.push(encodeSimple('notInterested'), now);
  }
  sendHave(index: number, now: number): void {
    this.push(encodeHave(index), now);
  }
  /** The first message after the handshake: bitfield, or have-all / have-none when both speak BEP 6. */
  sendBitfield(bits: Uint8Array, complete: boolean, empty: boolean, now: number): void {
    if (this.fast && complete) this.push(encodeSimple('haveAll'), now);
    else if (this.fast && empty) this.push(encodeSimple('haveNone'), now);
    else if (!empty) this.push(encodeBitfield(bits), now);
  }
  sendRequest(index: number, begin: number, length: number, now: number): void {
    this.push(encodeBlockRef('request', index, begin, length), now);
  }
  sendCancel(index: number, begin: number, length: number, now: number): void {
    this.push(encodeBlockRef('cancel', index, begin, length), now);
  }
  sendReject(index: number, begin: number, length: number, now: number): void {
    if (this.fast) this.push(encodeBlockRef('reject', index, begin, length), now);
  }
  sendAllowedFast(index: number, now: number): void {
    if (this.fast) this.push(encodeAllowedFast(index), now);
  }
  /** A block: a 13-byte header then the data itself, never copied. */
  sendPiece(index: number, begin: number, data: Buffer, now: number): void {
    this.push(encodePieceHeader(index, begin, data.length), now);
    this.push(data, now);
  }
  sendPort(port: number, now: number): void {
    if (this.remoteReserved.dht) this.push(encodePort(port), now);
  }
  sendExtended(id: number, payload: Uint8Array, now: number): void {
    if (this.extensions) this.push(encodeExtended(id, payload), now);
  }
  sendHashMessage(type: 'hashRequest' | 'hashReject' | 'hashes', ref: HashRequestRef, now: number, hashes?: Uint8Array): void {
    this.push(encodeHashMessage(type, ref, hashes), now);
  }

  // ---------------- internals ----------------

  private push(b: Buffer, now: number): void {
    if (this.phase === 'closed') return;
    this.out.push(b);
    this.bytesSent += b.length;
    this.lastSend = now;
  }

  private emit(e: PeerSessionEvent): void {
    this.events.push(e);
  }

  private fail(code: DisconnectCode, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.chunks = [];
    this.buffered = 0;
    this.emit({ type: 'disconnect', code, reason });
  }

  private sendHandshake(now: number): void {
    this.sentHandshake = true;
    this.push(encodeHandshake({ reserved: this.opts.reserved, infoHash: this.infoHash!, peerId: this.opts.peerId }), now);
  }

  private peekUInt32(): number {
    const first = this.chunks[0]!;
    if (first.length - this.head >= 4) return first.readUInt32BE(this.head);
    const b = this.copyOut(4, false);
    return b.readUInt32BE(0);
  }

  /** Takes `n` bytes from the buffered input: a view when they sit in one chunk, one copy otherwise. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const b = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      this.buffered -= n;
      return b;
    }
    return this.copyOut(n, true);
  }

  private copyOut(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let ci = 0;
    let off = this.head;
    while (filled < n) {
      const c = this.chunks[ci]!;
      const k = Math.min(n - filled, c.length - off);
      c.copy(out, filled, off, off + k);
      filled += k;
      off += k;
      if (off === c.length) {
        ci++;
        off = 0;
      }
    }
    if (consume) {
      this.chunks.splice(0, ci);
      this.head = off;
      this.buffered -= n;
    }
    return out;
  }

  private parse(now: number): void {
    while (this.phase !== 'closed') {
      if (this.phase === 'handshake') {
        if (this.buffered < HANDSHAKE_LENGTH) return;
        this.onHandshake(this.take(HANDSHAKE_LENGTH), now);
        continue;
      }
      if (this.buffered < 4) return;
      const length = this.peekUInt32();
      if (length > this.maxFrame) {
        this.fail('frame-too-large', `a ${length}-byte frame is over the ${this.maxFrame}-byte limit`);
        return;
      }
      if (this.buffered < 4 + length) return;
      this.take(4);
      const body = length === 0 ? Buffer.alloc(0) : this.take(length);
      this.onMessage(decodeMessage(body));
    }
  }

  private onHandshake(bytes: Buffer, now: number): void {
    let h;
    try {
      h = decodeHandshake(bytes);
    } catch (e) {
      this.fail('handshake', (e as Error).message);
      return;
    }
    if (this.opts.role === 'outgoing') {
      if (!h.infoHash.equals(this.infoHash!) && !this.opts.alsoAccept?.some((x) => x.equals(h.infoHash))) {
        this.fail('info-hash', 'the peer answered with another info-hash');
        return;
      }
    } else {
      const ours = this.opts.accept?.(h.infoHash);
      if (!ours) {
        this.fail('info-hash', 'the peer asked for a torrent we do not serve');
        return;
      }
      this.infoHash = ours;
    }
    if (h.peerId.equals(this.opts.peerId)) {
      this.fail('handshake', 'connected to ourselves');
      return;
    }
    this.remoteReserved = h.reserved;
    this.remotePeerId = h.peerId;
    this.phase = 'open';
    if (!this.sentHandshake) this.sendHandshake(now);
    this.emit({ type: 'handshake', infoHash: h.infoHash, peerId: h.peerId, reserved: h.reserved });
  }

  private onMessage(msg: WireMessage): void {
    switch (msg.type) {
      case 'keepAlive':
        return;
      case 'bitfield':
      case 'haveAll':
      case 'haveNone':
        // BEP 3 wants the bitfield first, but aria2 sends have-none and later a whole bitfield instead of
        // a have; libtorrent and Transmission take a late one as the peer's new piece set, and so do we.
        if (msg.type !== 'bitfield' && !this.fast) throw new WireProtocolError(`${msg.type} without the fast extension`);
        break;
      case 'suggest':
      case 'reject':
      case 'allowedFast':
        if (!this.fast) throw new WireProtocolError(`${msg.type} without the fast extension`);
        break;
      case 'extended':
        if (!this.extensions) throw new WireProtocolError('extended message without the extension protocol');
        break;
      default:
        break;
    }
    this.emit({ type: 'message', msg });
  }
}

/**
 * One torrent's swarm: connects to peers, runs their wire sessions, picks what to request, chokes
 * and unchokes, writes blocks, checks pieces and serves them. BEP 3, 6, 9, 10, 11.
 *
 * It owns no I/O: sockets, files, hashing, time and randomness arrive through `TorrentDeps` (the
 * ports), so the same engine runs on real sockets (runtime/node) and in simulated swarms
 * (runtime/sim). Every input is a callback (data, drain, close, timer, store completion); each
 * handler ends by flushing the sessions it touched.
 *
 * Invariants:
 * - a block is requested from a peer at most once at a time, and only while it may answer (unchoked,
 *   or the piece is in its allowed-fast set);
 * - a piece counts as had only after its hash matched; a piece that fails is fetched again and every
 *   peer that sent part of it gets a strike (`BAN_STRIKES` strikes: banned for the session);
 * - remote misbehaviour disconnects that peer only; a store error stops the download with an error
 *   event, never a crash, and never loses verified pieces.
 */
import { parseInfo } from '../metainfo/parse.js';
import { magnetOf } from '../metainfo/magnet.js';
import type { Metainfo } from '../metainfo/types.js';
import { addressKey } from '../net/compact.js';
import type { PeerAddress } from '../net/compact.js';
import { PeerSession } from '../peer/session.js';
import type { PeerSessionEvent } from '../peer/session.js';
import { allowedFastSet } from '../wire/allowed-fast.js';
import {
  LOCAL_EXT_IDS,
  METADATA_PIECE_SIZE,
  decodeExtHandshake,
  decodeMetadataMessage,
  decodePex,
  encodeExtHandshake,
  encodeMetadataMessage,
  encodePex,
} from '../wire/extension.js';
import { MAX_REQUEST_LENGTH } from '../wire/messages.js';
import type { WireMessage } from '../wire/messages.js';
import { WireProtocolError } from '../wire/errors.js';
import { Bitfield } from './bitfield.js';
import { CHOKE_INTERVAL_MS, chooseUnchoked } from './choker.js';
import type { ChokerState } from './choker.js';
import { MetadataFetcher } from './metadata.js';
import { LayerFetcher } from './layer-fetcher.js';
import { answerLayerRequest } from '../metainfo/merkle-proofs.js';
import { Peer, blockKey } from './peer.js';
import { PiecePicker } from './picker.js';
import type { Clock, Connection, PieceStore, Rng, TimerHandle, Transport } from './ports.js';
import { RateMeter, TokenBucket, takeAll, waitAll } from './rate.js';

export const BAN_STRIKES = 3;
const TICK_MS = 1000;
const PEX_INTERVAL_MS = 60_000;
const REQUEST_TIMEOUT_MS = 20_000;
const SNUB_MS = 30_000;
const ALLOWED_FAST_K = 10;
/** Most requests from one peer we queue before refusing more (we advertise it as `reqq`). */
const MAX_UPLOAD_QUEUE = 500;
/** Disk writes in flight before we stop reading from sockets. */
const MAX_PENDING_WRITE_BYTES = 32 * 1024 * 1024;
const MAX_REQUEST_PIPELINE = 1000;
const MIN_REQUEST_PIPELINE = 16;
/** How much data we aim to have requested from a peer: this many ms of its measured rate. */
const PIPELINE_TARGET_MS = 1500;

export interface TorrentDeps {
  clock: Clock;
  transport: Transport;
  rng: Rng;
  peerId: Buffer;
  /** Opens storage for the torrent and tells which pieces are already on disk and correct. */
  openStore(m: Metainfo): Promise<{ store: PieceStore; have: Bitfield }>;
  /** May we talk to this address? (allow/deny lists) */
  allowPeer?(addr: PeerAddress): boolean;
  listenPort?: number;
  onEvent?(e: TorrentEvent): void;
  /** Limits shared by every torrent of a session (global rate limits and connection count). */
  shared?: SharedLimits;
}

export interface SharedLimits {
  upload: TokenBucket;
  download: TokenBucket;
  /** Connections open across all torrents, and the most allowed. */
  connections: { open: number; max: number };
}

export interface TorrentOptions {
  /** v1 info-hash (20 bytes). */
  infoHash?: Buffer;
  /** v2 info-hash (32 bytes). */
  infoHashV2?: Buffer;
  /** Known up front for a .torrent; fetched from peers (BEP 9) for a magnet link. */
  metainfo?: Metainfo;
  /** Keep serving once complete. */
  seed?: boolean;
  maxPeers?: number;
  maxHalfOpen?: number;
  uploadSlots?: number;
  uploadLimitBytesPerSec?: number;
  downloadLimitBytesPerSec?: number;
  sequential?: boolean;
  /** Indices of the (non-pad) files to fetch; all when left out. */
  selectFiles?: readonly number[];
  clientName?: string;
  /** Share peers over PEX (BEP 11). Off for private torrents. */
  pex?: boolean;
}

export type TorrentEvent =
  | { type: 'metadata'; metainfo: Metainfo }
  | { type: 'ready'; have: number; pieceCount: number }
  | { type: 'piece'; index: number }
  | { type: 'piece-failed'; index: number; peers: string[] }
  | { type: 'done'; /** Downloaded in this run (false: it was complete on disk from the start). */ downloaded: boolean }
  | { type: 'peer-connected'; addr: PeerAddress; incoming: boolean; client?: string }
  | { type: 'peer-disconnected'; addr: PeerAddress; reason: string }
  | { type: 'peer-banned'; addr: PeerAddress; reason: string }
  | { type: 'error'; error: Error };

export interface TorrentStats {
  downloadedBytes: number;
  uploadedBytes: number;
  downRate: number;
  upRate: number;
  peers: number;
  seeds: number;
  knownPeers: number;
  havePieces: number;
  pieceCount: number;
  /** Bytes of selected data verified on disk. */
  haveBytes: number;
  wantedBytes: number;
  done: boolean;
}

interface KnownPeer {
  addr: PeerAddress;
  lastAttempt: number;
  failures: number;
  connected: boolean;
  /** Not before this time: set after a disconnect, so a peer is never redialled in a loop. */
  retryAfter: number;
  /** The peer had everything: no use dialling it once we are complete too. */
  seed: boolean;
  /** Protocol violations seen from this address. */
  strikes: number;
}

/** After a connection that worked ends, wait this long before dialling the same peer again. */
const RECONNECT_MS = 60_000;
/** Protocol violations before an address is banned for the session. */
const PROTOCOL_STRIKES = 2;

export class Torrent {
  private readonly deps: TorrentDeps;
  private readonly opts: TorrentOptions;
  metainfo: Metainfo | undefined;
  /** The 20-byte id used in handshakes: the v1 hash, or the v2 hash truncated. */
  readonly wireHash: Buffer;
  private readonly acceptedHashes: Buffer[];
  private store: PieceStore | undefined;
  private picker: PiecePicker | undefined;
  private fetcher: MetadataFetcher | undefined;
  /** v2 magnet: the info is known, its piece layers are being fetched (BEP 52). */
  private layerFetcher: LayerFetcher | undefined;
  private pendingInfo: Buffer | undefined;
  private readonly peers = new Map<number, Peer>();
  private readonly known = new Map<string, KnownPeer>();
  private readonly banned = new Set<string>();
  private nextPeerId = 1;
  private halfOpen = 0;
  private timer: TimerHandle | undefined;
  private lastChoke = 0;
  private readonly choker: ChokerState = { optimistic: undefined, optimisticSince: 0 };
  private readonly down: RateMeter;
  private readonly up: RateMeter;
  private readonly upBucket: TokenBucket;
  private readonly downBucket: TokenBucket;
  private pendingWriteBytes = 0;
  private readonly pieceWrites = new Map<number, number>();
  private readonly awaitingVerify = new Set<number>();
  private readonly contributors = new Map<number, Set<number>>();
  private readonly dirty = new Set<Peer>();
  private readPaused = false;
  private stopped = false;
  private doneEmitted = false;
  private failed = false;
  downloadedBytes = 0;
  uploadedBytes = 0;

  constructor(deps: TorrentDeps, opts: TorrentOptions) {
    this.deps = deps;
    this.opts = opts;
    const m = opts.metainfo;
    const v1 = m?.infoHash ?? opts.infoHash;
    const v2 = m?.infoHashV2 ?? opts.infoHashV2;
    if (!v1 && !v2) throw new Error('a torrent needs an info-hash');
    this.wireHash = v1 ?? v2!.subarray(0, 20);
    this.acceptedHashes = [v1, v2?.subarray(0, 20)].filter((h): h is Buffer => h !== undefined);
    this.metainfo = m;
    const now = deps.clock.now();
    this.down = new RateMeter(now);
    this.up = new RateMeter(now);
    this.upBucket = new TokenBucket(opts.uploadLimitBytesPerSec ?? 0, now);
    this.downBucket = new TokenBucket(opts.downloadLimitBytesPerSec ?? 0, now);
    if (!m) this.fetcher = new MetadataFetcher(opts.infoHash, opts.infoHashV2);
  }

  // =================== lifecycle ===================

  /** Opens storage (when the metainfo is known) and starts connecting and ticking. */
  async start(): Promise<void> {
    if (this.metainfo) await this.openStore(this.metainfo);
    this.schedule();
    this.connectMore();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    for (const p of [...this.peers.values()]) this.dropPeer(p, 'stopped');
    await this.store?.close();
  }

  get done(): boolean {
    return this.picker?.done ?? false;
  }

  /** Serves infoHash (20 bytes from a handshake)? Returns the hash to answer with. */
  accepts(infoHash: Buffer): Buffer | undefined {
    return this.acceptedHashes.find((h) => h.equals(infoHash));
  }

  get magnet(): string | undefined {
    return this.metainfo ? magnetOf(this.metainfo) : undefined;
  }

  stats(): TorrentStats {
    const p = this.picker;
    let haveBytes = 0;
    if (p) for (let i = 0; i < p.pieceCount; i++) if (p.have.has(i) && p.priority[i]! > 0) haveBytes += p.pieceSize(i);
    let wanted = 0;
    if (p) for (let i = 0; i < p.pieceCount; i++) if (p.priority[i]! > 0) wanted += p.pieceSize(i);
    return {
      downloadedBytes: this.downloadedBytes,
      uploadedBytes: this.uploadedBytes,
      downRate: this.down.rate,
      upRate: this.up.rate,
      peers: [...this.peers.values()].filter((x) => x.handshaken).length,
      seeds: [...this.peers.values()].filter((x) => x.handshaken && x.isSeed).length,
      knownPeers: this.known.size,
      havePieces: p?.have.cardinality ?? 0,
      pieceCount: p?.pieceCount ?? 0,
      haveBytes,
      wantedBytes: wanted,
      done: this.done,
    };
  }

  private emit(e: TorrentEvent): void {
    this.deps.onEvent?.(e);
  }

  private async openStore(m: Metainfo): Promise<void> {
    const { store, have } = await this.deps.openStore(m);
    if (this.stopped) {
      await store.close();
      return;
    }
    this.store = store;
    const picker = new PiecePicker(m.pieceCount, m.pieceLength, m.layoutLength, this.deps.rng);
    picker.sequential = this.opts.sequential === true;
    for (let i = 0; i < m.pieceCount; i++) if (have.has(i)) picker.setHave(i);
    if (this.opts.selectFiles) this.applySelection(picker, m, this.opts.selectFiles);
    this.picker = picker;
    this.emit({ type: 'ready', have: have.cardinality, pieceCount: m.pieceCount });
    // Peers that connected before we knew what we have get our state now.
    for (const p of [...this.peers.values()]) {
      if (!p.handshaken) continue;
      this.sendOurState(p);
      try {
        this.adoptBitfield(p);
      } catch (err) {
        // A peer whose bitfield turns out not to fit the torrent is dropped; the torrent goes on.
        if (!(err instanceof WireProtocolError)) throw err;
        p.session.close(err.message);
        this.protocolStrike(p, err.message);
      }
    }
    this.checkDone();
    this.flush();
  }

  /** Priority 0 for pieces that hold only unselected files; a piece shared with a selected file is fetched. */
  private applySelection(picker: PiecePicker, m: Metainfo, select: readonly number[]): void {
    const real = m.files.map((f, i) => ({ f, i })).filter((x) => !x.f.pad);
    const chosen = new Set(select.map((s) => real[s]?.i).filter((x): x is number => x !== undefined));
    picker.priority.fill(0);
    for (const fi of chosen) {
      const f = m.files[fi]!;
      if (f.length === 0) continue;
      const first = Math.floor(f.offset / m.pieceLength);
      const end = Math.ceil((f.offset + f.length) / m.pieceLength);
      for (let i = first; i < end; i++) picker.priority[i] = 1;
    }
  }

  // =================== peers: discovery and connections ===================

  /** Learns peer addresses (from `--peer`, trackers, PEX, the DHT). */
  addPeers(addrs: readonly PeerAddress[]): void {
    for (const a of addrs) {
      const key = addressKey(a);
      if (this.known.has(key) || this.banned.has(key)) continue;
      if (this.deps.allowPeer && !this.deps.allowPeer(a)) continue;
      if (a.port === this.deps.listenPort && (a.host === '127.0.0.1' || a.host === '::1') && this.isSelf(a)) continue;
      this.known.set(key, { addr: a, lastAttempt: -Infinity, failures: 0, connected: false, retryAfter: -Infinity, seed: false, strikes: 0 });
    }
    if (!this.stopped) this.connectMore();
  }

  private isSelf(a: PeerAddress): boolean {
    return a.port === this.deps.listenPort;
  }

  private maxPeers(): number {
    return this.opts.maxPeers ?? 50;
  }

  private connectMore(): void {
    if (this.stopped || this.failed) return;
    if (this.done && !this.opts.seed) return;
    const now = this.deps.clock.now();
    const maxHalfOpen = this.opts.maxHalfOpen ?? 8;
    const shared = this.deps.shared?.connections;
    for (const k of this.known.values()) {
      if (this.peers.size >= this.maxPeers() || this.halfOpen >= maxHalfOpen) break;
      if (shared && shared.open >= shared.max) break;
      if (k.connected || now < k.retryAfter) continue;
      if (k.seed && this.picker?.have.complete) continue;
      // Back off: 10 s, 20 s, 40 s … after failures.
      const wait = k.failures === 0 ? 0 : Math.min(300_000, 10_000 * 2 ** (k.failures - 1));
      if (now - k.lastAttempt < wait) continue;
      k.lastAttempt = now;
      k.connected = true;
      this.dial(k);
    }
  }

  private dial(k: KnownPeer): void {
    const now = this.deps.clock.now();
    let conn: Connection;
    try {
      conn = this.deps.transport.connect(k.addr);
    } catch {
      k.connected = false;
      k.failures++;
      return;
    }
    this.halfOpen++;
    const session = new PeerSession(
      { role: 'outgoing', infoHash: this.wireHash, alsoAccept: this.acceptedHashes, peerId: this.deps.peerId, reserved: this.reserved() },
      now,
    );
    const peer = new Peer(this.nextPeerId++, k.addr, conn, session, false, now);
    let connected = false;
    this.attach(peer, () => {
      if (!connected) {
        connected = true;
        this.halfOpen--;
      }
    }, () => {
      if (!connected) this.halfOpen--;
      connected = true;
    });
  }

  /** An incoming connection whose first bytes (the handshake, maybe more) the listener already read. */
  addIncoming(conn: Connection, firstBytes: Buffer): void {
    const now = this.deps.clock.now();
    const shared = this.deps.shared?.connections;
    if (this.stopped || this.peers.size >= this.maxPeers() + 5 || (shared && shared.open >= shared.max + 5) || (this.deps.allowPeer && !this.deps.allowPeer(conn.remote))) {
      conn.close();
      return;
    }
    const session = new PeerSession(
      { role: 'incoming', peerId: this.deps.peerId, reserved: this.reserved(), accept: (h) => this.accepts(h) },
      now,
    );
    const peer = new Peer(this.nextPeerId++, conn.remote, conn, session, true, now);
    this.attach(peer);
    this.onData(peer, firstBytes);
  }

  private reserved(): { extensions: boolean; fast: boolean; dht: boolean; v2: boolean } {
    return { extensions: true, fast: true, dht: false, v2: this.opts.infoHashV2 !== undefined || this.metainfo?.infoHashV2 !== undefined };
  }

  private attach(peer: Peer, onConnect?: () => void, onCloseEarly?: () => void): void {
    this.peers.set(peer.id, peer);
    if (this.deps.shared) this.deps.shared.connections.open++;
    peer.conn.setHandlers({
      connect: () => {
        onConnect?.();
        this.flushPeer(peer);
      },
      data: (chunk) => this.onData(peer, chunk),
      drain: () => {
        peer.writeBlocked = false;
        this.serveUploads(peer);
        this.flush();
      },
      close: (err) => {
        onCloseEarly?.();
        this.dropPeer(peer, err ? err.message : 'connection closed');
      },
    });
    this.flushPeer(peer);
  }

  private dropPeer(peer: Peer, reason: string): void {
    if (!this.peers.delete(peer.id)) return;
    if (this.deps.shared) this.deps.shared.connections.open--;
    if (peer.timer) this.deps.clock.clearTimeout(peer.timer);
    peer.conn.close();
    const known = this.known.get(addressKey(peer.addr));
    if (known) {
      known.connected = false;
      if (!peer.handshaken) known.failures++;
      else {
        known.failures = 0;
        known.retryAfter = Math.max(known.retryAfter, this.deps.clock.now() + RECONNECT_MS);
        if (peer.isSeed) known.seed = true;
      }
    }
    if (this.picker) {
      for (const r of peer.outstanding.values()) this.picker.requestFailed(r.index, r.begin, peer.id);
      if (peer.countedInPicker && peer.has) this.picker.peerRemoved(peer.has);
    }
    peer.outstanding.clear();
    this.fetcher?.peerGone(peer.id);
    this.layerFetcher?.peerGone(peer.id);
    if (peer.handshaken) this.emit({ type: 'peer-disconnected', addr: peer.addr, reason });
    if (this.choker.optimistic === peer.id) this.choker.optimistic = undefined;
    if (!this.stopped) {
      // The blocks it held are free again: let the others pick them up.
      for (const p of this.peers.values()) this.requestMore(p);
      this.connectMore();
      this.flush();
    }
  }

  /** A peer broke the protocol: it is dropped, not redialled soon, and banned after a second time. */
  private protocolStrike(peer: Peer, reason: string): void {
    const known = this.known.get(addressKey(peer.addr));
    const strikes = known ? ++known.strikes : PROTOCOL_STRIKES;
    if (known) known.retryAfter = this.deps.clock.now() + RECONNECT_MS * 5;
    if (strikes >= PROTOCOL_STRIKES || peer.incoming) this.ban(peer, `protocol: ${reason}`);
    else this.dropPeer(peer, `protocol: ${reason}`);
  }

  private ban(peer: Peer, reason: string): void {
    this.banned.add(addressKey(peer.addr));
    if (peer.session.remotePeerId) this.banned.add(peer.session.remotePeerId.toString('hex'));
    this.known.delete(addressKey(peer.addr));
    this.emit({ type: 'peer-banned', addr: peer.addr, reason });
    this.dropPeer(peer, `banned: ${reason}`);
  }

  // =================== input ===================

  private onData(peer: Peer, chunk: Buffer): void {
    if (!this.peers.has(peer.id)) return;
    const now = this.deps.clock.now();
    peer.session.handleBytes(chunk, now);
    this.drainEvents(peer);
    this.flush();
  }

  private drainEvents(peer: Peer): void {
    let e: PeerSessionEvent | undefined;
    while ((e = peer.session.pollEvent()) !== undefined) {
      if (!this.peers.has(peer.id)) return;
      try {
        this.onEvent(peer, e);
      } catch (err) {
        if (err instanceof WireProtocolError) {
          peer.session.close(err.message);
          this.protocolStrike(peer, err.message);
          return;
        }
        throw err;
      }
    }
    this.dirty.add(peer);
  }

  private onEvent(peer: Peer, e: PeerSessionEvent): void {
    switch (e.type) {
      case 'handshake':
        this.onHandshake(peer);
        return;
      case 'disconnect':
        this.flushPeer(peer);
        if (e.code === 'protocol' || e.code === 'frame-too-large') this.protocolStrike(peer, `${e.code}: ${e.reason}`);
        else this.dropPeer(peer, `${e.code}: ${e.reason}`);
        return;
      case 'message':
        this.onMessage(peer, e.msg);
        return;
    }
  }

  private onHandshake(peer: Peer): void {
    const id = peer.session.remotePeerId!.toString('hex');
    if (this.banned.has(id)) {
      // A banned peer reached at a new address: that address is banned too.
      this.banned.add(addressKey(peer.addr));
      this.known.delete(addressKey(peer.addr));
      this.dropPeer(peer, 'banned peer');
      return;
    }
    // One connection per peer id. When we dialled each other (PEX tells both sides at once), each
    // side sees the two handshakes complete in its own order: dropping "the second" could drop a
    // different connection on each side and lose both. Both sides keep the one dialled by the
    // smaller peer id instead; two connections in the same direction keep the older one.
    for (const other of this.peers.values()) {
      if (other !== peer && other.handshaken && other.session.remotePeerId?.equals(peer.session.remotePeerId!)) {
        const weAreSmaller = Buffer.compare(this.deps.peerId, peer.session.remotePeerId!) < 0;
        const bySmaller = (p: Peer): boolean => p.incoming !== weAreSmaller;
        if (bySmaller(peer) && !bySmaller(other)) {
          this.dropPeer(other, 'duplicate connection');
          break;
        }
        this.dropPeer(peer, 'duplicate connection');
        return;
      }
    }
    peer.handshaken = true;
    const known = this.known.get(addressKey(peer.addr));
    if (known) known.failures = 0;
    const now = this.deps.clock.now();
    if (peer.session.extensions) {
      peer.session.sendExtended(
        0,
        encodeExtHandshake({
          client: this.opts.clientName ?? 'shoal',
          ...(this.deps.listenPort ? { listenPort: this.deps.listenPort } : {}),
          reqq: MAX_UPLOAD_QUEUE,
          ...(this.metainfo ? { metadataSize: this.metainfo.infoBytes.length } : {}),
          ...(this.done ? { uploadOnly: true } : {}),
          extensions: this.opts.pex === false || this.metainfo?.private ? ['ut_metadata'] : ['ut_metadata', 'ut_pex'],
        }),
        now,
      );
    }
    if (this.picker) this.sendOurState(peer);
    this.askLayers(peer);
    this.emit({ type: 'peer-connected', addr: peer.addr, incoming: peer.incoming });
  }

  /** Our bitfield (or have-all / have-none) and the allowed-fast set for a peer that has little. */
  private sendOurState(peer: Peer): void {
    const now = this.deps.clock.now();
    const have = this.picker!.have;
    peer.session.sendBitfield(have.bytes, have.complete, have.empty, now);
    if (peer.session.fast && !have.empty && !peer.addr.host.includes(':')) {
      peer.allowedFastOut = new Set(allowedFastSet(peer.addr.host, this.wireHash, this.picker!.pieceCount, ALLOWED_FAST_K));
      for (const i of peer.allowedFastOut) if (have.has(i)) peer.session.sendAllowedFast(i, now);
    }
  }

  private pieceCountOrUndefined(): number | undefined {
    return this.metainfo?.pieceCount;
  }

  private checkIndex(i: number, what: string): void {
    const n = this.pieceCountOrUndefined();
    if (n !== undefined && (i < 0 || i >= n)) throw new WireProtocolError(`${what} for piece ${i} of ${n}`);
  }

  private onMessage(peer: Peer, msg: Exclude<WireMessage, { type: 'keepAlive' }>): void {
    const now = this.deps.clock.now();
    switch (msg.type) {
      case 'bitfield':
        peer.rawBitfield = Buffer.from(msg.bits);
        this.adoptBitfield(peer);
        return;
      case 'haveAll':
        peer.rawBitfield = 'all';
        this.adoptBitfield(peer);
        return;
      case 'haveNone':
        peer.rawBitfield = undefined;
        if (this.picker) this.setPeerHas(peer, new Bitfield(this.picker.pieceCount));
        return;
      case 'have': {
        this.checkIndex(msg.index, 'have');
        if (!this.picker) {
          // Before the metadata: remember it, to apply once the piece count is known.
          if (peer.rawHaves.length < 1_000_000) peer.rawHaves.push(msg.index);
          return;
        }
        if (peer.has === undefined) this.setPeerHas(peer, new Bitfield(this.picker.pieceCount));
        if (peer.has !== 'all' && peer.has!.set(msg.index)) {
          this.picker.peerHave(msg.index);
          if (!peer.amInterested && this.picker.wanted(msg.index)) this.setInterested(peer, true);
          this.requestMore(peer);
        }
        return;
      }
      case 'choke':
        peer.peerChoking = true;
        if (!peer.session.fast) this.cancelAll(peer, false);
        return;
      case 'unchoke':
        peer.peerChoking = false;
        this.requestMore(peer);
        return;
      case 'interested':
        peer.peerInterested = true;
        this.maybeUnchokeNow(peer);
        return;
      case 'notInterested':
        peer.peerInterested = false;
        return;
      case 'request':
        this.onRequest(peer, msg.index, msg.begin, msg.length);
        return;
      case 'cancel': {
        const q = peer.uploadQueue;
        const at = q.findIndex((r) => r.index === msg.index && r.begin === msg.begin && r.length === msg.length);
        if (at >= 0) {
          q.splice(at, 1);
          peer.session.sendReject(msg.index, msg.begin, msg.length, now);
        }
        return;
      }
      case 'piece':
        this.onBlock(peer, msg.index, msg.begin, msg.data);
        return;
      case 'reject': {
        const key = blockKey(msg.index, msg.begin);
        const r = peer.outstanding.get(key);
        if (!r) return; // BEP 6 says SHOULD close; libtorrent sends rejects after cancels, so we let it be
        peer.outstanding.delete(key);
        this.picker?.requestFailed(r.index, r.begin, peer.id);
        if (!peer.peerChoking) this.requestMore(peer);
        return;
      }
      case 'allowedFast':
        this.checkIndex(msg.index, 'allowed fast');
        peer.allowedFast.add(msg.index);
        this.requestMore(peer);
        return;
      case 'suggest':
        this.checkIndex(msg.index, 'suggest');
        return;
      case 'extended':
        this.onExtended(peer, msg.id, msg.payload);
        return;
      case 'hashRequest':
        this.onHashRequest(peer, msg);
        return;
      case 'hashes':
        if (this.layerFetcher) {
          if (!this.layerFetcher.answer(peer.id, msg.root, msg, msg.hashes)) peer.strikes++;
          this.afterLayers(peer);
        }
        return;
      case 'hashReject':
        if (this.layerFetcher) {
          this.layerFetcher.rejected(peer.id, msg.root, msg);
          for (const p of this.peers.values()) this.askLayers(p);
        }
        return;
      case 'port':
      case 'unknown':
        return;
    }
  }

  /** Turns a received bitfield (and haves seen before the metadata) into the peer's piece set. */
  private adoptBitfield(peer: Peer): void {
    const picker = this.picker;
    if (!picker) return;
    if (peer.rawBitfield === undefined) {
      if (peer.rawHaves.length === 0) return;
      peer.rawBitfield = Buffer.alloc(Math.ceil(picker.pieceCount / 8));
    }
    for (const i of peer.rawHaves) {
      if (i >= picker.pieceCount) throw new WireProtocolError(`have for piece ${i} of ${picker.pieceCount}`);
      if (peer.rawBitfield instanceof Buffer) peer.rawBitfield[i >> 3]! |= 0x80 >> (i & 7);
    }
    peer.rawHaves = [];
    if (peer.rawBitfield === 'all') {
      this.setPeerHas(peer, 'all');
    } else {
      if (!Bitfield.valid(peer.rawBitfield, picker.pieceCount)) {
        throw new WireProtocolError(`bitfield of ${peer.rawBitfield.length} bytes does not fit ${picker.pieceCount} pieces`);
      }
      const b = new Bitfield(picker.pieceCount, peer.rawBitfield);
      this.setPeerHas(peer, b.complete ? 'all' : b);
    }
    peer.rawBitfield = undefined;
  }

  private setPeerHas(peer: Peer, has: Bitfield | 'all'): void {
    const picker = this.picker!;
    if (peer.countedInPicker && peer.has) picker.peerRemoved(peer.has);
    peer.has = has;
    picker.peerAdded(has);
    peer.countedInPicker = true;
    this.setInterested(peer, picker.interesting(has));
    // Two seeds have nothing to say to each other.
    if (has === 'all' && picker.have.complete) {
      peer.session.close('both seeding');
      this.dropPeer(peer, 'both seeding');
      return;
    }
    this.requestMore(peer);
  }

  private setInterested(peer: Peer, interested: boolean): void {
    if (peer.amInterested === interested) return;
    peer.amInterested = interested;
    const now = this.deps.clock.now();
    if (interested) peer.session.sendInterested(now);
    else peer.session.sendNotInterested(now);
    this.dirty.add(peer);
  }

  // =================== downloading ===================

  /** Fills the peer's request pipeline. */
  private requestMore(peer: Peer): void {
    const picker = this.picker;
    if (!picker || !peer.handshaken || peer.has === undefined || !peer.amInterested || this.failed || this.stopped) return;
    if (peer.snubbed || this.pendingWriteBytes > MAX_PENDING_WRITE_BYTES) return;
    const now = this.deps.clock.now();
    const pipeline = Math.max(MIN_REQUEST_PIPELINE, Math.min(MAX_REQUEST_PIPELINE, peer.ext?.reqq ?? 250, Math.ceil((peer.down.rate * PIPELINE_TARGET_MS) / 1000 / 16384)));
    peer.maxOutstanding = pipeline;
    let room = pipeline - peer.outstanding.size;
    if (room <= 0) return;
    let has: Bitfield | 'all' = peer.has;
    if (peer.peerChoking) {
      // Choked: only the pieces it allows us fast.
      if (peer.allowedFast.size === 0) return;
      const fast = new Bitfield(picker.pieceCount);
      for (const i of peer.allowedFast) if (peer.hasPiece(i)) fast.set(i);
      has = fast;
    }
    // Download rate limits (this torrent's and the session's): whole blocks only while tokens last.
    const buckets = this.downBuckets();
    if (buckets.length > 0) {
      let allowed = 0;
      while (allowed < room && takeAll(buckets, 16384, now)) allowed++;
      room = allowed;
      if (room === 0) {
        this.retryLater(peer, waitAll(buckets, 16384, now));
        return;
      }
    }
    const blocks = picker.pick({ id: peer.id, has, requested: (i, b) => peer.outstanding.has(blockKey(i, b)) }, room);
    for (const b of blocks) {
      peer.outstanding.set(blockKey(b.index, b.begin), { ...b, sentAt: now });
      peer.session.sendRequest(b.index, b.begin, b.length, now);
    }
    if (blocks.length > 0) this.dirty.add(peer);
  }

  /** Cancels a request and remembers it, since its block may still arrive. */
  private sendCancel(peer: Peer, index: number, begin: number, length: number, now: number): void {
    peer.session.sendCancel(index, begin, length, now);
    peer.cancelled.add(blockKey(index, begin));
    if (peer.cancelled.size > 4096) peer.cancelled.delete(peer.cancelled.values().next().value!);
  }

  private cancelAll(peer: Peer, sendCancels: boolean): void {
    const now = this.deps.clock.now();
    for (const r of peer.outstanding.values()) {
      this.picker?.requestFailed(r.index, r.begin, peer.id);
      if (sendCancels) this.sendCancel(peer, r.index, r.begin, r.length, now);
    }
    peer.outstanding.clear();
  }

  private onBlock(peer: Peer, index: number, begin: number, data: Buffer): void {
    const picker = this.picker;
    this.checkIndex(index, 'piece');
    const key = blockKey(index, begin);
    const req = peer.outstanding.get(key);
    if (!req || req.length !== data.length) {
      // A block may cross our cancel (BEP 6 lets the peer answer a cancel with the block); one nobody
      // ever asked for, with the fast extension, is a protocol violation.
      if (!req && peer.cancelled.has(key)) {
        peer.cancelled.delete(key);
        return;
      }
      if (peer.session.fast && !req) throw new WireProtocolError(`unrequested block ${index}:${begin}`);
      return;
    }
    peer.outstanding.delete(key);
    const now = this.deps.clock.now();
    peer.down.add(data.length);
    this.down.add(data.length);
    this.downloadedBytes += data.length;
    peer.lastBlockAt = now;
    peer.snubbed = false;
    if (!picker || !this.store) return;
    const outcome = picker.blockReceived(index, begin, peer.id);
    if (outcome === 'unexpected' || outcome === 'duplicate') {
      this.requestMore(peer);
      return;
    }
    let set = this.contributors.get(index);
    if (!set) this.contributors.set(index, (set = new Set()));
    set.add(peer.id);
    // Endgame: the same block asked of others is now cancelled.
    for (const other of this.peers.values()) {
      if (other === peer) continue;
      const dup = other.outstanding.get(key);
      if (dup) {
        other.outstanding.delete(key);
        picker.requestFailed(index, begin, other.id);
        this.sendCancel(other, index, begin, dup.length, now);
        this.dirty.add(other);
      }
    }
    this.writeBlock(index, begin, data, outcome === 'complete');
    this.requestMore(peer);
  }

  private writeBlock(index: number, begin: number, data: Buffer, last: boolean): void {
    const store = this.store!;
    this.pendingWriteBytes += data.length;
    this.pieceWrites.set(index, (this.pieceWrites.get(index) ?? 0) + 1);
    if (last) this.awaitingVerify.add(index);
    this.updateReadPause();
    store.write(index, begin, data).then(
      () => {
        this.pendingWriteBytes -= data.length;
        const left = (this.pieceWrites.get(index) ?? 1) - 1;
        if (left > 0) this.pieceWrites.set(index, left);
        else this.pieceWrites.delete(index);
        this.updateReadPause();
        if (left === 0 && this.awaitingVerify.delete(index)) this.verifyPiece(index);
        else if (this.pendingWriteBytes < MAX_PENDING_WRITE_BYTES / 2) this.refillAll();
      },
      (err: unknown) => this.storeFailed(err),
    );
  }

  /** A slow disk throttles the network: stop reading sockets while too much waits to be written. */
  private updateReadPause(): void {
    const pause = this.pendingWriteBytes > MAX_PENDING_WRITE_BYTES;
    if (pause === this.readPaused) return;
    this.readPaused = pause;
    for (const p of this.peers.values()) {
      if (pause) p.conn.pause();
      else p.conn.resume();
    }
  }

  private refillAll(): void {
    if (this.stopped) return;
    for (const p of this.peers.values()) this.requestMore(p);
    this.flush();
  }

  private verifyPiece(index: number): void {
    this.store!.verify(index).then(
      (ok) => this.onVerified(index, ok),
      (err: unknown) => this.storeFailed(err),
    );
  }

  private onVerified(index: number, ok: boolean): void {
    if (this.stopped) return;
    const picker = this.picker!;
    picker.pieceVerified(index, ok);
    const contributors = this.contributors.get(index) ?? new Set<number>();
    this.contributors.delete(index);
    const now = this.deps.clock.now();
    if (ok) {
      for (const p of this.peers.values()) {
        if (!p.handshaken) continue;
        p.session.sendHave(index, now);
        if (p.amInterested && p.has !== undefined && !picker.interesting(p.has)) this.setInterested(p, false);
        this.dirty.add(p);
      }
      this.emit({ type: 'piece', index });
      this.checkDone();
    } else {
      const culprits: string[] = [];
      for (const id of contributors) {
        const p = this.peers.get(id);
        if (!p) continue;
        culprits.push(addressKey(p.addr));
        p.strikes++;
        if (p.strikes >= BAN_STRIKES) this.ban(p, `${p.strikes} pieces failed their hash check`);
      }
      this.emit({ type: 'piece-failed', index, peers: culprits });
    }
    this.refillAll();
  }

  private checkDone(): void {
    const picker = this.picker;
    if (!picker || this.doneEmitted || !picker.done) return;
    this.doneEmitted = true;
    for (const p of [...this.peers.values()]) {
      if (p.isSeed && picker.have.complete) {
        p.session.close('both seeding');
        this.dropPeer(p, 'both seeding');
      } else if (p.amInterested) {
        this.setInterested(p, false);
      }
    }
    this.emit({ type: 'done', downloaded: this.downloadedBytes > 0 });
  }

  private storeFailed(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const error = err instanceof Error ? err : new Error(String(err));
    for (const p of this.peers.values()) this.cancelAll(p, true);
    this.emit({ type: 'error', error });
    this.flush();
  }

  // =================== uploading ===================

  private onRequest(peer: Peer, index: number, begin: number, length: number): void {
    const now = this.deps.clock.now();
    const picker = this.picker;
    if (!picker) {
      peer.session.sendReject(index, begin, length, now);
      return;
    }
    this.checkIndex(index, 'request');
    // libtorrent pads the last file of a v2 torrent to a whole piece and may ask for a block that runs
    // into that padding; we answer with zeros there.
    const limit = this.metainfo?.infoHashV2 ? picker.pieceLength : picker.pieceSize(index);
    if (length === 0 || length > MAX_REQUEST_LENGTH || begin + length > limit) {
      throw new WireProtocolError(`bad request ${index}:${begin}+${length}`);
    }
    const allowedWhileChoked = peer.allowedFastOut?.has(index) === true;
    if (!picker.have.has(index) || (peer.amChoking && !allowedWhileChoked) || this.failed) {
      peer.session.sendReject(index, begin, length, now);
      return;
    }
    if (peer.uploadQueue.length >= MAX_UPLOAD_QUEUE) {
      peer.session.sendReject(index, begin, length, now);
      return;
    }
    peer.uploadQueue.push({ index, begin, length });
    this.serveUploads(peer);
  }

  private serveUploads(peer: Peer): void {
    const store = this.store;
    if (!store || this.stopped) return;
    const now = this.deps.clock.now();
    while (peer.uploadQueue.length > 0 && !peer.writeBlocked && peer.readingBlocks < 8) {
      const r = peer.uploadQueue[0]!;
      const buckets = this.upBuckets();
      if (buckets.length > 0 && !takeAll(buckets, r.length, now)) {
        // Over an upload limit: try again when tokens are back.
        this.retryLater(peer, waitAll(buckets, r.length, now));
        return;
      }
      peer.uploadQueue.shift();
      peer.readingBlocks++;
      const real = Math.max(0, Math.min(r.length, this.picker!.pieceSize(r.index) - r.begin));
      const read = real > 0 ? store.read(r.index, r.begin, real) : Promise.resolve(Buffer.alloc(0));
      read.then(
        (got) => {
          const data = real === r.length ? got : Buffer.concat([got, Buffer.alloc(r.length - real)]);
          peer.readingBlocks--;
          if (!this.peers.has(peer.id)) return;
          const t = this.deps.clock.now();
          peer.session.sendPiece(r.index, r.begin, data, t);
          peer.up.add(data.length);
          this.up.add(data.length);
          this.uploadedBytes += data.length;
          this.dirty.add(peer);
          this.serveUploads(peer);
          this.flush();
        },
        (err: unknown) => {
          peer.readingBlocks--;
          this.storeFailed(err);
        },
      );
    }
  }

  private upBuckets(): TokenBucket[] {
    return [this.upBucket, this.deps.shared?.upload].filter((b): b is TokenBucket => b !== undefined && !b.unlimited);
  }

  private downBuckets(): TokenBucket[] {
    return [this.downBucket, this.deps.shared?.download].filter((b): b is TokenBucket => b !== undefined && !b.unlimited);
  }

  /** Comes back to a rate-limited peer when tokens are there again. */
  private retryLater(peer: Peer, waitMs: number): void {
    if (peer.timer) return;
    peer.timer = this.deps.clock.setTimeout(() => {
      peer.timer = undefined;
      if (!this.peers.has(peer.id)) return;
      this.serveUploads(peer);
      this.requestMore(peer);
      this.flush();
    }, Math.max(10, waitMs));
  }

  /** A peer that just became interested gets a free slot at once instead of waiting for the next round. */
  private maybeUnchokeNow(peer: Peer): void {
    if (!peer.amChoking || !this.picker) return;
    const slots = this.opts.uploadSlots ?? 4;
    const unchoked = [...this.peers.values()].filter((p) => !p.amChoking).length;
    if (unchoked < slots) this.setChoked(peer, false);
  }

  private setChoked(peer: Peer, choked: boolean): void {
    if (peer.amChoking === choked) return;
    peer.amChoking = choked;
    const now = this.deps.clock.now();
    if (choked) {
      peer.session.sendChoke(now);
      // Queued requests are rejected (BEP 6), except allowed-fast ones.
      const keep = peer.uploadQueue.filter((r) => peer.allowedFastOut?.has(r.index));
      for (const r of peer.uploadQueue) if (!peer.allowedFastOut?.has(r.index)) peer.session.sendReject(r.index, r.begin, r.length, now);
      peer.uploadQueue.length = 0;
      peer.uploadQueue.push(...keep);
    } else {
      peer.session.sendUnchoke(now);
    }
    this.dirty.add(peer);
  }

  private runChoker(now: number): void {
    if (!this.picker) return;
    const seeding = this.picker.have.complete || this.done;
    const candidates = [...this.peers.values()].filter((p) => p.handshaken);
    const unchoke = chooseUnchoked(
      candidates.map((p) => ({ id: p.id, interested: p.peerInterested, downRate: p.down.rate, upRate: p.up.rate, connectedAt: p.connectedAt })),
      this.opts.uploadSlots ?? 4,
      seeding,
      this.choker,
      now,
      this.deps.rng,
    );
    for (const p of candidates) this.setChoked(p, !unchoke.has(p.id));
  }

  // =================== extensions: metadata and PEX ===================

  private onExtended(peer: Peer, id: number, payload: Buffer): void {
    const now = this.deps.clock.now();
    if (id === 0) {
      const h = decodeExtHandshake(payload);
      peer.ext = h;
      peer.metadataId = h.m.get('ut_metadata') ?? 0;
      peer.pexId = this.metainfo?.private || this.opts.pex === false ? 0 : (h.m.get('ut_pex') ?? 0);
      if (h.metadataSize !== undefined && this.fetcher && peer.metadataId) {
        if (!this.fetcher.offerSize(h.metadataSize)) throw new WireProtocolError(`unacceptable metadata_size ${h.metadataSize}`);
        this.askMetadata(peer, now);
      }
      return;
    }
    if (id === LOCAL_EXT_IDS.ut_metadata) {
      const m = decodeMetadataMessage(payload);
      if (!m) return;
      if (m.kind === 'request') {
        const info = this.metainfo?.infoBytes;
        if (!info || m.piece * METADATA_PIECE_SIZE >= info.length || !peer.metadataId) {
          if (peer.metadataId) peer.session.sendExtended(peer.metadataId, encodeMetadataMessage({ kind: 'reject', piece: m.piece }), now);
          return;
        }
        const data = info.subarray(m.piece * METADATA_PIECE_SIZE, (m.piece + 1) * METADATA_PIECE_SIZE);
        peer.session.sendExtended(peer.metadataId, encodeMetadataMessage({ kind: 'data', piece: m.piece, totalSize: info.length, data }), now);
        return;
      }
      if (!this.fetcher) return;
      peer.metadataAsked = Math.max(0, peer.metadataAsked - 1);
      if (m.kind === 'reject') {
        this.fetcher.rejected(m.piece, peer.id);
        return;
      }
      const result = this.fetcher.receive(m.piece, m.totalSize, m.data, peer.id);
      if (result === 'mismatch') {
        this.emit({ type: 'error', error: new Error('metadata from peers did not match the info-hash; fetching it again') });
      } else if (result) {
        this.onMetadata(Buffer.from(result));
        return;
      }
      this.askMetadata(peer, now);
      return;
    }
    if (id === LOCAL_EXT_IDS.ut_pex) {
      if (this.metainfo?.private || this.opts.pex === false) return;
      const pex = decodePex(payload);
      this.addPeers(pex.added);
    }
  }

  private askMetadata(peer: Peer, now: number): void {
    if (!this.fetcher || !peer.metadataId) return;
    const pieces = this.fetcher.next(peer.id, Math.max(0, 4 - peer.metadataAsked), now);
    for (const piece of pieces) {
      peer.metadataAsked++;
      peer.session.sendExtended(peer.metadataId, encodeMetadataMessage({ kind: 'request', piece }), now);
    }
    this.dirty.add(peer);
  }

  private onMetadata(info: Buffer): void {
    let m: Metainfo;
    try {
      m = parseInfo(info);
    } catch (e) {
      this.storeFailed(new Error(`the metadata from peers is not a torrent we can use: ${(e as Error).message}`));
      return;
    }
    this.fetcher = undefined;
    if (m.version === 'v2') {
      // A v2-only torrent needs its piece layers (BEP 52 hash requests) before any piece can be checked.
      const lf = new LayerFetcher(m);
      if (lf.needed) {
        this.layerFetcher = lf;
        this.pendingInfo = info;
        for (const p of this.peers.values()) this.askLayers(p);
        this.flush();
        return;
      }
    }
    this.useMetainfo(m);
  }

  private askLayers(peer: Peer): void {
    const lf = this.layerFetcher;
    if (!lf || !peer.handshaken) return;
    const now = this.deps.clock.now();
    for (const r of lf.next(peer.id, 4, now)) {
      peer.session.sendHashMessage('hashRequest', r, now);
      this.dirty.add(peer);
    }
  }

  private afterLayers(peer: Peer): void {
    const lf = this.layerFetcher!;
    if (!lf.complete) {
      this.askLayers(peer);
      return;
    }
    this.layerFetcher = undefined;
    let m: Metainfo;
    try {
      m = parseInfo(this.pendingInfo!, lf.layers());
    } catch (e) {
      this.storeFailed(new Error(`the piece layers from peers do not fit the torrent: ${(e as Error).message}`));
      return;
    }
    this.pendingInfo = undefined;
    this.useMetainfo(m);
  }

  /** Serves a BEP 52 hash request from the piece layers we hold; anything else is rejected. */
  private onHashRequest(peer: Peer, r: { root: Buffer; baseLayer: number; index: number; length: number; proofLayers: number }): void {
    const now = this.deps.clock.now();
    const m = this.metainfo;
    const f = m?.files.find((x) => x.piecesRoot?.equals(r.root));
    const layer = f && m?.pieceLayers?.get(r.root.toString('hex'));
    const answer = m && f && layer ? answerLayerRequest(layer, f.length, m.pieceLength, r) : undefined;
    if (answer) peer.session.sendHashMessage('hashes', r, now, answer);
    else peer.session.sendHashMessage('hashReject', r, now);
  }

  private useMetainfo(m: Metainfo): void {
    this.metainfo = m;
    this.emit({ type: 'metadata', metainfo: m });
    this.openStore(m).catch((e: unknown) => this.storeFailed(e));
  }

  private sendPex(now: number): void {
    if (this.metainfo?.private || this.opts.pex === false) return;
    const live = [...this.peers.values()].filter((p) => p.handshaken);
    const addrOf = (p: Peer): { host: string; port: number } | undefined => {
      const port = p.incoming ? p.ext?.listenPort : p.addr.port;
      return port ? { host: p.addr.host, port } : undefined;
    };
    const current = new Map<string, { host: string; port: number }>();
    for (const p of live) {
      const a = addrOf(p);
      if (a) current.set(addressKey(a), a);
    }
    for (const p of live) {
      if (!p.pexId || now - p.lastPexAt < PEX_INTERVAL_MS) continue;
      const self = addrOf(p);
      const selfKey = self ? addressKey(self) : '';
      const added = [...current.entries()].filter(([k]) => k !== selfKey && !p.pexSent.has(k)).slice(0, 50);
      const dropped = [...p.pexSent].filter((k) => !current.has(k)).slice(0, 50);
      if (added.length === 0 && dropped.length === 0) continue;
      p.lastPexAt = now;
      for (const [k] of added) p.pexSent.add(k);
      for (const k of dropped) p.pexSent.delete(k);
      const droppedAddrs = dropped.map((k) => {
        const i = k.lastIndexOf(':');
        return { host: k.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(k.slice(i + 1)) };
      });
      p.session.sendExtended(p.pexId, encodePex({ added: added.map(([, a]) => a), addedFlags: added.map(() => 0x10), dropped: droppedAddrs }), now);
      this.dirty.add(p);
    }
  }

  // =================== time ===================

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    this.down.tick(now);
    this.up.tick(now);
    for (const p of [...this.peers.values()]) {
      p.down.tick(now);
      p.up.tick(now);
      p.session.handleTimeout(now);
      this.drainEvents(p);
      if (!this.peers.has(p.id)) continue;
      // A peer that sends nothing for a while is snubbed: its requests go to others.
      if (p.outstanding.size > 0 && now - p.lastBlockAt > SNUB_MS && !p.snubbed) {
        p.snubbed = true;
        this.cancelAll(p, true);
      }
      for (const [k, r] of p.outstanding) {
        if (now - r.sentAt > REQUEST_TIMEOUT_MS && now - p.lastBlockAt > REQUEST_TIMEOUT_MS / 2) {
          p.outstanding.delete(k);
          this.picker?.requestFailed(r.index, r.begin, p.id);
          this.sendCancel(p, r.index, r.begin, r.length, now);
        }
      }
      if (this.fetcher && p.metadataId) this.askMetadata(p, now);
      if (this.layerFetcher) this.askLayers(p);
      this.requestMore(p);
    }
    if (now - this.lastChoke >= CHOKE_INTERVAL_MS) {
      this.lastChoke = now;
      this.runChoker(now);
    }
    this.sendPex(now);
    this.connectMore();
    this.flush();
    this.schedule();
  }

  // =================== output ===================

  private flushPeer(peer: Peer): void {
    const out = peer.session.drainTransmit();
    if (out.length === 0) return;
    if (!peer.conn.write(coalesce(out))) peer.writeBlocked = true;
  }

  private flush(): void {
    for (const p of this.dirty) if (this.peers.has(p.id)) this.flushPeer(p);
    this.dirty.clear();
  }
}

/**
 * Joins runs of small buffers (requests, haves, headers) into one, leaving large ones (blocks) as they
 * are: a vectored write of hundreds of 17-byte requests costs far more than one small copy.
 */
function coalesce(chunks: Buffer[]): Buffer[] {
  if (chunks.length === 1) return chunks;
  const SMALL = 1024;
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const close = (): void => {
    if (run.length === 1) out.push(run[0]!);
    else if (run.length > 1) out.push(Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const c of chunks) {
    if (c.length < SMALL) {
      run.push(c);
      runBytes += c.length;
    } else {
      // A block's 13-byte header rides with the run before it; the block itself is never copied.
      close();
      out.push(c);
    }
  }
  close();
  return out;
}

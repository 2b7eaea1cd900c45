/**
 * The in-memory piece store of runtime/sim (the `PieceStore` port), with faults on purpose — the way
 * libtorrent's `simulation/disk_io.hpp` fails on demand.
 *
 * Model:
 * - The torrent's layout lives in one Buffer. A seeder's store starts as a read-only view of the
 *   shared content (copied on its first write, so seeders of one swarm share memory); a leecher's
 *   starts zeroed with nothing had.
 * - `verify(piece)` hashes the piece as stored (SHA-1 for v1 and hybrid, the BEP 52 piece subtree
 *   root for v2) and compares it with the metainfo, through the same `pieceMatches` as the node runtime.
 * - Time: without faults every operation completes at the virtual instant it was asked (the promise
 *   is already settled; its callbacks run before the next event). With `writeBytesPerSec` /
 *   `hashBytesPerSec` a single simulated disk / hash thread serves operations one after another;
 *   `writeDelayMs`, `readDelayMs`, `hashDelayMs` add a fixed latency to each.
 * - Faults: `diskFullAfterBytes` makes every write past that many bytes reject with a `StorageError`
 *   of code ERR_STORAGE_FULL (nothing of that write is stored); `corruptReads(piece, begin)` makes reads
 *   of those blocks return wrong bytes (a peer serving garbage); `failVerify` makes hash checks fail.
 *
 * Every promise it hands out is announced to the clock (`noteAsync`) so its callbacks run in order.
 */
import { createHash } from 'node:crypto';
import type { Metainfo } from '../../metainfo/types.js';
import { dataRoot } from '../../metainfo/merkle.js';
import { PieceLayout, pieceMatches } from '../../storage/piece-layout.js';
import { StorageError } from '../../storage/errors.js';
import { Bitfield } from '../../torrent/bitfield.js';
import type { PieceStore } from '../../torrent/ports.js';
import type { SimClock } from './clock.js';

export interface StoreFaults {
  /** Writes that would take the total written past this many bytes fail with ERR_STORAGE_FULL. */
  diskFullAfterBytes?: number;
  /** Fixed virtual latency of each write / read / hash check. */
  writeDelayMs?: number;
  readDelayMs?: number;
  hashDelayMs?: number;
  /** Throughput of a single simulated disk (writes queue behind each other); unlimited if left out. */
  writeBytesPerSec?: number;
  /** Throughput of a single hash thread; unlimited if left out. */
  hashBytesPerSec?: number;
  /** Reads of the block at (piece, begin) return wrong bytes. */
  corruptReads?: (piece: number, begin: number) => boolean;
  /** Hash checks of these pieces fail whatever the data. */
  failVerify?: (piece: number) => boolean;
}

export interface MemoryStoreOptions {
  clock: SimClock;
  /** The torrent's whole layout (pad bytes included), for stores that start with pieces. */
  content?: Buffer;
  /** Pieces present at the start: 'all' (default when `content` is given), 'none', or a list. */
  initial?: 'all' | 'none' | readonly number[];
  faults?: StoreFaults;
}

export class MemoryPieceStore implements PieceStore {
  private data: Buffer;
  private shared: boolean;
  private readonly layout: PieceLayout;
  private readonly clock: SimClock;
  private readonly faults: StoreFaults;
  private diskFreeAt = 0;
  private hashFreeAt = 0;
  /** The pieces it was created with (trusted: not hashed). */
  readonly initialHave: Bitfield;
  closed = false;
  bytesWritten = 0;
  bytesRead = 0;
  writes = 0;
  verifies = 0;
  failedVerifies = 0;
  corruptBlocksServed = 0;

  constructor(
    readonly metainfo: Metainfo,
    o: MemoryStoreOptions,
  ) {
    this.layout = PieceLayout.of(metainfo);
    this.clock = o.clock;
    this.faults = o.faults ?? {};
    const initial = o.initial ?? (o.content ? 'all' : 'none');
    if (o.content && o.content.length !== metainfo.layoutLength) {
      throw new Error(`content is ${o.content.length} bytes, the torrent's layout ${metainfo.layoutLength}`);
    }
    this.initialHave =
      initial === 'all' ? Bitfield.full(metainfo.pieceCount) : new Bitfield(metainfo.pieceCount);
    if (initial !== 'all' && initial !== 'none') for (const i of initial) this.initialHave.set(i);
    if (initial === 'all' && !o.content) throw new Error("initial 'all' needs the content");
    if (initial === 'all' && o.content) {
      this.data = o.content;
      this.shared = true;
    } else {
      this.data = Buffer.alloc(metainfo.layoutLength);
      this.shared = false;
      if (initial !== 'all' && initial !== 'none' && o.content) {
        for (const i of initial) {
          const start = i * metainfo.pieceLength;
          o.content.copy(this.data, start, start, start + this.layout.pieceSize(i));
        }
      }
    }
  }

  /** The stored layout (for comparing a finished download with the original). */
  get bytes(): Buffer {
    return this.data;
  }

  /** Pieces whose stored bytes match their hash now (a fresh check, no virtual time). */
  scan(): Bitfield {
    const have = new Bitfield(this.metainfo.pieceCount);
    for (let i = 0; i < this.metainfo.pieceCount; i++) if (this.check(i)) have.set(i);
    return have;
  }

  write(piece: number, begin: number, data: Buffer): Promise<void> {
    this.clock.noteAsync();
    if (this.closed) return Promise.reject(new StorageError('ERR_STORAGE_CLOSED', 'write', 'the store is closed'));
    const limit = this.faults.diskFullAfterBytes;
    if (limit !== undefined && this.bytesWritten + data.length > limit) {
      return this.later(
        this.faults.writeDelayMs ?? 0,
        () => Promise.reject(new StorageError('ERR_STORAGE_FULL', 'write', `no space left on the simulated disk (${limit} bytes)`)),
      );
    }
    const start = piece * this.metainfo.pieceLength + begin;
    if (piece < 0 || piece >= this.metainfo.pieceCount || begin < 0 || start + data.length > this.data.length) {
      return Promise.reject(new StorageError('ERR_STORAGE_IO', 'write', `write outside the torrent: ${piece}:${begin}+${data.length}`));
    }
    if (this.shared) {
      this.data = Buffer.from(this.data);
      this.shared = false;
    }
    // Stored at once (a later read sees it); the promise settles when the simulated disk is done.
    data.copy(this.data, start);
    this.bytesWritten += data.length;
    this.writes++;
    let at = this.clock.now();
    const rate = this.faults.writeBytesPerSec;
    if (rate !== undefined && rate > 0) {
      this.diskFreeAt = Math.max(this.diskFreeAt, at) + (data.length * 1000) / rate;
      at = this.diskFreeAt;
    }
    at += this.faults.writeDelayMs ?? 0;
    return this.later(at - this.clock.now(), () => Promise.resolve());
  }

  read(piece: number, begin: number, length: number): Promise<Buffer> {
    this.clock.noteAsync();
    if (this.closed) return Promise.reject(new StorageError('ERR_STORAGE_CLOSED', 'read', 'the store is closed'));
    const start = piece * this.metainfo.pieceLength + begin;
    if (piece < 0 || piece >= this.metainfo.pieceCount || begin < 0 || length < 0 || start + length > this.data.length) {
      return Promise.reject(new StorageError('ERR_STORAGE_IO', 'read', `read outside the torrent: ${piece}:${begin}+${length}`));
    }
    let out = this.data.subarray(start, start + length);
    if (this.faults.corruptReads?.(piece, begin)) {
      out = Buffer.from(out);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ 0x5a;
      this.corruptBlocksServed++;
    }
    this.bytesRead += length;
    return this.later(this.faults.readDelayMs ?? 0, () => Promise.resolve(out));
  }

  verify(piece: number): Promise<boolean> {
    this.clock.noteAsync();
    if (this.closed) return Promise.reject(new StorageError('ERR_STORAGE_CLOSED', 'hash', 'the store is closed'));
    this.verifies++;
    let at = this.clock.now();
    const rate = this.faults.hashBytesPerSec;
    if (rate !== undefined && rate > 0) {
      this.hashFreeAt = Math.max(this.hashFreeAt, at) + (this.layout.pieceSize(piece) * 1000) / rate;
      at = this.hashFreeAt;
    }
    at += this.faults.hashDelayMs ?? 0;
    return this.later(at - this.clock.now(), () => {
      const ok = this.check(piece) && !(this.faults.failVerify?.(piece) ?? false);
      if (!ok) this.failedVerifies++;
      return Promise.resolve(ok);
    });
  }

  close(): Promise<void> {
    this.clock.noteAsync();
    this.closed = true;
    return Promise.resolve();
  }

  private check(piece: number): boolean {
    const m = this.metainfo;
    const start = piece * m.pieceLength;
    const bytes = this.data.subarray(start, start + this.layout.pieceSize(piece));
    const sha1 = m.pieces ? createHash('sha1').update(bytes).digest() : Buffer.alloc(20);
    let sha256: Buffer = Buffer.alloc(32);
    if (m.infoHashV2) {
      const p = this.layout.v2Piece(piece);
      if (!p) return false;
      sha256 = dataRoot(bytes.subarray(0, p.dataBytes), p.leaves);
    }
    return pieceMatches(m, this.layout, piece, sha1, sha256);
  }

  /** Runs `f` now (no delay) or in a clock event `ms` from now; the result settles the promise. */
  private later<T>(ms: number, f: () => Promise<T>): Promise<T> {
    if (ms <= 0) return f();
    return new Promise<T>((resolve, reject) => {
      this.clock.after(ms, () => {
        this.clock.noteAsync();
        f().then(resolve, reject);
      });
    });
  }
}

/** The `openStore` dependency of a `Torrent`, for a store made up front. */
export function openerFor(store: MemoryPieceStore): (m: Metainfo) => Promise<{ store: PieceStore; have: Bitfield }> {
  return (m) => {
    if (m !== store.metainfo && !m.infoBytes.equals(store.metainfo.infoBytes)) {
      return Promise.reject(new Error('the store was made for another torrent'));
    }
    const have = new Bitfield(m.pieceCount, store.initialHave.bytes);
    return Promise.resolve({ store, have });
  };
}

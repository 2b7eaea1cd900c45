/**
 * The node runtime's piece store: blocks go to disk with positional, vectored writes (FileStorage),
 * pieces are checked in the worker pool (which reads them back from the page cache), and blocks
 * served to peers come from a small cache of whole pieces, so a 1 MiB piece is one read instead of 64.
 *
 * Writes are gathered per piece (the blocks themselves, never copied) and go out as one vectored
 * write per contiguous run when the piece is complete, when it has waited `FLUSH_DELAY_MS`, or when
 * more than `MAX_HELD_BYTES` are held in all — 64 block writes become one system call, and memory
 * stays bounded whatever the number of pieces in progress.
 */
import type { Metainfo } from '../../metainfo/types.js';
import { FileStorage } from '../../storage/file-storage.js';
import type { HashPool } from '../../storage/hash-pool.js';
import { PieceLayout, pieceMatches, pieceTask } from '../../storage/piece-layout.js';
import { diskPath, verifyTorrent } from '../../storage/verify.js';
import { Bitfield } from '../../torrent/bitfield.js';
import type { PieceStore } from '../../torrent/ports.js';

const READ_CACHE_PIECES = 16;
const MAX_HELD_BYTES = 16 * 1024 * 1024;
const FLUSH_DELAY_MS = 200;

interface HeldPiece {
  blocks: { begin: number; data: Buffer }[];
  bytes: number;
  waiters: { resolve: () => void; reject: (e: unknown) => void }[];
  timer: NodeJS.Timeout | undefined;
}

export class NodePieceStore implements PieceStore {
  private readonly files: FileStorage;
  private readonly layout: PieceLayout;
  private readonly sources: (string | null)[];
  private readonly cache = new Map<number, Promise<Buffer>>();
  private readonly held = new Map<number, HeldPiece>();
  private heldBytes = 0;

  constructor(
    private readonly m: Metainfo,
    dir: string,
    private readonly pool: HashPool,
  ) {
    this.files = new FileStorage(m, dir);
    this.layout = PieceLayout.of(m);
    this.sources = m.files.map((f) => (f.pad ? null : diskPath(dir, f.path)));
  }

  write(piece: number, begin: number, data: Buffer): Promise<void> {
    this.cache.delete(piece);
    let h = this.held.get(piece);
    if (!h) {
      h = { blocks: [], bytes: 0, waiters: [], timer: undefined };
      this.held.set(piece, h);
    }
    h.blocks.push({ begin, data });
    h.bytes += data.length;
    this.heldBytes += data.length;
    const done = new Promise<void>((resolve, reject) => h.waiters.push({ resolve, reject }));
    if (h.bytes >= this.layout.pieceSize(piece)) {
      void this.flush(piece);
    } else if (this.heldBytes > MAX_HELD_BYTES) {
      // Oldest pieces first (Map keeps insertion order).
      for (const p of [...this.held.keys()]) {
        if (this.heldBytes <= MAX_HELD_BYTES / 2) break;
        void this.flush(p);
      }
    } else if (!h.timer) {
      h.timer = setTimeout(() => void this.flush(piece), FLUSH_DELAY_MS);
    }
    return done;
  }

  /** Writes what is held of a piece: one vectored write per run of adjacent blocks. */
  private flush(piece: number): Promise<void> {
    const h = this.held.get(piece);
    if (!h) return Promise.resolve();
    this.held.delete(piece);
    if (h.timer) clearTimeout(h.timer);
    this.heldBytes -= h.bytes;
    h.blocks.sort((a, b) => a.begin - b.begin);
    const writes: Promise<void>[] = [];
    let runStart = 0;
    for (let i = 1; i <= h.blocks.length; i++) {
      const prev = h.blocks[i - 1]!;
      const cur = h.blocks[i];
      if (cur && cur.begin === prev.begin + prev.data.length) continue;
      const run = h.blocks.slice(runStart, i);
      writes.push(this.files.writev(piece, run[0]!.begin, run.map((b) => b.data)));
      runStart = i;
    }
    return Promise.all(writes).then(
      () => h.waiters.forEach((w) => w.resolve()),
      (e: unknown) => h.waiters.forEach((w) => w.reject(e)),
    );
  }

  async read(piece: number, begin: number, length: number): Promise<Buffer> {
    let whole = this.cache.get(piece);
    if (!whole) {
      whole = this.files.read(piece, 0, this.layout.pieceSize(piece));
      whole.catch(() => this.cache.delete(piece));
      this.cache.set(piece, whole);
      if (this.cache.size > READ_CACHE_PIECES) this.cache.delete(this.cache.keys().next().value!);
    } else {
      // Refresh its place in the LRU.
      this.cache.delete(piece);
      this.cache.set(piece, whole);
    }
    return (await whole).subarray(begin, begin + length);
  }

  async verify(piece: number): Promise<boolean> {
    const task = pieceTask(this.layout, piece, (f) => this.sources[f]!, this.m.infoHashV2 !== undefined);
    const r = await this.pool.run([task], this.m.pieces !== undefined);
    if (r.status[0] !== 0) return false;
    return pieceMatches(this.m, this.layout, piece, r.sha1.subarray(0, 20), r.sha256.subarray(0, 32));
  }

  async close(): Promise<void> {
    await Promise.all([...this.held.keys()].map((p) => this.flush(p)));
    this.cache.clear();
    await this.files.createEmptyFiles().catch(() => {});
    await this.files.close();
  }

  /** Creates the zero-length files (nothing else ever writes them). */
  createEmptyFiles(): Promise<void> {
    return this.files.createEmptyFiles();
  }
}

/** Opens the store for a download folder and checks what is already there (resume). */
export async function openNodeStore(
  m: Metainfo,
  dir: string,
  pool: HashPool,
  onProgress?: (checked: number, total: number) => void,
): Promise<{ store: NodePieceStore; have: Bitfield }> {
  const report = await verifyTorrent(m, dir, { pool, ...(onProgress ? { onProgress } : {}) });
  const have = new Bitfield(m.pieceCount);
  const bad = new Set([...report.badPieces, ...report.missingPieces]);
  for (let i = 0; i < m.pieceCount; i++) if (!bad.has(i)) have.set(i);
  return { store: new NodePieceStore(m, dir, pool), have };
}

/**
 * The node runtime's piece store: blocks go to disk with positional writes (FileStorage), pieces are
 * checked in the worker pool (which reads them back from the page cache), and blocks served to peers
 * come from a small cache of whole pieces, so a 1 MiB piece is one read instead of 64.
 */
import type { Metainfo } from '../../metainfo/types.js';
import { FileStorage } from '../../storage/file-storage.js';
import type { HashPool } from '../../storage/hash-pool.js';
import { PieceLayout, pieceMatches, pieceTask } from '../../storage/piece-layout.js';
import { diskPath, verifyTorrent } from '../../storage/verify.js';
import { Bitfield } from '../../torrent/bitfield.js';
import type { PieceStore } from '../../torrent/ports.js';

const READ_CACHE_PIECES = 16;

export class NodePieceStore implements PieceStore {
  private readonly files: FileStorage;
  private readonly layout: PieceLayout;
  private readonly sources: (string | null)[];
  private readonly cache = new Map<number, Promise<Buffer>>();

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
    return this.files.write(piece, begin, data);
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

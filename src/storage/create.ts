/**
 * Creating a torrent from a file or folder: scan, lay out, hash in the worker pool, build, and parse
 * the result back as a self-check (a torrent we make must be one we accept).
 */
import { layoutFiles } from '../metainfo/layout.js';
import type { LayoutInput, PadPolicy } from '../metainfo/layout.js';
import { BLOCK_SIZE, isPowerOfTwo, rootFromPieceLayer } from '../metainfo/merkle.js';
import { autoPieceLength } from '../metainfo/piece-length.js';
import { buildTorrent } from '../metainfo/build.js';
import { checkPath } from '../metainfo/paths.js';
import { MAX_PIECES, parseTorrent } from '../metainfo/parse.js';
import type { Metainfo, TorrentFile, TorrentVersion } from '../metainfo/types.js';
import { ArgumentError } from '../util/errors.js';
import { StorageError } from './errors.js';
import { HashPool, hashPieces } from './hash-pool.js';
import type { PieceTask } from './hash-protocol.js';
import { PieceLayout, pieceTask } from './piece-layout.js';
import { scanPath } from './scan.js';

export interface CreateOptions {
  /** 'v1' (default, widest compatibility), 'v2' (BEP 52) or 'hybrid' (both, with BEP 47 pad files). */
  version?: TorrentVersion;
  /** Bytes per piece, a power of two of at least 16 KiB; chosen from the size when left out. */
  pieceLength?: number;
  /** The torrent's name (default: the file or folder name). */
  name?: string;
  /** Tracker tiers (BEP 12). */
  trackers?: string[][];
  webSeeds?: string[];
  private?: boolean;
  comment?: string;
  /** Seconds since the epoch. Left out unless given, so the output is deterministic. */
  creationDate?: number;
  createdBy?: string;
  /** BEP 27-style `source` tag in the info dictionary. */
  source?: string;
  /** A pool to hash in (one is made and closed when not given). */
  pool?: HashPool;
  onProgress?: (hashedBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

export interface CreateResult {
  torrent: Buffer;
  metainfo: Metainfo;
  /** Files left out (broken links, special files). */
  warnings: string[];
}

export const MIN_PIECE_LENGTH = BLOCK_SIZE;

export async function createTorrent(path: string, opts: CreateOptions = {}): Promise<CreateResult> {
  const version = opts.version ?? 'v1';
  const scan = await scanPath(path);
  const name = opts.name ?? scan.name;
  checkPath([name], 'the torrent name');
  const total = scan.files.reduce((n, f) => n + f.length, 0);
  if (total === 0) throw new StorageError('ERR_STORAGE_EMPTY', 'scan', `nothing to share: ${path} holds no data`, path);

  const pieceLength = opts.pieceLength ?? autoPieceLength(total);
  if (!isPowerOfTwo(pieceLength) || pieceLength < MIN_PIECE_LENGTH) {
    throw new ArgumentError(`piece length ${pieceLength} must be a power of two of at least ${MIN_PIECE_LENGTH}`);
  }

  const inputs: LayoutInput[] = scan.files.map((f) => ({
    path: scan.multiFile ? f.path : [name],
    length: f.length,
    attr: f.executable ? 'x' : '',
    pad: false,
  }));
  // libtorrent pads the last file of a hybrid too, when the torrent lists more than one file; we
  // follow it so the same folder gives the same info-hash.
  const policy: PadPolicy = version === 'v1' ? 'none' : version === 'hybrid' && scan.files.length > 1 ? 'align-tail' : 'align';
  const { files, total: layoutLength } = layoutFiles(inputs, pieceLength, scan.multiFile ? [name] : [], policy);
  const sources: (string | null)[] = [];
  let r = 0;
  for (const f of files) sources.push(f.pad ? null : scan.files[r++]!.source);

  const layout = new PieceLayout(files, pieceLength, layoutLength);
  if (layout.pieceCount > MAX_PIECES) throw new ArgumentError(`${layout.pieceCount} pieces is too many; choose a larger piece length`);
  const wantV1 = version !== 'v2';
  const wantV2 = version !== 'v1';

  const taskOf = (i: number): PieceTask => pieceTask(layout, i, (f) => sources[f]!, wantV2);

  const sha1 = wantV1 ? Buffer.alloc(layout.pieceCount * 20) : undefined;
  const sha256 = wantV2 ? Buffer.alloc(layout.pieceCount * 32) : undefined;
  const pool = opts.pool ?? new HashPool();
  let hashed = 0;
  try {
    await hashPieces(
      pool,
      layout.pieceCount,
      taskOf,
      wantV1,
      (d) => {
        if (d.missing) {
          throw new StorageError('ERR_STORAGE_CHANGED', 'read', `a file changed while it was being hashed (piece ${d.index})`, path);
        }
        sha1?.set(d.sha1, d.index * 20);
        sha256?.set(d.sha256, d.index * 32);
        hashed += layout.pieceSize(d.index);
        opts.onProgress?.(hashed, layoutLength);
      },
      opts.signal ? { signal: opts.signal } : {},
    );
  } finally {
    if (opts.pool) pool.release();
    else await pool.close();
  }

  let finalFiles: TorrentFile[] = files;
  const pieceLayers = new Map<number, Buffer>();
  if (sha256) {
    finalFiles = files.map((f, i) => {
      if (f.pad || f.length === 0) return f;
      const { first, end } = layout.filePieces(i);
      const layer = sha256.subarray(first * 32, end * 32);
      if (f.length > pieceLength) pieceLayers.set(i, Buffer.from(layer));
      return { ...f, piecesRoot: Buffer.from(rootFromPieceLayer(layer, f.length, pieceLength)) };
    });
  }

  const torrent = buildTorrent(
    finalFiles,
    { ...(sha1 ? { pieces: sha1 } : {}), pieceLayers },
    {
      version,
      name,
      pieceLength,
      multiFile: scan.multiFile,
      ...(opts.trackers ? { trackers: opts.trackers } : {}),
      ...(opts.webSeeds ? { webSeeds: opts.webSeeds } : {}),
      ...(opts.private ? { private: true } : {}),
      ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
      createdBy: opts.createdBy ?? 'shoal',
      ...(opts.creationDate !== undefined ? { creationDate: opts.creationDate } : {}),
      ...(opts.source !== undefined ? { source: opts.source } : {}),
    },
  );
  return { torrent, metainfo: parseTorrent(torrent), warnings: scan.warnings };
}

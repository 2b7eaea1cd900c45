/**
 * Checking data on disk against a torrent: every piece is read and hashed in the worker pool and
 * compared with its v1 hash, its v2 hash, or both (hybrid: a piece is good only when both agree, so a
 * torrent whose halves disagree cannot pass). A piece whose bytes are not all on disk is "missing";
 * one whose bytes are there but hash wrong is "bad".
 */
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Metainfo } from '../metainfo/types.js';
import { HashPool, hashPieces } from './hash-pool.js';
import type { PieceTask } from './hash-protocol.js';
import { PieceLayout, pieceMatches, pieceTask } from './piece-layout.js';

export interface VerifyReport {
  complete: boolean;
  pieceCount: number;
  piecesGood: number;
  piecesBad: number;
  piecesMissing: number;
  badPieces: number[];
  missingPieces: number[];
  files: { path: string; length: number; complete: boolean }[];
}

export interface VerifyOptions {
  pool?: HashPool;
  /** `dir` is the torrent's own folder (files directly in it), not the folder that holds it. */
  contentFolder?: boolean;
  onProgress?: (checkedBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

/** Where a torrent file lives under the download folder. */
export function diskPath(dir: string, path: readonly string[]): string {
  return join(dir, ...path);
}

export async function verifyTorrent(m: Metainfo, dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const layout = PieceLayout.of(m);
  const useV1 = m.pieces !== undefined;
  const useV2 = m.infoHashV2 !== undefined;
  const strip = opts.contentFolder === true && m.multiFile;
  const sources = m.files.map((f) => (f.pad ? null : diskPath(dir, strip ? f.path.slice(1) : f.path)));
  // 0 unknown, 1 good, 2 bad, 3 missing
  const state = new Uint8Array(layout.pieceCount);

  const taskOf = (i: number): PieceTask => pieceTask(layout, i, (f) => sources[f]!, useV2);

  const pool = opts.pool ?? new HashPool();
  let checked = 0;
  try {
    await hashPieces(
      pool,
      layout.pieceCount,
      taskOf,
      useV1,
      (d) => {
        const good = !d.missing && pieceMatches(m, layout, d.index, d.sha1, d.sha256);
        state[d.index] = d.missing ? 3 : good ? 1 : 2;
        checked += layout.pieceSize(d.index);
        opts.onProgress?.(checked, m.layoutLength);
      },
      opts.signal ? { signal: opts.signal } : {},
    );
  } finally {
    if (opts.pool) pool.release();
    else await pool.close();
  }

  const badPieces: number[] = [];
  const missingPieces: number[] = [];
  state.forEach((s, i) => {
    if (s === 2) badPieces.push(i);
    else if (s === 3) missingPieces.push(i);
  });
  const files = [];
  for (let i = 0; i < m.files.length; i++) {
    const f = m.files[i]!;
    if (f.pad) continue;
    let complete: boolean;
    if (f.length === 0) {
      complete = await stat(sources[i]!).then((s) => s.isFile(), () => false);
    } else {
      const { first, end } = layout.filePieces(i);
      complete = true;
      for (let p = first; p < end && complete; p++) complete = state[p] === 1;
    }
    files.push({ path: f.path.join('/'), length: f.length, complete });
  }
  const piecesGood = layout.pieceCount - badPieces.length - missingPieces.length;
  return {
    complete: badPieces.length === 0 && missingPieces.length === 0 && files.every((f) => f.complete),
    pieceCount: layout.pieceCount,
    piecesGood,
    piecesBad: badPieces.length,
    piecesMissing: missingPieces.length,
    badPieces,
    missingPieces,
    files,
  };
}

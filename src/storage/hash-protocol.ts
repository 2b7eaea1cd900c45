/**
 * Messages between the hash pool and its workers. Kept apart so both sides share one definition.
 *
 * A job is a batch of pieces. For each piece the worker reads its segments from disk (pad segments are
 * zeros), then computes what is asked: SHA-1 over the whole piece (v1) and/or the SHA-256 merkle root
 * over the first `v2Bytes` bytes as a tree of `v2Leaves` leaves (v2; pad bytes are not data).
 */
export interface Segment {
  /** Absolute path to read from, or null for zeros (a pad file). */
  path: string | null;
  offset: number;
  length: number;
}

export interface PieceTask {
  segments: Segment[];
  /** Leaf count of this piece's v2 subtree (0: no v2 hash wanted). */
  v2Leaves: number;
  /** How many bytes at the start of the piece are file data for the v2 hash. */
  v2Bytes: number;
}

export interface HashJob {
  id: number;
  pieces: PieceTask[];
  sha1: boolean;
}

export const PIECE_OK = 0;
export const PIECE_MISSING = 1;

export interface HashJobResult {
  id: number;
  /** 20 bytes per piece (zeros when not asked or missing). */
  sha1: Uint8Array;
  /** 32 bytes per piece (zeros when not asked or missing). */
  sha256: Uint8Array;
  /** PIECE_OK or PIECE_MISSING per piece. */
  status: Uint8Array;
  /** Set when the job itself failed (a bug, or an unexpected I/O error). */
  error?: string;
}

export type WorkerRequest = { type: 'job'; job: HashJob } | { type: 'release' };

/**
 * Choosing a piece length when the user does not: a power of two from 16 KiB to 16 MiB, the smallest
 * that keeps the torrent at or under ~2,000 pieces (so between ~1,000 and 2,000 for mid-sized content,
 * as libtorrent and mktorrent aim for): small enough for fine-grained sharing, large enough that the
 * metadata stays small.
 */
export const MIN_AUTO_PIECE_LENGTH = 16 * 1024;
export const MAX_AUTO_PIECE_LENGTH = 16 * 1024 * 1024;
const TARGET_MAX_PIECES = 2000;

export function autoPieceLength(totalBytes: number): number {
  let length = MIN_AUTO_PIECE_LENGTH;
  while (length < MAX_AUTO_PIECE_LENGTH && Math.ceil(totalBytes / length) > TARGET_MAX_PIECES) length *= 2;
  return length;
}

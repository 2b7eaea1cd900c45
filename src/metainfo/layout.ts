/**
 * Laying a torrent's files end to end in one byte space, with pad files (BEP 47) where alignment is
 * wanted. Shared by the parser (v2 torrents align implicitly) and the creator (hybrid torrents carry
 * explicit pad files), so both agree on which piece holds which bytes.
 */
import { MetainfoError } from './errors.js';
import type { TorrentFile } from './types.js';

export interface LayoutInput {
  path: string[];
  length: number;
  attr: string;
  pad: boolean;
  piecesRoot?: Buffer;
}

/**
 * 'none': files back to back (v1).
 * 'align': a pad after every file that does not end on a piece boundary, except the last (v2's
 *   implicit alignment).
 * 'align-tail': the same, the last file included (what libtorrent writes in hybrid torrents, so that
 *   the v1 layout is a whole number of pieces; we match it so the same folder gives the same info-hash).
 */
export type PadPolicy = 'none' | 'align' | 'align-tail';

export function padFile(length: number): LayoutInput {
  return { path: ['.pad', String(length)], length, attr: 'p', pad: true };
}

export function layoutFiles(
  input: readonly LayoutInput[],
  pieceLength: number,
  prefix: readonly string[],
  policy: PadPolicy,
): { files: TorrentFile[]; total: number } {
  const files: TorrentFile[] = [];
  let offset = 0;
  const add = (f: LayoutInput): void => {
    files.push({
      path: [...prefix, ...f.path],
      length: f.length,
      offset,
      pad: f.pad,
      attr: f.attr,
      ...(f.piecesRoot ? { piecesRoot: f.piecesRoot } : {}),
    });
    offset += f.length;
    if (!Number.isSafeInteger(offset)) throw new MetainfoError('ERR_METAINFO_LIMIT', 'total length is too large');
  };
  input.forEach((f, i) => {
    add(f);
    const tail = offset % pieceLength;
    if (tail !== 0 && (policy === 'align-tail' || (policy === 'align' && i < input.length - 1))) add(padFile(pieceLength - tail));
  });
  return { files, total: offset };
}

/** Index of the file holding layout byte `offset` (files sorted by offset; empty files never hold bytes). */
export function fileAt(files: readonly TorrentFile[], offset: number): number {
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (files[mid]!.offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  // Step over empty files sitting at the same offset.
  while (lo < files.length - 1 && files[lo]!.offset + files[lo]!.length <= offset) lo++;
  return lo;
}

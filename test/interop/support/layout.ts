/**
 * Which pieces hold which bytes, derived from libtorrent's own view of a torrent (lt.py info): its file
 * list in torrent order, pad files included (libtorrent lists BEP 47 pad files of hybrid torrents and
 * synthesises the implicit ones of v2 torrents), laid end to end. Pieces are the fixed-size slices of
 * that byte space, whatever the torrent version.
 */
import type { LtFile, LtInfo } from './tools.js';

export interface PlacedFile extends LtFile {
  /** Offset of the file's first byte in the layout. */
  start: number;
}

export interface Layout {
  pieceLength: number;
  pieceCount: number;
  /** Non-pad files in torrent order, with their layout offsets. */
  files: PlacedFile[];
  byRelPath: Map<string, PlacedFile>;
}

export function layoutOf(info: LtInfo): Layout {
  const files: PlacedFile[] = [];
  let offset = 0;
  for (const f of info.files) {
    if (!f.pad) files.push({ ...f, start: offset });
    offset += f.length;
  }
  return {
    pieceLength: info.pieceLength,
    pieceCount: info.pieceCount,
    files,
    byRelPath: new Map(files.map((f) => [f.relPath, f])),
  };
}

/** The pieces overlapping the file's bytes (none for an empty file). */
export function piecesOfFile(layout: Layout, f: PlacedFile): number[] {
  if (f.length === 0) return [];
  const first = Math.floor(f.start / layout.pieceLength);
  const last = Math.floor((f.start + f.length - 1) / layout.pieceLength);
  return range(first, last + 1);
}

/** The piece holding byte `offset` of the file `relPath`. */
export function pieceAt(layout: Layout, relPath: string, offset: number): number {
  const f = layout.byRelPath.get(relPath);
  if (!f) throw new Error(`${relPath} is not in the torrent`);
  if (offset < 0 || offset >= f.length) throw new Error(`offset ${offset} is outside ${relPath} (${f.length} bytes)`);
  return Math.floor((f.start + offset) / layout.pieceLength);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

export function sortedUnique(xs: Iterable<number>): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}

/**
 * The placement rules the derivation relies on, checked independently of libtorrent's pad entries:
 * v1 files lie back to back in torrent order; v2 and hybrid files each start on a piece boundary.
 * Returns a list of violations (empty when the layout follows the rules).
 */
export function layoutRuleViolations(layout: Layout, version: 'v1' | 'v2' | 'hybrid'): string[] {
  const problems: string[] = [];
  let concat = 0;
  let aligned = 0;
  for (const f of layout.files) {
    if (version === 'v1') {
      if (f.start !== concat) problems.push(`${f.relPath} starts at ${f.start}, expected ${concat} (files back to back)`);
    } else if (f.length > 0 && f.start !== aligned) {
      problems.push(`${f.relPath} starts at ${f.start}, expected ${aligned} (next piece boundary)`);
    }
    concat += f.length;
    aligned += Math.ceil(f.length / layout.pieceLength) * layout.pieceLength;
  }
  const expectedPieces = Math.ceil((version === 'v1' ? concat : aligned) / layout.pieceLength);
  if (expectedPieces !== layout.pieceCount) problems.push(`piece count ${layout.pieceCount}, expected ${expectedPieces}`);
  return problems;
}

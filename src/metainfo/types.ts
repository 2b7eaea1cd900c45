/**
 * The one file-tree model shared by v1, v2 and hybrid torrents.
 *
 * Files are listed in torrent order and laid end to end in one byte space ("the layout"); pad files
 * (BEP 47) occupy layout bytes but never exist on disk. For a v2-only torrent, where every file starts
 * on a piece boundary without explicit pad files, the parser inserts the same pad entries, so pieces
 * are always the fixed-size slices [i·pieceLength, (i+1)·pieceLength) of the layout, whatever the version.
 */

export type TorrentVersion = 'v1' | 'v2' | 'hybrid';

export interface TorrentFile {
  /** Path relative to the download folder, torrent name first for multi-file torrents. */
  readonly path: readonly string[];
  readonly length: number;
  /** Byte offset of the file in the layout. */
  readonly offset: number;
  /** A BEP 47 pad file: zeros that are hashed but never written. */
  readonly pad: boolean;
  /** BEP 47 attributes as in the torrent ('x' executable, 'h' hidden, 'p' pad, 'l' symlink). */
  readonly attr: string;
  /** v2 merkle root of the file (absent for v1-only torrents and for empty files). */
  readonly piecesRoot?: Buffer;
}

export interface Metainfo {
  readonly version: TorrentVersion;
  /** The torrent's name: the file name of a single-file torrent, the folder name otherwise. */
  readonly name: string;
  readonly multiFile: boolean;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** Bytes of real data (pad files excluded). */
  readonly length: number;
  /** Bytes of the layout (pad files included). */
  readonly layoutLength: number;
  /** All files in torrent order, pad files included. */
  readonly files: readonly TorrentFile[];
  /** SHA-1 of the info dictionary (v1 and hybrid). */
  readonly infoHash?: Buffer;
  /** SHA-256 of the info dictionary (v2 and hybrid). */
  readonly infoHashV2?: Buffer;
  /** v1 piece hashes, 20 bytes each (v1 and hybrid). */
  readonly pieces?: Buffer;
  /** v2 piece layers by pieces root (hex); present for files longer than one piece when known. */
  readonly pieceLayers?: ReadonlyMap<string, Buffer>;
  /** Tracker tiers (BEP 12); a plain `announce` becomes one tier of one. */
  readonly announce: readonly (readonly string[])[];
  /** Web seeds (BEP 19 `url-list`). */
  readonly webSeeds: readonly string[];
  readonly private: boolean;
  readonly comment?: string;
  readonly createdBy?: string;
  readonly creationDate?: number;
  /** The original bytes of the info dictionary (what the info-hashes are computed over). */
  readonly infoBytes: Buffer;
}

/** The files a user sees: pad files left out. */
export function realFiles(m: Metainfo): TorrentFile[] {
  return m.files.filter((f) => !f.pad);
}

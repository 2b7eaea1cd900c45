import { ShoalError } from '../util/errors.js';

/** Stable codes for why a torrent or magnet link was refused. */
export type MetainfoErrorCode =
  | 'ERR_METAINFO_SHAPE' // a key is missing or has the wrong type
  | 'ERR_METAINFO_VALUE' // a value is out of range (negative length, bad piece length, ...)
  | 'ERR_METAINFO_PATH' // a file path we refuse to write (traversal, absolute, reserved, too long)
  | 'ERR_METAINFO_PIECES' // piece hashes do not match the declared lengths
  | 'ERR_METAINFO_LAYERS' // v2 piece layers do not match the merkle roots
  | 'ERR_METAINFO_HYBRID' // the v1 and v2 halves of a hybrid torrent disagree
  | 'ERR_METAINFO_LIMIT' // too many files, pieces or bytes
  | 'ERR_MAGNET'; // a magnet link we cannot use

/** A `.torrent`, info dictionary or magnet link that shoal refuses, with the reason in one line. */
export class MetainfoError extends ShoalError {
  constructor(code: MetainfoErrorCode, message: string) {
    super(code, message);
  }
}

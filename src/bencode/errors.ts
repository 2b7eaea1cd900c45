import { ShoalError } from '../util/errors.js';

/** Why a bencoded buffer was refused. Stable, for tests and callers that branch on it. */
export type BencodeErrorReason =
  | 'unexpected-end'
  | 'unexpected-byte'
  | 'non-canonical-integer'
  | 'integer-too-large'
  | 'string-too-long'
  | 'unsorted-keys'
  | 'duplicate-key'
  | 'too-deep'
  | 'too-many-tokens'
  | 'trailing-bytes'
  | 'unencodable';

/** A bencode decode (or encode) failure; `offset` is the byte where the problem was found. */
export class BencodeError extends ShoalError {
  readonly offset: number;
  readonly reason: BencodeErrorReason;

  constructor(reason: BencodeErrorReason, offset: number, detail: string) {
    super('ERR_BENCODE', `invalid bencode at byte ${offset}: ${detail}`);
    this.offset = offset;
    this.reason = reason;
  }
}

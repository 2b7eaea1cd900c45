/**
 * shoal's public, typed library API. Everything a program needs to create, read and check torrents;
 * internal modules may change, this surface changes with care.
 *
 * ```ts
 * import { createTorrent, parseTorrent, verifyTorrent, magnetOf } from 'shoal';
 * const { torrent, metainfo } = await createTorrent('./photos', { version: 'hybrid' });
 * const report = await verifyTorrent(parseTorrent(torrent), '.');
 * ```
 */
export { ShoalError, ArgumentError } from './util/errors.js';

export { decode, decodePrefix, decodeWithSpans, encode, BencodeError, keyToUtf8, utf8Key } from './bencode/index.js';
export type { BencodeValue, BencodeDict, Encodable, DecodeLimits, Span, BencodeErrorReason } from './bencode/index.js';

export { parseTorrent, parseInfo } from './metainfo/parse.js';
export { buildTorrent, buildInfo } from './metainfo/build.js';
export type { BuildOptions, BuildHashes } from './metainfo/build.js';
export { parseMagnet, formatMagnet, magnetOf, isMagnet } from './metainfo/magnet.js';
export type { Magnet } from './metainfo/magnet.js';
export { MetainfoError } from './metainfo/errors.js';
export type { MetainfoErrorCode } from './metainfo/errors.js';
export { realFiles } from './metainfo/types.js';
export type { Metainfo, TorrentFile, TorrentVersion } from './metainfo/types.js';
export { autoPieceLength } from './metainfo/piece-length.js';

export { createTorrent } from './storage/create.js';
export type { CreateOptions, CreateResult } from './storage/create.js';
export { verifyTorrent } from './storage/verify.js';
export type { VerifyOptions, VerifyReport } from './storage/verify.js';
export { HashPool } from './storage/hash-pool.js';
export type { HashPoolOptions } from './storage/hash-pool.js';
export { PieceLayout } from './storage/piece-layout.js';
export { StorageError } from './storage/errors.js';
export type { StorageOp } from './storage/errors.js';
export { FileStorage } from './storage/file-storage.js';
export type { FileStorageOptions } from './storage/file-storage.js';

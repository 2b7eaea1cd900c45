/**
 * Test torrents made in memory: pseudo-random content from a seed, its v1 piece hashes (SHA-1), and
 * the `.torrent` built and parsed by the real metainfo code — so a simulated swarm runs on exactly
 * the Metainfo a user's file would give.
 */
import { createHash } from 'node:crypto';
import { buildTorrent } from '../../metainfo/build.js';
import { parseTorrent } from '../../metainfo/parse.js';
import type { Metainfo, TorrentFile } from '../../metainfo/types.js';
import type { SimRandom } from './random.js';

export interface SimTorrent {
  metainfo: Metainfo;
  /** The whole content (single file: the file's bytes). */
  content: Buffer;
  torrentBytes: Buffer;
}

export interface SimTorrentOptions {
  lengthBytes: number;
  pieceLength: number;
  name?: string;
  private?: boolean;
}

/** A single-file v1 torrent of `lengthBytes` random bytes. */
export function makeSimTorrent(rng: SimRandom, o: SimTorrentOptions): SimTorrent {
  const content = rng.bytes(o.lengthBytes);
  const pieceCount = Math.ceil(o.lengthBytes / o.pieceLength);
  const pieces = Buffer.alloc(pieceCount * 20);
  for (let i = 0; i < pieceCount; i++) {
    const piece = content.subarray(i * o.pieceLength, Math.min(o.lengthBytes, (i + 1) * o.pieceLength));
    createHash('sha1').update(piece).digest().copy(pieces, i * 20);
  }
  const name = o.name ?? `sim-${rng.seed.toString(16)}.bin`;
  const files: TorrentFile[] = [{ path: [name], length: o.lengthBytes, offset: 0, pad: false, attr: '' }];
  const torrentBytes = buildTorrent(files, { pieces }, { version: 'v1', name, pieceLength: o.pieceLength, multiFile: false, private: o.private ?? false });
  return { metainfo: parseTorrent(torrentBytes), content, torrentBytes };
}

/**
 * Building `.torrent` bytes from a laid-out file list and its hashes (pure: the hashing happens in
 * storage). The output is canonical bencode and deterministic: the same files, hashes and options
 * give the same bytes; there is no creation date unless one is given.
 */
import { encode, utf8Key } from '../bencode/index.js';
import type { Encodable } from '../bencode/index.js';
import { ArgumentError } from '../util/errors.js';
import { HASH_SIZE } from './merkle.js';
import type { TorrentFile, TorrentVersion } from './types.js';

export interface BuildOptions {
  version: TorrentVersion;
  name: string;
  pieceLength: number;
  /** True for a folder (files under `name/`), false for a single file. */
  multiFile: boolean;
  /** Tracker tiers (BEP 12). */
  trackers?: readonly (readonly string[])[];
  webSeeds?: readonly string[];
  private?: boolean;
  comment?: string;
  createdBy?: string;
  /** Seconds since the epoch; left out unless given. */
  creationDate?: number;
  /** Extra info-dictionary keys (e.g. BEP 27's `source`), for callers that need a distinct info-hash. */
  source?: string;
}

export interface BuildHashes {
  /** v1 piece hashes, 20 bytes each, over the layout including pad files. */
  pieces?: Buffer;
  /** v2 piece layers by file index (only files longer than one piece). */
  pieceLayers?: ReadonlyMap<number, Buffer>;
}

/** Files relative to the torrent root (the torrent name removed for a multi-file torrent). */
function innerPath(f: TorrentFile, multiFile: boolean): readonly string[] {
  return multiFile ? f.path.slice(1) : f.path;
}

type Tree = Map<string, Tree | Map<string, Encodable>>;

function fileTree(files: readonly TorrentFile[], multiFile: boolean): Tree {
  const root: Tree = new Map();
  for (const f of files) {
    if (f.pad) continue;
    const path = innerPath(f, multiFile);
    let node = root;
    for (const c of path.slice(0, -1)) {
      const key = utf8Key(c);
      let next = node.get(key) as Tree | undefined;
      if (!next) {
        next = new Map();
        node.set(key, next);
      }
      node = next;
    }
    const leaf: Record<string, Encodable> = { length: f.length };
    if (f.length > 0) {
      if (!f.piecesRoot || f.piecesRoot.length !== HASH_SIZE) throw new ArgumentError(`file ${path.join('/')} has no pieces root`);
      leaf['pieces root'] = f.piecesRoot;
    }
    if (f.attr) leaf.attr = f.attr;
    node.set(utf8Key(path[path.length - 1]!), new Map([['', leaf]]));
  }
  return root;
}

export function buildInfo(files: readonly TorrentFile[], hashes: BuildHashes, opts: BuildOptions): Record<string, Encodable | undefined> {
  const v1 = opts.version !== 'v2';
  const v2 = opts.version !== 'v1';
  if (v1 && !hashes.pieces) throw new ArgumentError('v1 pieces are required');
  const info: Record<string, Encodable | undefined> = {
    name: opts.name,
    'piece length': opts.pieceLength,
    private: opts.private ? 1 : undefined,
    source: opts.source,
  };
  if (v1) {
    info.pieces = hashes.pieces;
    if (opts.multiFile) {
      info.files = files.map((f) => ({
        length: f.length,
        path: [...innerPath(f, true)],
        attr: f.attr || undefined,
      }));
    } else {
      const only = files[0]!;
      info.length = only.length;
      if (only.attr) info.attr = only.attr;
    }
  }
  if (v2) {
    info['meta version'] = 2;
    info['file tree'] = fileTree(files, opts.multiFile);
  }
  return info;
}

export function buildTorrent(files: readonly TorrentFile[], hashes: BuildHashes, opts: BuildOptions): Buffer {
  const tiers = (opts.trackers ?? []).filter((t) => t.length > 0);
  let layers: Map<string, Encodable> | undefined;
  if (opts.version !== 'v1') {
    layers = new Map();
    files.forEach((f, i) => {
      const layer = hashes.pieceLayers?.get(i);
      if (layer && f.piecesRoot) layers!.set(f.piecesRoot.toString('latin1'), layer);
    });
  }
  const root: Record<string, Encodable | undefined> = {
    announce: tiers[0]?.[0],
    'announce-list': tiers.length > 1 || (tiers[0]?.length ?? 0) > 1 ? tiers.map((t) => [...t]) : undefined,
    comment: opts.comment,
    'created by': opts.createdBy,
    'creation date': opts.creationDate,
    info: buildInfo(files, hashes, opts),
    'piece layers': layers,
    'url-list': opts.webSeeds && opts.webSeeds.length > 0 ? [...opts.webSeeds] : undefined,
  };
  return encode(root);
}

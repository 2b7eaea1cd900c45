/**
 * Parsing `.torrent` files (BEP 3, 12, 19, 27, 47, 52) and bare info dictionaries (BEP 9 metadata)
 * into the shared `Metainfo` model. Everything here is pure and synchronous.
 *
 * Strictness: bencode is decoded strictly (canonical form), every required key is type-checked,
 * lengths must be safe integers, piece hashes must match the declared lengths, v2 layers must hash to
 * their roots, and a hybrid's two file lists must agree. Every refusal is a `MetainfoError` (or the
 * `BencodeError` underneath) with a one-line reason; nothing else escapes for any input.
 */
import { createHash } from 'node:crypto';
import { decodeWithSpans, decode, isDict } from '../bencode/index.js';
import type { BencodeDict, BencodeValue, DecodeLimits } from '../bencode/index.js';
import { MetainfoError } from './errors.js';
import type { MetainfoErrorCode } from './errors.js';
import { checkPath, decodeName } from './paths.js';
import { BLOCK_SIZE, HASH_SIZE, isPowerOfTwo, rootFromPieceLayer } from './merkle.js';
import type { Metainfo, TorrentFile, TorrentVersion } from './types.js';
import { layoutFiles } from './layout.js';
import type { LayoutInput } from './layout.js';

export const MAX_FILES = 1_000_000;
export const MAX_PIECES = 1 << 22; // libtorrent's default cap is 2^21; metadata for more is unwieldy
export const MAX_PIECE_LENGTH = 1 << 29; // 512 MiB
export const MAX_TORRENT_FILE_BYTES = 64 * 1024 * 1024;
const SHA1_SIZE = 20;

const TORRENT_DECODE_LIMITS: DecodeLimits = { maxDepth: 100, maxTokens: 3_000_000 };

function fail(code: MetainfoErrorCode, message: string): never {
  throw new MetainfoError(code, message);
}

function dictAt(d: BencodeDict, key: string, what: string): BencodeDict {
  const v = d.get(key);
  if (v === undefined) fail('ERR_METAINFO_SHAPE', `${what} has no "${key}"`);
  if (!isDict(v)) fail('ERR_METAINFO_SHAPE', `${what} "${key}" is not a dictionary`);
  return v;
}

function bytesAt(d: BencodeDict, key: string, what: string): Buffer {
  const v = d.get(key);
  if (v === undefined) fail('ERR_METAINFO_SHAPE', `${what} has no "${key}"`);
  if (!Buffer.isBuffer(v)) fail('ERR_METAINFO_SHAPE', `${what} "${key}" is not a byte string`);
  return v;
}

function lengthAt(d: BencodeDict, key: string, what: string): number {
  const v = d.get(key);
  if (v === undefined) fail('ERR_METAINFO_SHAPE', `${what} has no "${key}"`);
  if (typeof v === 'bigint') fail('ERR_METAINFO_LIMIT', `${what} "${key}" is too large (${v})`);
  if (typeof v !== 'number') fail('ERR_METAINFO_SHAPE', `${what} "${key}" is not an integer`);
  if (v < 0) fail('ERR_METAINFO_VALUE', `${what} "${key}" is negative (${v})`);
  return v;
}

function optionalText(d: BencodeDict, key: string): string | undefined {
  const v = d.get(key);
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

/** Prefers the `.utf-8` variant of a key (written by some clients next to a legacy-encoded one). */
function preferUtf8(d: BencodeDict, key: string): BencodeValue | undefined {
  return d.get(`${key}.utf-8`) ?? d.get(key);
}

function isPadName(components: readonly string[]): boolean {
  const last = components[components.length - 1] ?? '';
  return last.startsWith('_____padding_file_'); // BitComet's pre-BEP 47 convention
}

interface RawFile extends LayoutInput {
  path: string[]; // inside the torrent (without the torrent name)
  length: number;
  attr: string;
  pad: boolean;
  piecesRoot?: Buffer;
}

function parseAttr(d: BencodeDict): string {
  const v = d.get('attr');
  return Buffer.isBuffer(v) ? v.toString('latin1') : '';
}

function parseV1Files(info: BencodeDict): RawFile[] | undefined {
  const list = info.get('files');
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) fail('ERR_METAINFO_SHAPE', 'info "files" is not a list');
  if (list.length === 0) fail('ERR_METAINFO_SHAPE', 'info "files" is empty');
  if (list.length > MAX_FILES) fail('ERR_METAINFO_LIMIT', `more than ${MAX_FILES} files`);
  return list.map((entry, i) => {
    const what = `file ${i}`;
    if (!isDict(entry)) fail('ERR_METAINFO_SHAPE', `${what} is not a dictionary`);
    const length = lengthAt(entry, 'length', what);
    const rawPath = preferUtf8(entry, 'path');
    if (rawPath === undefined) fail('ERR_METAINFO_SHAPE', `${what} has no "path"`);
    if (!Array.isArray(rawPath)) fail('ERR_METAINFO_SHAPE', `${what} "path" is not a list`);
    const path = rawPath.map((c) => {
      if (!Buffer.isBuffer(c)) fail('ERR_METAINFO_SHAPE', `${what} "path" holds a non-string`);
      return decodeName(c, `${what} path`);
    });
    checkPath(path, what);
    const attr = parseAttr(entry);
    return { path, length, attr, pad: attr.includes('p') || isPadName(path) };
  });
}

function parseFileTree(tree: BencodeDict, prefix: string[], out: RawFile[]): void {
  if (tree.size === 0) fail('ERR_METAINFO_SHAPE', `"file tree" has an empty folder${prefix.length ? ` at ${prefix.join('/')}` : ''}`);
  for (const [key, node] of tree) {
    const name = decodeName(Buffer.from(key, 'latin1'), 'a "file tree" name');
    const path = [...prefix, name];
    const what = `"file tree" entry ${JSON.stringify(path.join('/'))}`;
    if (!isDict(node)) fail('ERR_METAINFO_SHAPE', `${what} is not a dictionary`);
    const leaf = node.get('');
    if (leaf === undefined) {
      parseFileTree(node, path, out);
      continue;
    }
    if (node.size !== 1) fail('ERR_METAINFO_SHAPE', `${what} is both a file and a folder`);
    if (!isDict(leaf)) fail('ERR_METAINFO_SHAPE', `${what} file entry is not a dictionary`);
    checkPath(path, what);
    if (out.length >= MAX_FILES) fail('ERR_METAINFO_LIMIT', `more than ${MAX_FILES} files`);
    const length = lengthAt(leaf, 'length', what);
    const attr = parseAttr(leaf);
    const file: RawFile = { path, length, attr, pad: false };
    if (length > 0) {
      const root = bytesAt(leaf, 'pieces root', what);
      if (root.length !== HASH_SIZE) fail('ERR_METAINFO_SHAPE', `${what} "pieces root" is not ${HASH_SIZE} bytes`);
      file.piecesRoot = root;
    }
    out.push(file);
  }
}

function checkUnique(files: readonly TorrentFile[]): void {
  const seen = new Set<string>();
  const folders = new Set<string>();
  for (const f of files) {
    if (f.pad) continue;
    const key = f.path.join('/');
    if (seen.has(key)) fail('ERR_METAINFO_PATH', `two files share the path ${JSON.stringify(key)}`);
    if (folders.has(key)) fail('ERR_METAINFO_PATH', `${JSON.stringify(key)} is both a file and a folder`);
    seen.add(key);
    for (let i = 1; i < f.path.length; i++) {
      const dir = f.path.slice(0, i).join('/');
      if (seen.has(dir)) fail('ERR_METAINFO_PATH', `${JSON.stringify(dir)} is both a file and a folder`);
      folders.add(dir);
    }
  }
}

/** Checks piece layers against the files' roots; returns them keyed by hex root. */
function parseLayers(
  value: BencodeValue | undefined,
  files: readonly TorrentFile[],
  pieceLength: number,
  required: boolean,
): Map<string, Buffer> | undefined {
  if (value === undefined && !required) return undefined;
  if (value === undefined) fail('ERR_METAINFO_LAYERS', 'the torrent has no "piece layers"');
  if (!isDict(value)) fail('ERR_METAINFO_SHAPE', '"piece layers" is not a dictionary');
  const layers = new Map<string, Buffer>();
  for (const f of files) {
    if (f.pad || !f.piecesRoot || f.length <= pieceLength) continue;
    const hex = f.piecesRoot.toString('hex');
    if (layers.has(hex)) continue; // identical files share a root and a layer
    const what = `the piece layer of ${JSON.stringify(f.path.join('/'))}`;
    const layer = value.get(f.piecesRoot.toString('latin1'));
    if (layer === undefined) fail('ERR_METAINFO_LAYERS', `${what} is missing`);
    if (!Buffer.isBuffer(layer)) fail('ERR_METAINFO_SHAPE', `${what} is not a byte string`);
    const expected = Math.ceil(f.length / pieceLength) * HASH_SIZE;
    if (layer.length !== expected) fail('ERR_METAINFO_LAYERS', `${what} has ${layer.length} bytes, expected ${expected}`);
    if (!rootFromPieceLayer(layer, f.length, pieceLength).equals(f.piecesRoot)) {
      fail('ERR_METAINFO_LAYERS', `${what} does not hash to the file's pieces root`);
    }
    layers.set(hex, layer);
  }
  return layers;
}

/** v1 and v2 must describe the same files, each v2 file starting on a piece boundary of the v1 layout. */
function checkHybrid(v1: readonly TorrentFile[], v2: readonly TorrentFile[], pieceLength: number): TorrentFile[] {
  const real = v1.filter((f) => !f.pad);
  if (real.length !== v2.length) {
    fail('ERR_METAINFO_HYBRID', `v1 lists ${real.length} files but v2 lists ${v2.length}`);
  }
  const merged: TorrentFile[] = [];
  let r = 0;
  for (const f of v1) {
    if (f.pad) {
      merged.push(f);
      continue;
    }
    const g = v2[r++]!;
    if (f.path.join('/') !== g.path.join('/') || f.length !== g.length) {
      fail('ERR_METAINFO_HYBRID', `v1 file ${JSON.stringify(f.path.join('/'))} does not match v2 file ${JSON.stringify(g.path.join('/'))}`);
    }
    if (f.length > 0 && f.offset % pieceLength !== 0) {
      fail('ERR_METAINFO_HYBRID', `file ${JSON.stringify(f.path.join('/'))} does not start on a piece boundary`);
    }
    merged.push({ ...f, ...(g.piecesRoot ? { piecesRoot: g.piecesRoot } : {}) });
  }
  return merged;
}

function parseAnnounce(root: BencodeDict): string[][] {
  const tiers: string[][] = [];
  const list = root.get('announce-list');
  if (Array.isArray(list)) {
    for (const tier of list) {
      if (!Array.isArray(tier)) continue;
      const urls = tier.filter((u): u is Buffer => Buffer.isBuffer(u) && u.length > 0).map((u) => u.toString('utf8'));
      if (urls.length > 0) tiers.push(urls);
    }
  }
  // BEP 12: announce-list, when present, supersedes announce.
  if (tiers.length === 0) {
    const single = optionalText(root, 'announce');
    if (single) tiers.push([single]);
  }
  return tiers;
}

function parseWebSeeds(root: BencodeDict): string[] {
  const v = root.get('url-list');
  if (Buffer.isBuffer(v)) return v.length > 0 ? [v.toString('utf8')] : [];
  if (Array.isArray(v)) return v.filter((u): u is Buffer => Buffer.isBuffer(u) && u.length > 0).map((u) => u.toString('utf8'));
  return [];
}

export interface ParseInfoExtras {
  /** The top-level `piece layers` value, when the info came with one. */
  pieceLayers?: BencodeValue;
  /** Require layers for every multi-piece v2 file (true for .torrent files). */
  requireLayers?: boolean;
  root?: BencodeDict;
}

/** Builds the model from a decoded info dictionary and its original bytes. */
export function metainfoFromInfo(info: BencodeDict, infoBytes: Buffer, extras: ParseInfoExtras = {}): Metainfo {
  const rawName = preferUtf8(info, 'name');
  if (rawName === undefined) fail('ERR_METAINFO_SHAPE', 'info has no "name"');
  if (!Buffer.isBuffer(rawName)) fail('ERR_METAINFO_SHAPE', 'info "name" is not a byte string');
  const name = decodeName(rawName, 'the torrent name');
  checkPath([name], 'the torrent name');

  const pieceLength = lengthAt(info, 'piece length', 'info');
  if (pieceLength === 0) fail('ERR_METAINFO_VALUE', 'info "piece length" is zero');
  if (pieceLength > MAX_PIECE_LENGTH) fail('ERR_METAINFO_LIMIT', `piece length ${pieceLength} is over ${MAX_PIECE_LENGTH}`);

  const metaVersion = info.get('meta version');
  const hasV2 = metaVersion !== undefined;
  if (hasV2 && metaVersion !== 2) fail('ERR_METAINFO_VALUE', `unsupported "meta version" ${typeof metaVersion === 'number' ? metaVersion : typeof metaVersion}`);
  const hasV1 = info.has('pieces');
  if (!hasV1 && !hasV2) fail('ERR_METAINFO_SHAPE', 'info has neither "pieces" (v1) nor "meta version" (v2)');
  const version: TorrentVersion = hasV1 && hasV2 ? 'hybrid' : hasV1 ? 'v1' : 'v2';
  if (hasV2 && (!isPowerOfTwo(pieceLength) || pieceLength < BLOCK_SIZE)) {
    fail('ERR_METAINFO_VALUE', `v2 piece length ${pieceLength} is not a power of two of at least 16 KiB`);
  }

  let v1Files: TorrentFile[] | undefined;
  let v1Multi = false;
  if (hasV1) {
    const raw = parseV1Files(info);
    v1Multi = raw !== undefined;
    if (raw) v1Files = layoutFiles(raw, pieceLength, [name], 'none').files;
    else v1Files = [{ path: [name], length: lengthAt(info, 'length', 'info'), offset: 0, pad: false, attr: parseAttr(info) }];
  }
  let v2Files: TorrentFile[] | undefined;
  let v2Multi = false;
  if (hasV2) {
    const raw: RawFile[] = [];
    parseFileTree(dictAt(info, 'file tree', 'info'), [], raw);
    // A v2 file tree of one top-level file is a single-file torrent — unless the v1 half (hybrid) says
    // it is a folder holding one file, which libtorrent writes for such folders.
    v2Multi = hasV1 ? v1Multi : !(raw.length === 1 && raw[0]!.path.length === 1);
    v2Files = layoutFiles(raw, pieceLength, v2Multi ? [name] : [], 'align').files;
  }

  let files: TorrentFile[];
  let multiFile: boolean;
  if (v1Files && v2Files) {
    files = checkHybrid(v1Files, v2Files.filter((f) => !f.pad), pieceLength);
    multiFile = v1Multi;
  } else {
    files = (v1Files ?? v2Files)!;
    multiFile = v1Files ? v1Multi : v2Multi;
  }
  checkUnique(files);

  const last = files[files.length - 1]!;
  const layoutLength = last.offset + last.length;
  const length = files.reduce((n, f) => (f.pad ? n : n + f.length), 0);
  if (length === 0) fail('ERR_METAINFO_VALUE', 'the torrent holds no data (total length 0)');
  const pieceCount = Math.ceil(layoutLength / pieceLength);
  if (pieceCount > MAX_PIECES) fail('ERR_METAINFO_LIMIT', `${pieceCount} pieces is over the limit of ${MAX_PIECES}`);

  let pieces: Buffer | undefined;
  if (hasV1) {
    pieces = bytesAt(info, 'pieces', 'info');
    if (pieces.length % SHA1_SIZE !== 0) fail('ERR_METAINFO_PIECES', `"pieces" is ${pieces.length} bytes, not a multiple of 20`);
    if (pieces.length / SHA1_SIZE !== pieceCount) {
      fail('ERR_METAINFO_PIECES', `"pieces" holds ${pieces.length / SHA1_SIZE} hashes but the files need ${pieceCount}`);
    }
  }
  const pieceLayers = hasV2 ? parseLayers(extras.pieceLayers, files, pieceLength, extras.requireLayers === true) : undefined;

  const root = extras.root;
  const privateFlag = info.get('private');
  const creationDate = root?.get('creation date');
  return {
    version,
    name,
    multiFile,
    pieceLength,
    pieceCount,
    length,
    layoutLength,
    files,
    ...(hasV1 ? { infoHash: createHash('sha1').update(infoBytes).digest(), pieces } : {}),
    ...(hasV2 ? { infoHashV2: createHash('sha256').update(infoBytes).digest() } : {}),
    ...(pieceLayers ? { pieceLayers } : {}),
    announce: root ? parseAnnounce(root) : [],
    webSeeds: root ? parseWebSeeds(root) : [],
    private: privateFlag === 1,
    ...(root && optionalText(root, 'comment') !== undefined ? { comment: optionalText(root, 'comment') } : {}),
    ...(root && optionalText(root, 'created by') !== undefined ? { createdBy: optionalText(root, 'created by') } : {}),
    ...(typeof creationDate === 'number' ? { creationDate } : {}),
    infoBytes,
  };
}

/** Parses a whole `.torrent` file. */
export function parseTorrent(bytes: Uint8Array): Metainfo {
  if (bytes.length > MAX_TORRENT_FILE_BYTES) fail('ERR_METAINFO_LIMIT', `the torrent file is over ${MAX_TORRENT_FILE_BYTES} bytes`);
  const { value, spans } = decodeWithSpans(bytes, TORRENT_DECODE_LIMITS);
  if (!isDict(value)) fail('ERR_METAINFO_SHAPE', 'the torrent is not a dictionary');
  const info = dictAt(value, 'info', 'the torrent');
  const span = spans.get('info')!;
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return metainfoFromInfo(info, buf.subarray(span.start, span.end), {
    pieceLayers: value.get('piece layers'),
    requireLayers: true,
    root: value,
  });
}

/** Parses a bare info dictionary (as fetched from peers with BEP 9). */
export function parseInfo(infoBytes: Uint8Array, pieceLayers?: BencodeValue): Metainfo {
  const v = decode(infoBytes, TORRENT_DECODE_LIMITS);
  if (!isDict(v)) fail('ERR_METAINFO_SHAPE', 'the info is not a dictionary');
  const buf = Buffer.isBuffer(infoBytes) ? infoBytes : Buffer.from(infoBytes.buffer, infoBytes.byteOffset, infoBytes.byteLength);
  return metainfoFromInfo(v, buf, pieceLayers === undefined ? {} : { pieceLayers });
}

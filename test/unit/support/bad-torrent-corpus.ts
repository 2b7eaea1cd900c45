/**
 * Valid base torrents (v1 single-file, v1 multi-file, v2, hybrid) built in memory from known bytes,
 * and a corpus of broken torrents derived from them: structural edits re-encoded with the canonical
 * encoder, plus raw byte surgery for what the encoder cannot produce (non-canonical integers,
 * unsorted or duplicate keys, trailing bytes, truncation).
 *
 * Not a test file: shared by bad-torrents.test.ts and bencode-property.test.ts.
 */
import { createHash } from 'node:crypto';
import { decode, encode } from '../../../src/bencode/index.js';
import type { BencodeDict, BencodeValue } from '../../../src/bencode/index.js';
import { buildTorrent } from '../../../src/metainfo/build.js';
import { layoutFiles } from '../../../src/metainfo/layout.js';
import type { LayoutInput, PadPolicy } from '../../../src/metainfo/layout.js';
import { BLOCK_SIZE, dataRoot, nextPowerOfTwo, rootFromPieceLayer } from '../../../src/metainfo/merkle.js';
import type { MetainfoErrorCode } from '../../../src/metainfo/errors.js';
import type { TorrentFile, TorrentVersion } from '../../../src/metainfo/types.js';

export const PIECE_LENGTH = 16 * 1024;
export const TRACKER = 'http://tracker.example/announce';

/** Deterministic, non-repeating-looking content. */
export function content(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface ContentFile {
  /** Path inside the torrent (without the torrent name). */
  path: string[];
  data: Buffer;
}

export interface BaseTorrent {
  version: TorrentVersion;
  name: string;
  multiFile: boolean;
  files: ContentFile[];
  bytes: Buffer;
}

/** The v2 pieces root of a file and, when it is longer than one piece, its piece layer. */
function v2Hashes(data: Buffer, pieceLength: number): { root: Buffer; layer?: Buffer } {
  if (data.length <= pieceLength) {
    return { root: dataRoot(data, nextPowerOfTwo(Math.ceil(data.length / BLOCK_SIZE))) };
  }
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += pieceLength) {
    parts.push(dataRoot(data.subarray(off, off + pieceLength), pieceLength / BLOCK_SIZE));
  }
  const layer = Buffer.concat(parts);
  return { root: rootFromPieceLayer(layer, data.length, pieceLength), layer };
}

/** Builds a valid torrent the way `storage/create` does, but from in-memory content. */
export function makeTorrent(version: TorrentVersion, name: string, multiFile: boolean, files: ContentFile[], pieceLength = PIECE_LENGTH): BaseTorrent {
  const inputs: LayoutInput[] = files.map((f) => ({ path: multiFile ? f.path : [name], length: f.data.length, attr: '', pad: false }));
  const policy: PadPolicy = version === 'v1' ? 'none' : version === 'hybrid' && multiFile ? 'align-tail' : 'align';
  const laid = layoutFiles(inputs, pieceLength, multiFile ? [name] : [], policy).files;
  const datas: Buffer[] = [];
  let r = 0;
  for (const f of laid) datas.push(f.pad ? Buffer.alloc(f.length) : files[r++]!.data);

  let pieces: Buffer | undefined;
  if (version !== 'v2') {
    const all = Buffer.concat(datas);
    const hashes: Buffer[] = [];
    for (let off = 0; off < all.length; off += pieceLength) hashes.push(createHash('sha1').update(all.subarray(off, off + pieceLength)).digest());
    pieces = Buffer.concat(hashes);
  }
  const pieceLayers = new Map<number, Buffer>();
  let withRoots: TorrentFile[] = laid;
  if (version !== 'v1') {
    withRoots = laid.map((f, i) => {
      if (f.pad || f.length === 0) return f;
      const { root, layer } = v2Hashes(datas[i]!, pieceLength);
      if (layer) pieceLayers.set(i, layer);
      return { ...f, piecesRoot: root };
    });
  }
  const bytes = buildTorrent(withRoots, { ...(pieces ? { pieces } : {}), pieceLayers }, {
    version,
    name,
    pieceLength,
    multiFile,
    trackers: [[TRACKER]],
    createdBy: 'shoal-test',
  });
  return { version, name, multiFile, files, bytes };
}

export interface Bases {
  v1Single: BaseTorrent;
  v1: BaseTorrent;
  v2: BaseTorrent;
  hybrid: BaseTorrent;
}

export function makeBases(): Bases {
  return {
    // 30000 bytes: two pieces.
    v1Single: makeTorrent('v1', 'single.bin', false, [{ path: ['single.bin'], data: content(30_000, 1) }]),
    // 20000 + 5000 bytes back to back: two pieces.
    v1: makeTorrent('v1', 'base', true, [
      { path: ['a.txt'], data: content(20_000, 2) },
      { path: ['sub', 'b.txt'], data: content(5_000, 3) },
    ]),
    // big.bin is three pieces (a 96-byte piece layer), small.txt fits in one.
    v2: makeTorrent('v2', 'base2', true, [
      { path: ['big.bin'], data: content(40_000, 4) },
      { path: ['small.txt'], data: content(100, 5) },
    ]),
    hybrid: makeTorrent('hybrid', 'hyb', true, [
      { path: ['x.bin'], data: content(20_000, 6) },
      { path: ['y.bin'], data: content(3_000, 7) },
    ]),
  };
}

// ---------------------------------------------------------------------------------------------
// Editing helpers

export function dictOf(v: BencodeValue | undefined): BencodeDict {
  if (!(v instanceof Map)) throw new Error('test corpus: expected a dictionary');
  return v;
}

export function listOf(v: BencodeValue | undefined): BencodeValue[] {
  if (!Array.isArray(v)) throw new Error('test corpus: expected a list');
  return v;
}

export function bytesOf(v: BencodeValue | undefined): Buffer {
  if (!Buffer.isBuffer(v)) throw new Error('test corpus: expected a byte string');
  return v;
}

/** Decodes a private copy of `base`, lets `fn` edit the tree, and re-encodes canonically. */
export function edit(base: Buffer, fn: (root: BencodeDict, info: BencodeDict) => void): Buffer {
  const root = dictOf(decode(Buffer.from(base)));
  fn(root, dictOf(root.get('info')));
  return encode(root);
}

/** The n-th entry of a v1 `files` list. */
export function fileEntry(info: BencodeDict, n: number): BencodeDict {
  return dictOf(listOf(info.get('files'))[n]);
}

/** A bencoded dictionary written in the given order, duplicates and all (no sorting, no checks). */
export function rawDict(entries: readonly (readonly [string, Buffer])[]): Buffer {
  const parts: Buffer[] = [Buffer.from('d')];
  for (const [k, v] of entries) parts.push(Buffer.from(`${Buffer.byteLength(k, 'latin1')}:${k}`, 'latin1'), v);
  parts.push(Buffer.from('e'));
  return Buffer.concat(parts);
}

/** Replaces the one occurrence of `from` in `buf` by `to`; returns the new bytes and the offset. */
export function replaceOnce(buf: Buffer, from: string, to: string): { bytes: Buffer; at: number } {
  const needle = Buffer.from(from, 'latin1');
  const at = buf.indexOf(needle);
  if (at < 0 || buf.indexOf(needle, at + 1) >= 0) throw new Error(`test corpus: ${JSON.stringify(from)} must occur exactly once`);
  return { bytes: Buffer.concat([buf.subarray(0, at), Buffer.from(to, 'latin1'), buf.subarray(at + needle.length)]), at };
}

// ---------------------------------------------------------------------------------------------
// The corpus

export type ExpectedCode = MetainfoErrorCode | 'ERR_BENCODE';

export interface BadCase {
  /** Short, file-name friendly. */
  id: string;
  bytes: Buffer;
  /** The error code `parseTorrent` must throw. */
  code: ExpectedCode;
  /** A distinctive piece of the one-line message (after "shoal: <file>: "). */
  message: string;
}

function layersOf(root: BencodeDict): BencodeDict {
  return dictOf(root.get('piece layers'));
}

/** The only layer of the v2 base (big.bin's) as [key, value]. */
function onlyLayer(root: BencodeDict): [string, Buffer] {
  const entries = [...layersOf(root)];
  if (entries.length !== 1) throw new Error('test corpus: expected one piece layer');
  const [key, value] = entries[0]!;
  return [key, bytesOf(value)];
}

export function badTorrentCorpus(bases: Bases = makeBases()): BadCase[] {
  const { v1Single, v1, v2, hybrid } = bases;
  const cases: BadCase[] = [];
  const add = (c: BadCase): void => {
    if (cases.some((x) => x.id === c.id)) throw new Error(`test corpus: duplicate id ${c.id}`);
    cases.push(c);
  };
  const v1Info = encode(dictOf(dictOf(decode(v1.bytes)).get('info')));
  const announce = encode(TRACKER);

  // --- bencode-level damage --------------------------------------------------------------------
  add({ id: 'empty-file', bytes: Buffer.alloc(0), code: 'ERR_BENCODE', message: 'invalid bencode at byte 0: unexpected end of data' });
  add({
    id: 'truncated-half',
    bytes: v1.bytes.subarray(0, v1.bytes.length >> 1),
    code: 'ERR_BENCODE',
    message: 'invalid bencode at byte',
  });
  add({
    id: 'truncated-last-byte',
    bytes: v1.bytes.subarray(0, v1.bytes.length - 1),
    code: 'ERR_BENCODE',
    message: `invalid bencode at byte ${v1.bytes.length - 1}: unterminated dictionary`,
  });
  {
    // Cut inside the 20-byte hashes: the "pieces" string runs past the end.
    const at = v1.bytes.indexOf('6:pieces40:');
    add({
      id: 'truncated-in-pieces',
      bytes: v1.bytes.subarray(0, at + 11 + 7),
      code: 'ERR_BENCODE',
      message: `invalid bencode at byte ${at + 8}: string of 40 bytes runs past the end`,
    });
  }
  {
    const { bytes, at } = replaceOnce(v1.bytes, '12:piece lengthi16384e', '12:piece lengthi016384e');
    add({ id: 'non-canonical-integer', bytes, code: 'ERR_BENCODE', message: `invalid bencode at byte ${at + 15}: integer has a leading zero` });
  }
  {
    const { bytes, at } = replaceOnce(v1.bytes, '4:name4:base', '04:name4:base');
    add({ id: 'non-canonical-string-length', bytes, code: 'ERR_BENCODE', message: `invalid bencode at byte ${at}: string length has a leading zero` });
  }
  {
    const { bytes, at } = replaceOnce(v1Single.bytes, '6:lengthi30000e', '6:lengthi-0e');
    add({ id: 'negative-zero', bytes, code: 'ERR_BENCODE', message: `invalid bencode at byte ${at + 8}: integer has a leading zero or is negative zero` });
  }
  {
    const { bytes, at } = replaceOnce(v1Single.bytes, '6:lengthi30000e', `6:lengthi${'9'.repeat(70)}e`);
    add({ id: 'integer-over-64-digits', bytes, code: 'ERR_BENCODE', message: `invalid bencode at byte ${at + 8}: integer longer than 64 digits` });
  }
  {
    const bytes = rawDict([
      ['announce', announce],
      ['announce', announce],
      ['info', v1Info],
    ]);
    add({ id: 'duplicate-keys', bytes, code: 'ERR_BENCODE', message: `invalid bencode at byte ${1 + 10 + announce.length}: duplicate dictionary key "announce"` });
  }
  {
    const bytes = rawDict([
      ['info', v1Info],
      ['announce', announce],
    ]);
    add({ id: 'unsorted-keys', bytes, code: 'ERR_BENCODE', message: `invalid bencode at byte ${1 + 6 + v1Info.length}: dictionary key "announce" is out of order` });
  }
  {
    // Duplicate keys inside the info dictionary (a classic info-hash confusion trick).
    const { bytes, at } = replaceOnce(v1Single.bytes, '6:lengthi30000e', '6:lengthi30000e6:lengthi30000e');
    add({ id: 'duplicate-keys-in-info', bytes, code: 'ERR_BENCODE', message: `invalid bencode at byte ${at + 15}: duplicate dictionary key "length"` });
  }
  add({
    id: 'trailing-garbage',
    bytes: Buffer.concat([v1.bytes, Buffer.from('garbage')]),
    code: 'ERR_BENCODE',
    message: `invalid bencode at byte ${v1.bytes.length}: 7 bytes after the value`,
  });
  add({ id: 'root-is-a-list', bytes: encode([v1Info]), code: 'ERR_METAINFO_SHAPE', message: 'the torrent is not a dictionary' });
  add({ id: 'root-is-an-integer', bytes: Buffer.from('i42e'), code: 'ERR_METAINFO_SHAPE', message: 'the torrent is not a dictionary' });
  add({ id: 'not-bencode-at-all', bytes: Buffer.from('<html>not a torrent</html>'), code: 'ERR_BENCODE', message: 'invalid bencode at byte 0: unexpected byte 0x3c' });

  // --- shape and values --------------------------------------------------------------------------
  add({ id: 'no-info', bytes: encode({ announce: TRACKER }), code: 'ERR_METAINFO_SHAPE', message: 'the torrent has no "info"' });
  add({ id: 'info-is-a-string', bytes: encode({ info: 'x' }), code: 'ERR_METAINFO_SHAPE', message: 'the torrent "info" is not a dictionary' });
  add({
    id: 'name-is-an-int',
    bytes: edit(v1.bytes, (_r, info) => info.set('name', 5)),
    code: 'ERR_METAINFO_SHAPE',
    message: 'info "name" is not a byte string',
  });
  add({
    id: 'no-name',
    bytes: edit(v1.bytes, (_r, info) => info.delete('name')),
    code: 'ERR_METAINFO_SHAPE',
    message: 'info has no "name"',
  });
  add({
    id: 'files-not-a-list',
    bytes: edit(v1.bytes, (_r, info) => info.set('files', new Map([['a', 1]]))),
    code: 'ERR_METAINFO_SHAPE',
    message: 'info "files" is not a list',
  });
  add({
    id: 'files-empty',
    bytes: edit(v1.bytes, (_r, info) => info.set('files', [])),
    code: 'ERR_METAINFO_SHAPE',
    message: 'info "files" is empty',
  });
  add({
    id: 'length-is-a-string',
    bytes: edit(v1.bytes, (_r, info) => fileEntry(info, 0).set('length', Buffer.from('20000'))),
    code: 'ERR_METAINFO_SHAPE',
    message: 'file 0 "length" is not an integer',
  });
  add({
    id: 'single-length-is-a-string',
    bytes: edit(v1Single.bytes, (_r, info) => info.set('length', Buffer.from('30000'))),
    code: 'ERR_METAINFO_SHAPE',
    message: 'info "length" is not an integer',
  });
  add({
    id: 'pieces-is-an-int',
    bytes: edit(v1.bytes, (_r, info) => info.set('pieces', 7)),
    code: 'ERR_METAINFO_SHAPE',
    message: 'info "pieces" is not a byte string',
  });
  add({
    id: 'path-not-a-list',
    bytes: edit(v1.bytes, (_r, info) => fileEntry(info, 1).set('path', Buffer.from('sub/b.txt'))),
    code: 'ERR_METAINFO_SHAPE',
    message: 'file 1 "path" is not a list',
  });
  add({
    id: 'huge-length',
    bytes: edit(v1.bytes, (_r, info) => fileEntry(info, 0).set('length', 99999999999999999999n)),
    code: 'ERR_METAINFO_LIMIT',
    message: 'file 0 "length" is too large (99999999999999999999)',
  });
  add({
    id: 'huge-single-length',
    bytes: edit(v1Single.bytes, (_r, info) => info.set('length', 99999999999999999999n)),
    code: 'ERR_METAINFO_LIMIT',
    message: 'info "length" is too large (99999999999999999999)',
  });
  add({
    id: 'lengths-sum-past-2^53',
    bytes: edit(v1.bytes, (_r, info) => {
      fileEntry(info, 0).set('length', Number.MAX_SAFE_INTEGER);
      fileEntry(info, 1).set('length', Number.MAX_SAFE_INTEGER);
    }),
    code: 'ERR_METAINFO_LIMIT',
    message: 'total length is too large',
  });
  add({
    id: 'negative-length',
    bytes: edit(v1.bytes, (_r, info) => fileEntry(info, 1).set('length', -1)),
    code: 'ERR_METAINFO_VALUE',
    message: 'file 1 "length" is negative (-1)',
  });
  add({
    id: 'piece-length-zero',
    bytes: edit(v1.bytes, (_r, info) => info.set('piece length', 0)),
    code: 'ERR_METAINFO_VALUE',
    message: 'info "piece length" is zero',
  });
  add({
    id: 'piece-length-over-512MiB',
    bytes: edit(v1.bytes, (_r, info) => info.set('piece length', 2 ** 30)),
    code: 'ERR_METAINFO_LIMIT',
    message: 'piece length 1073741824 is over 536870912',
  });
  add({
    id: 'meta-version-3',
    bytes: edit(v2.bytes, (_r, info) => info.set('meta version', 3)),
    code: 'ERR_METAINFO_VALUE',
    message: 'unsupported "meta version" 3',
  });
  add({
    id: 'neither-v1-nor-v2',
    bytes: edit(v1.bytes, (_r, info) => info.delete('pieces')),
    code: 'ERR_METAINFO_SHAPE',
    message: 'info has neither "pieces" (v1) nor "meta version" (v2)',
  });
  add({
    id: 'zero-total-length',
    bytes: edit(v1Single.bytes, (_r, info) => {
      info.set('length', 0);
      info.set('pieces', Buffer.alloc(0));
    }),
    code: 'ERR_METAINFO_VALUE',
    message: 'the torrent holds no data (total length 0)',
  });
  add({
    id: 'zero-total-length-multi',
    bytes: edit(v1.bytes, (_r, info) => {
      fileEntry(info, 0).set('length', 0);
      fileEntry(info, 1).set('length', 0);
      info.set('pieces', Buffer.alloc(0));
    }),
    code: 'ERR_METAINFO_VALUE',
    message: 'the torrent holds no data (total length 0)',
  });

  // --- paths -----------------------------------------------------------------------------------
  const withPath = (path: string[]): Buffer =>
    edit(v1.bytes, (_r, info) => fileEntry(info, 1).set('path', path.map((c) => Buffer.from(c, 'utf8'))));
  add({ id: 'path-dot-dot', bytes: withPath(['..', '..', 'etc', 'passwd']), code: 'ERR_METAINFO_PATH', message: 'file 1 has the name ".."' });
  add({ id: 'path-dot', bytes: withPath(['.', 'b.txt']), code: 'ERR_METAINFO_PATH', message: 'file 1 has the name "."' });
  add({ id: 'path-absolute', bytes: withPath(['/etc', 'passwd']), code: 'ERR_METAINFO_PATH', message: 'file 1 has a path separator in "/etc"' });
  add({ id: 'path-slash-inside', bytes: withPath(['sub/../../x']), code: 'ERR_METAINFO_PATH', message: 'a path separator in "sub/../../x"' });
  add({ id: 'path-backslash', bytes: withPath(['..\\..\\x']), code: 'ERR_METAINFO_PATH', message: 'file 1 has a path separator in "..\\\\..\\\\x"' });
  add({ id: 'path-empty-component', bytes: withPath(['sub', '', 'b.txt']), code: 'ERR_METAINFO_PATH', message: 'file 1 has an empty name' });
  add({ id: 'path-empty-list', bytes: withPath([]), code: 'ERR_METAINFO_PATH', message: 'file 1 has an empty path' });
  add({ id: 'path-reserved-con', bytes: withPath(['CON']), code: 'ERR_METAINFO_PATH', message: 'file 1 has the reserved device name "CON"' });
  add({ id: 'path-reserved-nul-ext', bytes: withPath(['sub', 'nul.txt']), code: 'ERR_METAINFO_PATH', message: 'the reserved device name "nul.txt"' });
  add({ id: 'path-control-char', bytes: withPath(['a\nb']), code: 'ERR_METAINFO_PATH', message: 'file 1 has a control character in "a\\nb"' });
  add({ id: 'path-component-256-bytes', bytes: withPath(['x'.repeat(256)]), code: 'ERR_METAINFO_PATH', message: 'file 1 has a name longer than 255 bytes' });
  add({
    id: 'path-component-256-utf8-bytes',
    // 128 two-byte characters: 128 characters but 256 bytes.
    bytes: withPath(['é'.repeat(128)]),
    code: 'ERR_METAINFO_PATH',
    message: 'file 1 has a name longer than 255 bytes',
  });
  add({
    id: 'path-too-deep',
    bytes: withPath(Array.from({ length: 65 }, () => 'd')),
    code: 'ERR_METAINFO_PATH',
    message: 'file 1 is nested deeper than 64 folders',
  });
  add({
    id: 'path-invalid-utf8',
    bytes: edit(v1.bytes, (_r, info) => fileEntry(info, 1).set('path', [Buffer.from([0x61, 0xff, 0x62])])),
    code: 'ERR_METAINFO_PATH',
    message: 'file 1 path is not valid UTF-8',
  });
  add({
    id: 'name-dot-dot',
    bytes: edit(v1Single.bytes, (_r, info) => info.set('name', Buffer.from('..'))),
    code: 'ERR_METAINFO_PATH',
    message: 'the torrent name has the name ".."',
  });
  add({
    id: 'name-absolute',
    bytes: edit(v1.bytes, (_r, info) => info.set('name', Buffer.from('/etc'))),
    code: 'ERR_METAINFO_PATH',
    message: 'the torrent name has a path separator in "/etc"',
  });
  add({
    id: 'name-empty',
    bytes: edit(v1.bytes, (_r, info) => info.set('name', Buffer.alloc(0))),
    code: 'ERR_METAINFO_PATH',
    message: 'the torrent name has an empty name',
  });
  add({
    id: 'name-reserved-con',
    bytes: edit(v1Single.bytes, (_r, info) => info.set('name', Buffer.from('CON'))),
    code: 'ERR_METAINFO_PATH',
    message: 'the torrent name has the reserved device name "CON"',
  });
  add({
    id: 'name-256-bytes',
    bytes: edit(v1.bytes, (_r, info) => info.set('name', Buffer.from('n'.repeat(256)))),
    code: 'ERR_METAINFO_PATH',
    message: 'the torrent name has a name longer than 255 bytes',
  });
  add({
    id: 'name-utf8-key-traversal',
    // The ".utf-8" variant is preferred over "name", so it must be checked too.
    bytes: edit(v1.bytes, (_r, info) => info.set('name.utf-8', Buffer.from('..'))),
    code: 'ERR_METAINFO_PATH',
    message: 'the torrent name has the name ".."',
  });
  add({
    id: 'duplicate-file-paths',
    bytes: edit(v1.bytes, (_r, info) => fileEntry(info, 1).set('path', [Buffer.from('a.txt')])),
    code: 'ERR_METAINFO_PATH',
    message: 'two files share the path "base/a.txt"',
  });
  add({
    id: 'file-and-folder',
    bytes: edit(v1.bytes, (_r, info) => fileEntry(info, 0).set('path', [Buffer.from('sub')])),
    code: 'ERR_METAINFO_PATH',
    message: '"base/sub" is both a file and a folder',
  });
  add({
    id: 'v2-tree-dot-dot',
    bytes: edit(v2.bytes, (_r, info) => {
      const tree = dictOf(info.get('file tree'));
      const small = tree.get('small.txt')!;
      tree.delete('small.txt');
      tree.set('..', new Map([['etc', small]]));
    }),
    code: 'ERR_METAINFO_PATH',
    message: 'has the name ".."',
  });

  // --- v1 piece hashes ---------------------------------------------------------------------------
  add({
    id: 'pieces-count-mismatch',
    bytes: edit(v1.bytes, (_r, info) => info.set('pieces', bytesOf(info.get('pieces')).subarray(0, 20))),
    code: 'ERR_METAINFO_PIECES',
    message: '"pieces" holds 1 hashes but the files need 2',
  });
  add({
    id: 'pieces-too-many',
    bytes: edit(v1.bytes, (_r, info) => info.set('pieces', Buffer.concat([bytesOf(info.get('pieces')), Buffer.alloc(20)]))),
    code: 'ERR_METAINFO_PIECES',
    message: '"pieces" holds 3 hashes but the files need 2',
  });
  add({
    id: 'length-does-not-match-pieces',
    bytes: edit(v1Single.bytes, (_r, info) => info.set('length', 40_000)),
    code: 'ERR_METAINFO_PIECES',
    message: '"pieces" holds 2 hashes but the files need 3',
  });
  add({
    id: 'pieces-not-multiple-of-20',
    bytes: edit(v1.bytes, (_r, info) => info.set('pieces', bytesOf(info.get('pieces')).subarray(0, 39))),
    code: 'ERR_METAINFO_PIECES',
    message: '"pieces" is 39 bytes, not a multiple of 20',
  });

  // --- v2 ---------------------------------------------------------------------------------------
  add({
    id: 'v2-layer-byte-changed',
    bytes: edit(v2.bytes, (root) => {
      const [key, layer] = onlyLayer(root);
      const changed = Buffer.from(layer);
      changed[45] = changed[45]! ^ 0x01;
      layersOf(root).set(key, changed);
    }),
    code: 'ERR_METAINFO_LAYERS',
    message: 'the piece layer of "base2/big.bin" does not hash to the file\'s pieces root',
  });
  add({
    id: 'v2-layer-missing',
    bytes: edit(v2.bytes, (root) => layersOf(root).clear()),
    code: 'ERR_METAINFO_LAYERS',
    message: 'the piece layer of "base2/big.bin" is missing',
  });
  add({
    id: 'v2-no-piece-layers',
    bytes: edit(v2.bytes, (root) => root.delete('piece layers')),
    code: 'ERR_METAINFO_LAYERS',
    message: 'the torrent has no "piece layers"',
  });
  add({
    id: 'v2-layer-wrong-length',
    bytes: edit(v2.bytes, (root) => {
      const [key, layer] = onlyLayer(root);
      layersOf(root).set(key, layer.subarray(0, 64));
    }),
    code: 'ERR_METAINFO_LAYERS',
    message: 'the piece layer of "base2/big.bin" has 64 bytes, expected 96',
  });
  add({
    id: 'v2-layer-not-bytes',
    bytes: edit(v2.bytes, (root) => {
      const [key] = onlyLayer(root);
      layersOf(root).set(key, 96);
    }),
    code: 'ERR_METAINFO_SHAPE',
    message: 'the piece layer of "base2/big.bin" is not a byte string',
  });
  add({
    id: 'v2-piece-length-not-power-of-two',
    bytes: edit(v2.bytes, (_r, info) => info.set('piece length', 3 * 16384)),
    code: 'ERR_METAINFO_VALUE',
    message: 'v2 piece length 49152 is not a power of two of at least 16 KiB',
  });
  add({
    id: 'v2-piece-length-below-16KiB',
    bytes: edit(v2.bytes, (_r, info) => info.set('piece length', 8192)),
    code: 'ERR_METAINFO_VALUE',
    message: 'v2 piece length 8192 is not a power of two of at least 16 KiB',
  });
  add({
    id: 'v2-pieces-root-wrong-size',
    bytes: edit(v2.bytes, (_r, info) => {
      const leaf = dictOf(dictOf(dictOf(info.get('file tree')).get('small.txt')).get(''));
      leaf.set('pieces root', bytesOf(leaf.get('pieces root')).subarray(0, 20));
    }),
    code: 'ERR_METAINFO_SHAPE',
    message: '"pieces root" is not 32 bytes',
  });
  add({
    id: 'v2-empty-file-tree',
    bytes: edit(v2.bytes, (_r, info) => info.set('file tree', new Map())),
    code: 'ERR_METAINFO_SHAPE',
    message: '"file tree" has an empty folder',
  });
  add({
    id: 'hybrid-v1-v2-paths-disagree',
    bytes: edit(hybrid.bytes, (_r, info) => fileEntry(info, 0).set('path', [Buffer.from('z.bin')])),
    code: 'ERR_METAINFO_HYBRID',
    message: 'v1 file "hyb/z.bin" does not match v2 file "hyb/x.bin"',
  });
  add({
    id: 'hybrid-v1-v2-lengths-disagree',
    bytes: edit(hybrid.bytes, (_r, info) => {
      // y.bin (after x.bin and its pad file) is one byte shorter in the v1 list than in the file tree.
      const y = listOf(info.get('files')).map(dictOf).find((f) => listOf(f.get('path')).map((c) => bytesOf(c).toString()).join('/') === 'y.bin');
      if (!y) throw new Error('test corpus: no y.bin in the hybrid base');
      y.set('length', 2_999);
    }),
    code: 'ERR_METAINFO_HYBRID',
    message: 'v1 file "hyb/y.bin" does not match v2 file "hyb/y.bin"',
  });
  add({
    id: 'hybrid-v1-extra-file',
    bytes: edit(hybrid.bytes, (_r, info) => {
      listOf(info.get('files')).push(new Map<string, BencodeValue>([['length', 1], ['path', [Buffer.from('extra')]]]));
    }),
    code: 'ERR_METAINFO_HYBRID',
    message: 'v1 lists 3 files but v2 lists 2',
  });
  add({
    id: 'hybrid-single-vs-multi',
    bytes: edit(hybrid.bytes, (_r, info) => {
      info.delete('files');
      info.set('length', 20_000);
    }),
    code: 'ERR_METAINFO_HYBRID',
    message: 'v1 lists 1 files but v2 lists 2',
  });

  return cases;
}

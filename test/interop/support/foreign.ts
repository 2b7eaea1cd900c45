/**
 * Torrents made by other tools (mktorrent, transmission-create, libtorrent v1/v2/hybrid): the cases
 * that `shoal info` and `shoal verify` must read like libtorrent does.
 */
import { join } from 'node:path';
import { SINGLE, SOLO, TREE, transmissionFiles } from './fixtures.js';
import type { Fixture, FixtureFile } from './fixtures.js';
import { ltCreate, mktorrent, transmissionCreate } from './tools.js';
import type { Version } from './tools.js';

export interface ForeignCase {
  /** Unique, file-name safe. */
  id: string;
  creator: string;
  version: Version;
  fixture: Fixture;
  /** The fixture files the torrent holds (transmission-create leaves some out). */
  files: readonly FixtureFile[];
  /** The piece length asked for, when one was. */
  pieceLength?: number;
  /** Writes the torrent of `dataParent/<fixture name>` to `out`. */
  make: (dataParent: string, out: string) => Promise<void>;
}

function mk(fx: Fixture, log2: number): ForeignCase {
  return {
    id: `mktorrent-${fx.name}`,
    creator: 'mktorrent',
    version: 'v1',
    fixture: fx,
    files: fx.files,
    pieceLength: 2 ** log2,
    make: (parent, out) => mktorrent(join(parent, fx.name), out, log2),
  };
}

function transmission(fx: Fixture, kib: number): ForeignCase {
  return {
    id: `transmission-${fx.name}`,
    creator: 'transmission-create',
    version: 'v1',
    fixture: fx,
    files: transmissionFiles(fx),
    pieceLength: kib * 1024,
    make: (parent, out) => transmissionCreate(join(parent, fx.name), out, kib),
  };
}

/** `pieceLength` undefined: libtorrent chooses. */
function libtorrent(fx: Fixture, version: Version, pieceLength?: number): ForeignCase {
  return {
    id: `libtorrent-${version}-${fx.name}`,
    creator: `libtorrent ${version}`,
    version,
    fixture: fx,
    files: fx.files,
    ...(pieceLength !== undefined ? { pieceLength } : {}),
    make: async (parent, out) => {
      await ltCreate(join(parent, fx.name), out, version, pieceLength);
    },
  };
}

export const FOREIGN_CASES: readonly ForeignCase[] = [
  mk(SINGLE, 16),
  transmission(SINGLE, 16),
  libtorrent(SINGLE, 'v1'),
  libtorrent(SINGLE, 'v2'),
  libtorrent(SINGLE, 'hybrid'),
  mk(TREE, 15),
  transmission(TREE, 32),
  libtorrent(TREE, 'v1', 16384),
  libtorrent(TREE, 'v2', 16384),
  libtorrent(TREE, 'hybrid', 16384),
  // A folder holding one file: v1 lists it under "files", the v2 tree has one top-level entry.
  // (v2-only is left out: there the format cannot tell it from a single-file torrent, and libtorrent
  // then names the torrent after the file.)
  mk(SOLO, 15),
  libtorrent(SOLO, 'v1', 16384),
  libtorrent(SOLO, 'hybrid', 16384),
];

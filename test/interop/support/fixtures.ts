/**
 * Deterministic test data for the interop suite: every byte comes from a seeded PRNG, so nothing
 * binary is committed and every run (and every copy of a fixture) holds exactly the same bytes.
 */
import { chmod, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One file of a fixture, by its path relative to the torrent root ("/"-separated). */
export interface FixtureFile {
  path: string;
  size: number;
  /** Same bytes as another file of the fixture (v2: identical files share a pieces root and layer). */
  sameAs?: string;
  /** File mode (0o755 makes libtorrent and shoal write attr "x"). */
  mode?: number;
}

/**
 * A file or folder to share. `name` is the torrent name: the folder name, or the single file's name.
 * For a single file, `files` holds one entry whose path is `name`.
 */
export interface Fixture {
  name: string;
  kind: 'file' | 'folder';
  /** For test titles. */
  label: string;
  files: readonly FixtureFile[];
}

/** mulberry32: a tiny, fast 32-bit PRNG; good enough for test bytes, and fully reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** FNV-1a of a string: turns a file path into a per-file seed. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export const SUITE_SEED = 0x5e0a1;

/** `size` pseudo-random bytes determined by `key` (and the suite seed). */
export function seededBytes(key: string, size: number): Buffer {
  const next = mulberry32((fnv1a(key) ^ SUITE_SEED) >>> 0);
  const buf = Buffer.allocUnsafe(size);
  const whole = size - (size % 4);
  for (let i = 0; i < whole; i += 4) buf.writeUInt32LE(next(), i);
  if (whole < size) {
    const last = next();
    for (let i = whole; i < size; i++) buf[i] = (last >>> (8 * (i - whole))) & 0xff;
  }
  return buf;
}

/** The bytes a fixture file holds. */
export function fileBytes(fx: Fixture, f: FixtureFile): Buffer {
  const source = f.sameAs === undefined ? f : fx.files.find((g) => g.path === f.sameAs);
  if (!source) throw new Error(`fixture ${fx.name}: ${f.path} is sameAs a file that does not exist`);
  return seededBytes(`${fx.name}/${source.path}`, source.size);
}

/** Where a fixture file lives on disk when the fixture was written into `parent`. */
export function fixturePath(parent: string, fx: Fixture, relPath: string): string {
  return fx.kind === 'file' ? join(parent, fx.name) : join(parent, fx.name, ...relPath.split('/'));
}

/** Writes the fixture as `parent/<name>` (a file, or a folder tree); returns that path. */
export async function writeFixture(parent: string, fx: Fixture): Promise<string> {
  const root = join(parent, fx.name);
  await rm(root, { recursive: true, force: true });
  if (fx.kind === 'file' && (fx.files.length !== 1 || fx.files[0]!.path !== fx.name)) {
    throw new Error(`fixture ${fx.name}: a single-file fixture holds exactly one file named like the fixture`);
  }
  for (const f of fx.files) {
    const p = fixturePath(parent, fx, f.path);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, fileBytes(fx, f));
    if (f.mode !== undefined) await chmod(p, f.mode);
  }
  return root;
}

/** Flips (XOR 0xff) the byte at `offset` of the file at `path`, so it always changes. */
export async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    const { bytesRead } = await fh.read(b, 0, 1, offset);
    if (bytesRead !== 1) throw new Error(`cannot flip byte ${offset} of ${path}: the file is shorter`);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

export function totalSize(files: readonly FixtureFile[]): number {
  return files.reduce((n, f) => n + f.size, 0);
}

const basenameOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** transmission-create 3.00 leaves out dotfiles and empty files. */
export function transmissionFiles(fx: Fixture): FixtureFile[] {
  return fx.files.filter((f) => f.size > 0 && !basenameOf(f.path).startsWith('.'));
}

/** Byte-wise, component-wise path order (what libtorrent's canonical v2 order and shoal use). */
export function comparePaths(a: string, b: string): number {
  const ac = a.split('/');
  const bc = b.split('/');
  for (let i = 0; i < Math.min(ac.length, bc.length); i++) {
    const c = Buffer.compare(Buffer.from(ac[i]!, 'utf8'), Buffer.from(bc[i]!, 'utf8'));
    if (c !== 0) return c;
  }
  return ac.length - bc.length;
}

// ---------------------------------------------------------------------------------------------
// The fixtures. Sizes are deliberately not multiples of the piece lengths used (16 KiB to 64 KiB),
// with a few exact multiples and sub-block files mixed in.

/** One file, 300,007 bytes (18.3 pieces of 16 KiB, 4.6 of 64 KiB). */
export const SINGLE: Fixture = {
  name: 'single.bin',
  label: 'a single file',
  kind: 'file',
  files: [{ path: 'single.bin', size: 300_007 }],
};

/**
 * Nested folders with empty files, hidden files (at the root and nested), an executable, two
 * identical files, a 16 KiB file, a file under one block, an exact multiple of 32 KiB, a non-ASCII
 * name, an uppercase name (sorts before lowercase by bytes), and `a.txt` next to the folder `a/`
 * (full-path string order and component-wise order disagree on them).
 */
export const TREE: Fixture = {
  name: 'album',
  label: 'nested folders with empty and hidden files',
  kind: 'folder',
  files: [
    { path: '.hidden-notes', size: 3_001 },
    { path: 'Zeta.txt', size: 12_345 },
    { path: 'a.txt', size: 5_000, mode: 0o755 },
    { path: 'a/nested/deep.bin', size: 150_001 },
    { path: 'a/nested/.secret', size: 1_234 },
    { path: 'a/zero.dat', size: 0 },
    { path: 'block.bin', size: 16_384 },
    { path: 'cover.jpg', size: 100_003 },
    { path: 'disc1/dupe.bin', size: 150_001, sameAs: 'a/nested/deep.bin' },
    { path: 'disc1/tiny.txt', size: 700 },
    { path: 'disc1/track01.flac', size: 262_145 },
    { path: 'disc1/track02.flac', size: 65_536 },
    { path: 'disc1/ünïcødé ☃.txt', size: 20_000 },
    { path: 'empty.txt', size: 0 },
  ],
};

/** A folder whose every level holds one entry, so any tool's file order is the same. */
export const CHAIN: Fixture = {
  name: 'chain',
  label: 'a folder with one entry per level',
  kind: 'folder',
  files: [{ path: 'one/two/leaf.bin', size: 70_001 }],
};

/**
 * A folder holding exactly one file, directly: a multi-file torrent (v1 "files" list of one) whose v2
 * file tree has a single top-level entry.
 */
export const SOLO: Fixture = {
  name: 'solo',
  label: 'a folder holding one file',
  kind: 'folder',
  files: [{ path: 'only.bin', size: 100_001 }],
};

/** A single file big enough that an automatic piece length is above 16 KiB (~32.4 MiB). */
export const BIG: Fixture = {
  name: 'big.bin',
  label: 'a 32 MiB single file',
  kind: 'file',
  files: [{ path: 'big.bin', size: 34_000_001 }],
};

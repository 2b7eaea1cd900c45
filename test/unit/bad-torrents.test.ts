/**
 * Broken and hostile torrents, in-process (parseTorrent's error codes) and through the real CLI:
 * `shoal info --json` and `shoal verify` must exit 2 with exactly one "shoal: " line on stderr that
 * names the problem, print nothing on stdout, and never touch the target folder. Bad `shoal create`
 * arguments must exit 2 without leaving an output file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shoal, tempDir } from '../helpers/cli.js';
import type { RunResult } from '../helpers/cli.js';
import { BencodeError } from '../../src/bencode/index.js';
import { MetainfoError } from '../../src/metainfo/errors.js';
import { parseTorrent } from '../../src/metainfo/parse.js';
import { ShoalError } from '../../src/util/errors.js';
import { badTorrentCorpus, makeBases } from './support/bad-torrent-corpus.js';
import type { BadCase, BaseTorrent } from './support/bad-torrent-corpus.js';

const bases = makeBases();
const corpus = badTorrentCorpus(bases);
const baseList = Object.entries(bases) as [string, BaseTorrent][];
const CONCURRENCY = 8;

/** Every entry under `root`: relative path, kind, size, mtime and mode. */
async function snapshot(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const full = join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      const st = await lstat(full);
      const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      out.push(`${relPath} ${kind} ${st.isDirectory() ? 0 : st.size} ${st.mtimeMs} ${st.mode.toString(8)}`);
      if (st.isDirectory()) await walk(full, relPath);
    }
  };
  await walk(root, '');
  return out;
}

/** Writes a base torrent's content under `dir` as a client would have downloaded it. */
async function writeContent(base: BaseTorrent, dir: string): Promise<void> {
  for (const f of base.files) {
    const path = base.multiFile ? [base.name, ...f.path] : [base.name];
    await mkdir(join(dir, ...path.slice(0, -1)), { recursive: true });
    await writeFile(join(dir, ...path), f.data);
  }
}

/** Exit 2 and exactly one line on stderr, "shoal: ", naming the problem. */
function assertRefused(r: RunResult, expected: string | RegExp, prefix = ''): void {
  const detail = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.code, 2, detail);
  assert.match(r.stderr, /^shoal: [^\n]+\n$/, `stderr must be exactly one "shoal: " line\n${detail}`);
  assert.ok(r.stderr.startsWith(`shoal: ${prefix}`), `stderr must start with "shoal: ${prefix}"\n${detail}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, detail);
  if (typeof expected === 'string') assert.ok(r.stderr.includes(expected), `stderr must mention ${JSON.stringify(expected)}\n${detail}`);
  else assert.match(r.stderr, expected, detail);
}

void describe('the corpus', () => {
  void it('has distinct cases, each differing from every valid base', () => {
    assert.ok(corpus.length >= 40, `only ${corpus.length} cases`);
    assert.equal(new Set(corpus.map((c) => c.id)).size, corpus.length);
    for (const c of corpus) {
      for (const [, b] of baseList) assert.ok(!c.bytes.equals(b.bytes), `${c.id} is a valid base`);
    }
  });

  for (const [kind, base] of baseList) {
    void it(`builds a valid ${kind} base torrent`, () => {
      const m = parseTorrent(base.bytes);
      assert.equal(m.version, base.version);
      assert.equal(m.name, base.name);
      assert.equal(m.multiFile, base.multiFile);
      assert.equal(m.length, base.files.reduce((n, f) => n + f.data.length, 0));
    });
  }
});

void describe('parseTorrent refuses every corrupt torrent with its code', () => {
  for (const c of corpus) {
    void it(c.id, () => {
      assert.throws(
        () => parseTorrent(c.bytes),
        (e: unknown) => {
          assert.ok(e instanceof ShoalError, `not a ShoalError: ${String(e)}`);
          assert.ok(e instanceof (c.code === 'ERR_BENCODE' ? BencodeError : MetainfoError), `wrong class: ${e.name}`);
          assert.equal(e.code, c.code, e.message);
          assert.ok(e.message.includes(c.message), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(c.message)}`);
          assert.ok(!e.message.includes('\n'), 'the message is one line');
          return true;
        },
      );
    });
  }
});

void describe('the CLI accepts the valid bases (control)', { concurrency: CONCURRENCY }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await work.cleanup();
  });

  for (const [kind, base] of baseList) {
    void it(`info and verify of the ${kind} base exit 0`, async () => {
      const dir = join(work.dir, kind);
      await mkdir(join(dir, 'data'), { recursive: true });
      const file = join(dir, 't.torrent');
      await writeFile(file, base.bytes);
      await writeContent(base, join(dir, 'data'));
      const info = await shoal(['info', file, '--json']);
      assert.equal(info.code, 0, info.stderr);
      assert.equal(info.stderr, '');
      const d = JSON.parse(info.stdout) as { name: string; version: string };
      assert.equal(d.name, base.name);
      assert.equal(d.version, base.version);
      const verify = await shoal(['verify', file, join(dir, 'data'), '--json']);
      assert.equal(verify.code, 0, verify.stderr + verify.stdout);
      assert.equal((JSON.parse(verify.stdout) as { complete: boolean }).complete, true);
    });
  }
});

void describe('shoal info --json refuses every corrupt torrent', { concurrency: CONCURRENCY }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
    for (const c of corpus) await writeFile(join(work.dir, `${c.id}.torrent`), c.bytes);
  });
  after(async () => {
    await work.cleanup();
  });

  for (const c of corpus) {
    void it(c.id, async () => {
      const file = join(work.dir, `${c.id}.torrent`);
      const r = await shoal(['info', file, '--json']);
      assertRefused(r, c.message, `${file}: `);
      assert.equal(r.stdout, '');
    });
  }
});

void describe('shoal verify refuses every corrupt torrent and writes nothing', { concurrency: CONCURRENCY }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await work.cleanup();
  });

  const run = async (c: BadCase, withData: boolean): Promise<void> => {
    // <case>/t.torrent and <case>/data (the target): the snapshot covers the target and its parent.
    const root = join(work.dir, `${c.id}${withData ? '' : '-empty'}`);
    const data = join(root, 'data');
    await mkdir(data, { recursive: true });
    const file = join(root, 't.torrent');
    await writeFile(file, c.bytes);
    if (withData) {
      await writeContent(bases.v1, data);
      await writeContent(bases.v2, data);
    }
    const before = await snapshot(root);
    const r = await shoal(['verify', file, data]);
    assertRefused(r, c.message, `${file}: `);
    assert.equal(r.stdout, '');
    assert.deepEqual(await snapshot(root), before, 'the target folder changed');
  };

  for (const c of corpus) {
    void it(c.id, () => run(c, true));
  }
  void it('an empty target folder stays empty (path traversal case)', () => run(corpus.find((c) => c.id === 'path-dot-dot')!, false));
});

void describe('shoal info and verify with a torrent argument that is not a torrent file', { concurrency: CONCURRENCY }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await work.cleanup();
  });

  /** Both commands on `file`: exit 2, one line, no stdout, the target folder untouched. */
  const both = async (id: string, file: (dir: string) => Promise<string>, expected: string | RegExp, timeoutMs?: number): Promise<void> => {
    const dir = join(work.dir, id);
    await mkdir(join(dir, 'data'), { recursive: true });
    const path = await file(dir);
    const before = await snapshot(dir);
    const opts = timeoutMs === undefined ? {} : { timeoutMs };
    const info = await shoal(['info', path, '--json'], opts);
    assertRefused(info, expected);
    assert.equal(info.stdout, '');
    const verify = await shoal(['verify', path, join(dir, 'data')], opts);
    assertRefused(verify, expected);
    assert.equal(verify.stdout, '');
    assert.deepEqual(await snapshot(dir), before);
  };

  void it('a file that does not exist', () => both('missing', (d) => Promise.resolve(join(d, 'nope.torrent')), /cannot read .*nope\.torrent: ENOENT/));
  void it('a folder', () => both('folder', (d) => Promise.resolve(join(d, 'data')), /EISDIR|director|folder/));
  void it('a file over 64 MiB (sparse; refused before it is read)', () =>
    both('huge', async (d) => {
      const path = join(d, 'huge.torrent');
      await writeFile(path, 'd4:info');
      await truncate(path, 64 * 1024 * 1024 + 1);
      return path;
    }, 'the torrent file is over 67108864 bytes'));
  void it('a FIFO is refused, not waited on forever', () =>
    both('fifo', (d) => {
      const path = join(d, 'pipe.torrent');
      execFileSync('mkfifo', [path]);
      return Promise.resolve(path);
    }, /pipe\.torrent/, 3000));
});

void describe('shoal create with bad arguments exits 2 and writes no torrent', { concurrency: CONCURRENCY }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await work.cleanup();
  });

  /** Runs `shoal create` in a fresh folder holding `src/file.bin` (40000 bytes) and an empty `empty/`. */
  const create = async (id: string, args: (dir: string) => string[], expected: string | RegExp, setup?: (dir: string) => Promise<void>): Promise<void> => {
    const dir = join(work.dir, id);
    await mkdir(join(dir, 'src'), { recursive: true });
    await mkdir(join(dir, 'empty'));
    await writeFile(join(dir, 'src', 'file.bin'), bases.v2.files[0]!.data);
    await setup?.(dir);
    const before = await snapshot(dir);
    const r = await shoal(['create', ...args(dir)], { cwd: dir });
    assertRefused(r, expected);
    assert.equal(r.stdout, '');
    assert.deepEqual(await snapshot(dir), before, 'something was written');
  };

  void it('a path that does not exist', () =>
    create('missing', (d) => [join(d, 'nope'), '-o', join(d, 'out.torrent')], /cannot read .*nope/));
  void it('a path that does not exist, default output name', () => create('missing-default', (d) => [join(d, 'nope')], /cannot read .*nope/));
  void it('--piece-length 1000 (not a power of two)', () =>
    create('pl-1000', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '--piece-length', '1000'], 'piece length 1000 must be a power of two'));
  void it('--piece-length 8K (below 16 KiB)', () =>
    create('pl-8k', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '--piece-length', '8K'], 'piece length 8192 must be a power of two of at least 16384'));
  void it('--piece-length 1000 --v2', () =>
    create('pl-1000-v2', (d) => [join(d, 'src'), '--v2', '-o', join(d, 'out.torrent'), '-l', '1000'], 'piece length 1000 must be a power of two'));
  void it('--piece-length that is not a size', () =>
    create('pl-abc', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '--piece-length', 'lots'], '--piece-length "lots" is not a size'));
  void it('--v1 --v2 together', () =>
    create('v1-v2', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '--v1', '--v2'], /--v1.*--v2|--v2.*--v1/));
  void it('--v2 --hybrid together', () =>
    create('v2-hybrid', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '--v2', '--hybrid'], /--v2.*--hybrid|--hybrid.*--v2/));
  void it('an empty folder', () => create('empty', (d) => [join(d, 'empty'), '-o', join(d, 'out.torrent')], 'nothing to share'));
  void it('a tracker that is not a URL', () =>
    create('bad-tracker', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '-t', 'not a url'], '"not a url" is not a URL'));
  void it('a bad --date', () => create('bad-date', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '--date', 'yesterday'], '--date takes seconds'));
  void it('--piece-length 0', () =>
    create('pl-0', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '-l', '0'], 'piece length 0 must be a power of two'));
  void it('--piece-length 1G (over the 512 MiB a torrent may have)', () =>
    create('pl-1g', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '-l', '1G'], /piece length 1073741824 .*536870912/));
  void it('an output folder that does not exist', () =>
    create('no-out-dir', (d) => [join(d, 'src'), '-o', join(d, 'nodir', 'out.torrent')], /cannot write \S*nodir\/out\.torrent: ENOENT/));
  void it('a reserved --name', () => create('bad-name', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent'), '--name', 'CON'], 'reserved device name "CON"'));
  void it('an unknown option', () => create('unknown-option', (d) => [join(d, 'src'), '--frobnicate'], /unknown option '--frobnicate'/));
  void it('an existing output without --force is left as it was', () =>
    create('exists', (d) => [join(d, 'src'), '-o', join(d, 'out.torrent')], 'already exists', (d) => writeFile(join(d, 'out.torrent'), 'keep me')));

  void it('the same folder with good arguments does write a torrent (control)', async () => {
    const dir = join(work.dir, 'control');
    await mkdir(join(dir, 'src'), { recursive: true });
    await writeFile(join(dir, 'src', 'file.bin'), bases.v2.files[0]!.data);
    const r = await shoal(['create', join(dir, 'src'), '-o', join(dir, 'out.torrent'), '--v2', '-l', '16K', '-q'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const m = parseTorrent(await readFile(join(dir, 'out.torrent')));
    assert.equal(m.version, 'v2');
    assert.equal(m.pieceLength, 16384);
  });
});

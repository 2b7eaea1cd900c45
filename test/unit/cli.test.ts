import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { shoal, tempDir } from '../helpers/cli.js';

interface VerifyJson {
  complete: boolean;
  piecesBad: number;
  piecesMissing: number;
  badPieces: number[];
  files: { path: string; complete: boolean }[];
}

async function sampleFolder(root: string): Promise<string> {
  const data = join(root, 'sample');
  await mkdir(join(data, 'sub'), { recursive: true });
  await writeFile(join(data, 'a.txt'), 'hello world\n'.repeat(5000));
  await writeFile(join(data, 'sub', 'b.bin'), Buffer.alloc(70000, 7));
  await writeFile(join(data, 'sub', 'empty'), '');
  return data;
}

test('create → info → verify through the CLI, text and JSON', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const data = await sampleFolder(dir);
    const created = await shoal(['create', data, '-o', 'x.torrent', '--hybrid', '-t', 'http://127.0.0.1:1/a', '-w', 'http://127.0.0.1:2/w', '--private', '--comment', 'hi', '--json'], { cwd: dir });
    assert.equal(created.code, 0, created.stderr);
    const c = JSON.parse(created.stdout) as { version: string; torrent: string; infoHash: string; infoHashV2: string };
    assert.equal(c.version, 'hybrid');
    assert.equal(c.torrent, join(dir, 'x.torrent'));
    assert.match(c.infoHash, /^[0-9a-f]{40}$/);
    assert.match(c.infoHashV2, /^[0-9a-f]{64}$/);

    const info = await shoal(['info', 'x.torrent', '--json'], { cwd: dir });
    assert.equal(info.code, 0, info.stderr);
    const d = JSON.parse(info.stdout) as Record<string, unknown> & { name: string; length: number; files: unknown; announce: string[]; webSeeds: string[]; private: boolean; comment: string; magnet: string; infoHash: string; infoHashV2: string };
    for (const key of ['infoHash', 'infoHashV2', 'name', 'length', 'pieceLength', 'pieceCount', 'files', 'announce', 'magnet']) {
      assert.ok(key in d, `info --json has ${key}`);
    }
    assert.equal(d.name, 'sample');
    assert.equal(d.length, 60000 + 70000);
    assert.deepEqual(d.files, [
      { path: 'sample/a.txt', length: 60000 },
      { path: 'sample/sub/b.bin', length: 70000 },
      { path: 'sample/sub/empty', length: 0 },
    ]);
    assert.deepEqual(d.announce, ['http://127.0.0.1:1/a']);
    assert.deepEqual(d.webSeeds, ['http://127.0.0.1:2/w']);
    assert.equal(d.private, true);
    assert.equal(d.comment, 'hi');
    assert.ok(d.magnet.startsWith(`magnet:?xt=urn:btih:${d.infoHash}&xt=urn:btmh:1220${d.infoHashV2}&dn=sample`));

    const text = await shoal(['info', 'x.torrent'], { cwd: dir });
    assert.match(text.stdout, /^name: +sample$/m);
    assert.match(text.stdout, new RegExp(`^info-hash v2: +${d.infoHashV2}$`, 'm'));
    assert.match(text.stdout, /^private: +yes$/m);

    const magnet = await shoal(['info', d.magnet, '--json']);
    assert.equal(magnet.code, 0, magnet.stderr);
    const m = JSON.parse(magnet.stdout) as { type: string; infoHash: string; infoHashV2: string; name: string };
    assert.deepEqual([m.type, m.infoHash, m.infoHashV2, m.name], ['magnet', d.infoHash, d.infoHashV2, 'sample']);

    // verify accepts both the download folder and the data folder itself
    for (const target of [dir, data]) {
      const v = await shoal(['verify', 'x.torrent', target, '--json'], { cwd: dir });
      assert.equal(v.code, 0, v.stderr);
      const r = JSON.parse(v.stdout) as VerifyJson;
      assert.equal(r.complete, true);
      assert.deepEqual([r.piecesBad, r.piecesMissing, r.badPieces], [0, 0, []]);
      assert.ok(r.files.every((f) => f.complete));
    }
    await writeFile(join(data, 'sub', 'b.bin'), Buffer.alloc(70000, 8));
    const bad = await shoal(['verify', 'x.torrent', dir, '--json'], { cwd: dir });
    assert.equal(bad.code, 1);
    const br = JSON.parse(bad.stdout) as VerifyJson;
    assert.equal(br.complete, false);
    assert.ok(br.piecesBad > 0);
    assert.deepEqual(br.files.filter((f) => !f.complete).map((f) => f.path), ['sample/sub/b.bin']);
  } finally {
    await cleanup();
  }
});

test('create refuses to overwrite without --force, and writes nothing on failure', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const data = await sampleFolder(dir);
    assert.equal((await shoal(['create', data, '-o', 'y.torrent', '-q'], { cwd: dir })).code, 0);
    const before = (await stat(join(dir, 'y.torrent'))).mtimeMs;
    const again = await shoal(['create', data, '-o', 'y.torrent', '-q'], { cwd: dir });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^shoal: .*already exists.*--force/);
    assert.equal((await stat(join(dir, 'y.torrent'))).mtimeMs, before);
    assert.equal((await shoal(['create', data, '-o', 'y.torrent', '-q', '--force', '--v2'], { cwd: dir })).code, 0);
    // default output name is <name>.torrent in the working folder
    assert.equal((await shoal(['create', data, '-q'], { cwd: dir })).code, 0);
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, ['sample', 'sample.torrent', 'y.torrent']);
  } finally {
    await cleanup();
  }
});

test('--help and --version exit 0; an unknown command exits 2 with one line', async () => {
  const help = await shoal(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /create/);
  const version = await shoal(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  const unknown = await shoal(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr.trim().split('\n').length, 1);
});

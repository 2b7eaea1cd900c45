/**
 * Data for the swarm interop tests, made at run time from the suite's seeded PRNG (fixtures.ts), and
 * the check that a download is complete and byte-identical: every file's size and SHA-256.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import assert from 'node:assert/strict';
import { fixturePath, writeFixture } from './fixtures.js';
import type { Fixture } from './fixtures.js';

const MiB = 1024 * 1024;
export { MiB };

/** A single-file fixture of `size` bytes named `name` (contents keyed by the name). */
export function fileFixture(name: string, size: number): Fixture {
  return { name, label: `${name} (${size} bytes)`, kind: 'file', files: [{ path: name, size }] };
}

/** Writes the fixture under `parent` (as `parent/<name>`); returns its path. */
export function writeData(parent: string, fx: Fixture): Promise<string> {
  return writeFixture(parent, fx);
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Every regular file under `root` (relative, "/"-separated), sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(root, p).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

/**
 * Asserts that the fixture as downloaded into `gotParent` is complete and byte-identical to the
 * original in `srcParent`: same size and SHA-256 for every file (empty files included).
 */
export async function assertSameData(fx: Fixture, srcParent: string, gotParent: string, who: string): Promise<void> {
  for (const f of fx.files) {
    const want = fixturePath(srcParent, fx, f.path);
    const got = fixturePath(gotParent, fx, f.path);
    const st = await stat(got).catch(() => undefined);
    if (!st?.isFile()) assert.fail(`${who}: ${f.path} is missing from ${gotParent}`);
    assert.equal(st.size, f.size, `${who}: ${f.path} has ${st.size} bytes, expected ${f.size}`);
    assert.equal(await sha256File(got), await sha256File(want), `${who}: ${f.path} differs from the original (SHA-256)`);
  }
}

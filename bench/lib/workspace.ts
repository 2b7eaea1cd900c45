/**
 * The benchmark's scratch space: a fresh folder /dev/shm/shoal-bench-<pid> (memory-backed, so the data
 * is always "in page cache" and the disk is out of the picture), removed at the end, on errors and on
 * Ctrl-C / SIGTERM. The data is AES-256-CTR keystream (a fixed key over zeros): incompressible,
 * deterministic (same bytes every run, hence the same info-hashes) and generated at GB/s.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHUNK = 16 * 1024 * 1024;

export interface Workspace {
  dir: string;
  /** True when /dev/shm was not usable and the OS temp folder (maybe a real disk) is used instead. */
  onDisk: boolean;
  remove(): void;
}

export function createWorkspace(): Workspace {
  const shm = '/dev/shm';
  const onDisk = !(existsSync(shm) && statSync(shm).isDirectory());
  const dir = join(onDisk ? tmpdir() : shm, `shoal-bench-${process.pid}`);
  rmSync(dir, { recursive: true, force: true }); // a leftover from an earlier process with this pid
  mkdirSync(dir, { recursive: true });
  let removed = false;
  return {
    dir,
    onDisk,
    remove(): void {
      if (removed) return;
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `bytes` of deterministic pseudo-random data to `path` (async, so signals are handled between chunks). */
export async function generateData(path: string, bytes: number, seed = 'shoal-bench v1'): Promise<void> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(CHUNK, bytes));
  const fh = await open(path, 'w');
  try {
    let left = bytes;
    while (left > 0) {
      const n = Math.min(left, zeros.length);
      const chunk = cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n));
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
        off += bytesWritten;
      }
      left -= n;
    }
  } finally {
    await fh.close();
  }
}

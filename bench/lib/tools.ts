/** Finding the programs the benchmark compares: shoal itself, mktorrent and python3-libtorrent. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Tools } from './types.js';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

function libtorrentVersion(python: string): string | null {
  if (!existsSync(python)) return null;
  const r = spawnSync(python, ['-c', 'import libtorrent as lt; print(lt.__version__)'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function findTools(repoRoot: string): Tools {
  const ltVersion = libtorrentVersion(SYSTEM_PYTHON);
  return {
    node: process.execPath,
    shoal: join(repoRoot, 'bin', 'shoal.js'),
    python: ltVersion !== null ? SYSTEM_PYTHON : null,
    ltPy: join(repoRoot, 'test', 'interop', 'tools', 'lt.py'),
    mktorrent: findOnPath('mktorrent'),
    libtorrentVersion: ltVersion,
  };
}

/** "mktorrent 1.1" from its help text, or null. */
export function mktorrentVersion(path: string): string | null {
  const r = spawnSync(path, ['-h'], { encoding: 'utf8', timeout: 10_000 });
  const m = /mktorrent\s+([\w.]+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? m[1]! : null;
}

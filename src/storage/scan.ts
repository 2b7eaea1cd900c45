/**
 * Walking a file or folder to share. What other tools do, we do: symlinks are followed (to files and
 * to folders, with loop detection), broken links and special files (FIFOs, sockets, devices) are left
 * out with a warning, hidden files are kept, and entries are ordered by their name bytes at every
 * level, so the same folder always gives the same torrent.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { componentProblem } from '../metainfo/paths.js';
import { StorageError } from './errors.js';

export interface ScannedFile {
  /** Path inside the torrent (relative to the shared folder; for a single file, its name). */
  path: string[];
  /** Absolute path to read from. */
  source: string;
  length: number;
  executable: boolean;
}

export interface ScanResult {
  name: string;
  /** True when the input is a folder (a multi-file torrent). */
  multiFile: boolean;
  files: ScannedFile[];
  warnings: string[];
}

function byNameBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function refuseName(name: string, where: string): void {
  const problem = componentProblem(name);
  if (problem !== undefined) {
    throw new StorageError('ERR_STORAGE_NAME', 'scan', `cannot share ${where}: it has ${problem}`, where);
  }
}

export async function scanPath(input: string): Promise<ScanResult> {
  const root = resolve(input);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    throw new StorageError('ERR_STORAGE_NOT_FOUND', 'stat', `cannot read ${input}: ${(e as Error).message}`, input);
  }
  const name = basename(root);
  refuseName(name, input);
  const warnings: string[] = [];
  if (st.isFile()) {
    return { name, multiFile: false, files: [{ path: [name], source: root, length: st.size, executable: (st.mode & 0o100) !== 0 }], warnings };
  }
  if (!st.isDirectory()) throw new StorageError('ERR_STORAGE_SPECIAL', 'scan', `${input} is neither a file nor a folder`, input);

  const files: ScannedFile[] = [];
  const walk = async (dir: string, rel: string[], ancestors: Set<string>): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      throw new StorageError('ERR_STORAGE_IO', 'scan', `cannot list ${dir}: ${(e as Error).message}`, dir);
    }
    names.sort(byNameBytes);
    for (const entry of names) {
      const full = join(dir, entry);
      const relPath = [...rel, entry];
      let est;
      try {
        est = await stat(full); // follows symlinks
      } catch {
        warnings.push(`skipped ${relPath.join('/')}: broken symbolic link or unreadable`);
        continue;
      }
      refuseName(entry, full);
      if (est.isDirectory()) {
        const id = `${est.dev}:${est.ino}`;
        if (ancestors.has(id)) {
          warnings.push(`skipped ${relPath.join('/')}: symbolic link loop`);
          continue;
        }
        await walk(full, relPath, new Set([...ancestors, id]));
      } else if (est.isFile()) {
        files.push({ path: relPath, source: full, length: est.size, executable: (est.mode & 0o100) !== 0 });
      } else {
        warnings.push(`skipped ${relPath.join('/')}: not a regular file`);
      }
    }
  };
  await walk(root, [], new Set([`${st.dev}:${st.ino}`]));
  return { name, multiFile: true, files, warnings };
}

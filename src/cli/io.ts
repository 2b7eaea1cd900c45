/** Small I/O helpers for the commands: reading a torrent argument and writing a file atomically. */
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { parseTorrent, MAX_TORRENT_FILE_BYTES } from '../metainfo/parse.js';
import type { Metainfo } from '../metainfo/types.js';
import { MetainfoError } from '../metainfo/errors.js';
import { UsageError } from './errors.js';

export async function loadTorrentFile(path: string): Promise<Metainfo> {
  let size: number;
  try {
    const st = await stat(path);
    // A FIFO or a device would be read forever; a folder is not a torrent.
    if (st.isDirectory()) throw new UsageError(`${path} is a folder, not a torrent file`);
    if (!st.isFile()) throw new UsageError(`${path} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > MAX_TORRENT_FILE_BYTES) throw new MetainfoError('ERR_METAINFO_LIMIT', `${path}: the torrent file is over ${MAX_TORRENT_FILE_BYTES} bytes`);
  const bytes = await readFile(path);
  try {
    return parseTorrent(bytes);
  } catch (e) {
    if (e instanceof Error) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

/**
 * Writes `data` to `path` through a temporary file in the same folder and a rename, so a failure
 * (disk full, interrupted) never leaves a half-written file behind.
 */
export async function writeFileAtomic(path: string, data: Uint8Array, overwrite: boolean): Promise<void> {
  if (!overwrite) {
    const exists = await stat(path).then(() => true, () => false);
    if (exists) throw new UsageError(`${path} already exists (use --force to overwrite)`);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot write ${path}: ${code ?? (e as Error).message}`);
  }
}

/**
 * Positional reads and writes of piece data over `fs/promises` file handles: the storage the swarm
 * engine writes blocks into. A range of a piece is mapped to the files it covers; pad files read as
 * zeros and are never written. Handles are opened lazily and kept in a small LRU; writes never
 * truncate (O_CREAT without O_TRUNC), so what is already on disk is never lost.
 */
import { open, mkdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Metainfo } from '../metainfo/types.js';
import { ArgumentError } from '../util/errors.js';
import { StorageError } from './errors.js';
import type { StorageOp } from './errors.js';
import { PieceLayout } from './piece-layout.js';

export interface FileStorageOptions {
  /** `dir` is the torrent's own folder rather than the folder holding it. */
  contentFolder?: boolean;
  maxOpenFiles?: number;
}

function storageError(e: unknown, op: StorageOp, path: string): StorageError {
  const code = (e as NodeJS.ErrnoException).code;
  const errCode = code === 'ENOSPC' || code === 'EDQUOT' ? 'ERR_STORAGE_FULL' : code === 'ENOENT' ? 'ERR_STORAGE_MISSING' : 'ERR_STORAGE_IO';
  return new StorageError(errCode, op, `cannot ${op} ${path}: ${code ?? (e as Error).message}`, path, { cause: e });
}

export class FileStorage {
  private readonly layout: PieceLayout;
  private readonly paths: (string | null)[];
  private readonly handles = new Map<number, Handle>();
  private readonly maxOpen: number;

  constructor(m: Metainfo, dir: string, opts: FileStorageOptions = {}) {
    this.layout = PieceLayout.of(m);
    const strip = opts.contentFolder === true && m.multiFile;
    this.paths = m.files.map((f) => (f.pad ? null : join(dir, ...(strip ? f.path.slice(1) : f.path))));
    this.maxOpen = opts.maxOpenFiles ?? 64;
  }

  /** Reads `length` bytes at `offset` inside piece `piece`. Missing data is an error (ERR_STORAGE_MISSING). */
  async read(piece: number, offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    let pos = 0;
    for (const s of this.ranges(piece, offset, length)) {
      const path = this.paths[s.fileIndex];
      if (path === null || path === undefined) {
        out.fill(0, pos, pos + s.length);
      } else {
        await this.withHandle(s.fileIndex, false, async (fh) => {
          let done = 0;
          while (done < s.length) {
            let n: number;
            try {
              ({ bytesRead: n } = await fh.read(out, pos + done, s.length - done, s.fileOffset + done));
            } catch (e) {
              throw storageError(e, 'read', path);
            }
            if (n === 0) throw new StorageError('ERR_STORAGE_MISSING', 'read', `${path} is shorter than the torrent says`, path);
            done += n;
          }
        });
      }
      pos += s.length;
    }
    return out;
  }

  /** Writes `data` at `offset` inside piece `piece` (no copy: slices of `data` go to the file handles). */
  write(piece: number, offset: number, data: Uint8Array): Promise<void> {
    return this.writev(piece, offset, [data]);
  }

  /**
   * Writes consecutive chunks starting at `offset` inside piece `piece` with one vectored write per
   * file they cover: many blocks, one system call, no copies.
   */
  async writev(piece: number, offset: number, chunks: readonly Uint8Array[]): Promise<void> {
    let total = 0;
    for (const c of chunks) total += c.length;
    let ci = 0; // current chunk
    let co = 0; // offset inside it
    for (const s of this.ranges(piece, offset, total)) {
      // Views of the chunks covering this file range.
      const parts: Uint8Array[] = [];
      let need = s.length;
      while (need > 0) {
        const c = chunks[ci]!;
        const take = Math.min(need, c.length - co);
        parts.push(co === 0 && take === c.length ? c : c.subarray(co, co + take));
        need -= take;
        co += take;
        if (co === c.length) {
          ci++;
          co = 0;
        }
      }
      const path = this.paths[s.fileIndex];
      if (path === null || path === undefined) continue; // pad file: never written
      await this.withHandle(s.fileIndex, true, async (fh) => {
        let position = s.fileOffset;
        let rest = parts;
        while (rest.length > 0) {
          let bytesWritten: number;
          try {
            ({ bytesWritten } = await fh.writev(rest, position));
          } catch (e) {
            throw storageError(e, 'write', path);
          }
          position += bytesWritten;
          // A short write (rare) continues where it stopped.
          while (rest.length > 0 && bytesWritten >= rest[0]!.length) {
            bytesWritten -= rest[0]!.length;
            rest = rest.slice(1);
          }
          if (bytesWritten > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)];
        }
      });
    }
  }

  /** Creates the torrent's zero-length files, which no piece write ever touches. */
  async createEmptyFiles(): Promise<void> {
    for (let i = 0; i < this.paths.length; i++) {
      if (this.paths[i] !== null && this.layout.files[i]!.length === 0) await this.withHandle(i, true, () => Promise.resolve());
    }
  }

  async close(): Promise<void> {
    const all = [...this.handles.entries()];
    for (const [i, e] of all) this.retire(i, e);
    await Promise.all(all.map(([, e]) => (e.users === 0 ? closeQuietly(e.fh) : Promise.resolve())));
  }

  private ranges(piece: number, offset: number, length: number): { fileIndex: number; fileOffset: number; length: number }[] {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.layout.pieceCount) throw new ArgumentError(`no piece ${piece}`);
    const size = this.layout.pieceSize(piece);
    if (offset < 0 || length < 0 || offset + length > size) throw new ArgumentError(`range ${offset}+${length} is outside piece ${piece} (${size} bytes)`);
    const out = [];
    for (const s of this.layout.slices(piece)) {
      const sliceStart = s.fileOffset;
      // Position of this slice inside the piece.
      const inPiece = this.layout.files[s.fileIndex]!.offset + s.fileOffset - piece * this.layout.pieceLength;
      const from = Math.max(inPiece, offset);
      const to = Math.min(inPiece + s.length, offset + length);
      if (to > from) out.push({ fileIndex: s.fileIndex, fileOffset: sliceStart + (from - inPiece), length: to - from });
    }
    return out;
  }

  /**
   * A handle for the file, opened once even when many reads and writes ask at the same moment.
   * Handles are reference-counted, so evicting one (past `maxOpenFiles`) never closes it under an
   * operation still using it; a read-only handle is replaced by a writable one on the first write.
   */
  private async withHandle<T>(fileIndex: number, writable: boolean, use: (fh: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.handles.get(fileIndex);
    if (!entry || (writable && !entry.writable)) {
      if (entry) this.retire(fileIndex, entry);
      entry = { fh: this.openFile(fileIndex, writable), writable, users: 0, retired: false };
      this.handles.set(fileIndex, entry);
      this.evict();
    } else {
      this.handles.delete(fileIndex);
      this.handles.set(fileIndex, entry); // LRU: most recent last
    }
    const e = entry;
    e.users++;
    try {
      return await use(await e.fh);
    } finally {
      e.users--;
      if (e.retired && e.users === 0) await closeQuietly(e.fh);
    }
  }

  private async openFile(fileIndex: number, writable: boolean): Promise<FileHandle> {
    const path = this.paths[fileIndex]!;
    try {
      if (!writable) return await open(path, 'r');
      await mkdir(dirname(path), { recursive: true });
      return await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    } catch (e) {
      this.handles.delete(fileIndex);
      throw storageError(e, 'open', path);
    }
  }

  private retire(fileIndex: number, entry: Handle): void {
    if (this.handles.get(fileIndex) === entry) this.handles.delete(fileIndex);
    entry.retired = true;
    if (entry.users === 0) void closeQuietly(entry.fh);
  }

  private evict(): void {
    for (const [i, e] of this.handles) {
      if (this.handles.size <= this.maxOpen) break;
      this.retire(i, e);
    }
  }
}

interface Handle {
  fh: Promise<FileHandle>;
  writable: boolean;
  users: number;
  retired: boolean;
}

async function closeQuietly(fh: Promise<FileHandle>): Promise<void> {
  try {
    await (await fh).close();
  } catch {
    // opening failed (already reported) or already closed
  }
}

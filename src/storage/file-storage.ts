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
  private readonly handles = new Map<number, { fh: FileHandle; writable: boolean }>();
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
        const fh = await this.handle(s.fileIndex, false);
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
      }
      pos += s.length;
    }
    return out;
  }

  /** Writes `data` at `offset` inside piece `piece` (no copy: slices of `data` go to the file handles). */
  async write(piece: number, offset: number, data: Uint8Array): Promise<void> {
    let pos = 0;
    for (const s of this.ranges(piece, offset, data.length)) {
      const path = this.paths[s.fileIndex];
      if (path !== null && path !== undefined) {
        const fh = await this.handle(s.fileIndex, true);
        let done = 0;
        while (done < s.length) {
          try {
            const { bytesWritten } = await fh.write(data, pos + done, s.length - done, s.fileOffset + done);
            done += bytesWritten;
          } catch (e) {
            throw storageError(e, 'write', path);
          }
        }
      }
      pos += s.length;
    }
  }

  /** Creates the torrent's zero-length files, which no piece write ever touches. */
  async createEmptyFiles(): Promise<void> {
    for (let i = 0; i < this.paths.length; i++) {
      if (this.paths[i] !== null && this.layout.files[i]!.length === 0) await this.handle(i, true);
    }
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.fh.close()));
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

  private async handle(fileIndex: number, writable: boolean): Promise<FileHandle> {
    const cached = this.handles.get(fileIndex);
    if (cached && (cached.writable || !writable)) {
      this.handles.delete(fileIndex);
      this.handles.set(fileIndex, cached);
      return cached.fh;
    }
    if (cached) {
      this.handles.delete(fileIndex);
      await cached.fh.close();
    }
    const path = this.paths[fileIndex]!;
    let fh: FileHandle;
    try {
      if (writable) {
        await mkdir(dirname(path), { recursive: true });
        fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
      } else {
        fh = await open(path, 'r');
      }
    } catch (e) {
      throw storageError(e, 'open', path);
    }
    if (this.handles.size >= this.maxOpen) {
      const [oldest, h] = this.handles.entries().next().value as [number, { fh: FileHandle }];
      this.handles.delete(oldest);
      await h.fh.close();
    }
    this.handles.set(fileIndex, { fh, writable });
    return fh;
  }
}

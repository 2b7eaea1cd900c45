/**
 * Hash worker: reads pieces straight from disk with positional reads and hashes them, so hashing a
 * large folder uses every core while the main thread only hands out work. One reusable read buffer
 * per worker keeps memory flat whatever the input size.
 */
import { parentPort } from 'node:worker_threads';
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { BLOCK_SIZE, HASH_SIZE, padHash } from '../metainfo/merkle.js';
import { PIECE_MISSING, PIECE_OK } from './hash-protocol.js';
import type { HashJob, HashJobResult, PieceTask, WorkerRequest } from './hash-protocol.js';

const MAX_OPEN_FILES = 64;
const openFiles = new Map<string, number>();
let buffer = Buffer.alloc(0);
let leafScratch = Buffer.alloc(0);

class MissingData extends Error {}

function fdFor(path: string): number {
  let fd = openFiles.get(path);
  if (fd !== undefined) {
    // Refresh LRU position.
    openFiles.delete(path);
    openFiles.set(path, fd);
    return fd;
  }
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EACCES') throw new MissingData(path);
    throw e;
  }
  if (openFiles.size >= MAX_OPEN_FILES) {
    const [oldPath, oldFd] = openFiles.entries().next().value as [string, number];
    openFiles.delete(oldPath);
    closeSync(oldFd);
  }
  openFiles.set(path, fd);
  return fd;
}

function release(): void {
  for (const fd of openFiles.values()) closeSync(fd);
  openFiles.clear();
}

function readPiece(task: PieceTask): number {
  let size = 0;
  for (const s of task.segments) size += s.length;
  if (buffer.length < size) buffer = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const s of task.segments) {
    if (s.path === null) {
      buffer.fill(0, pos, pos + s.length);
      pos += s.length;
      continue;
    }
    const fd = fdFor(s.path);
    let done = 0;
    while (done < s.length) {
      const n = readSync(fd, buffer, pos + done, s.length - done, s.offset + done);
      if (n === 0) throw new MissingData(s.path); // file shorter than the torrent says
      done += n;
    }
    pos += s.length;
  }
  return size;
}

/** Merkle root over `data` as `leaves` leaves; zero leaves beyond the data. */
function merkleRoot(data: Buffer, leaves: number, out: Uint8Array, outOffset: number): void {
  const blocks = Math.ceil(data.length / BLOCK_SIZE);
  if (leafScratch.length < leaves * HASH_SIZE) leafScratch = Buffer.allocUnsafe(leaves * HASH_SIZE);
  for (let i = 0; i < blocks; i++) {
    const h = createHash('sha256').update(data.subarray(i * BLOCK_SIZE, Math.min(data.length, (i + 1) * BLOCK_SIZE)));
    h.digest().copy(leafScratch, i * HASH_SIZE);
  }
  leafScratch.fill(0, blocks * HASH_SIZE, leaves * HASH_SIZE);
  // Reduce in place: level by level, pairs are hashed into the front of the scratch buffer.
  let width = leaves;
  let height = 0;
  let real = blocks; // nodes at this level that cover data; the rest are pad subtrees
  while (width > 1) {
    const pad = padHash(height);
    const nextReal = Math.ceil(real / 2);
    for (let i = 0; i < nextReal; i++) {
      const left = leafScratch.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE);
      const right = 2 * i + 1 < real ? leafScratch.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE) : pad;
      createHash('sha256').update(left).update(right).digest().copy(leafScratch, i * HASH_SIZE);
    }
    real = nextReal;
    width /= 2;
    height++;
  }
  if (real === 0) padHash(height).copy(out, outOffset);
  else leafScratch.copy(out, outOffset, 0, HASH_SIZE);
}

function runJob(job: HashJob): HashJobResult {
  const n = job.pieces.length;
  const sha1 = new Uint8Array(job.sha1 ? n * 20 : 0);
  const sha256 = new Uint8Array(n * HASH_SIZE);
  const status = new Uint8Array(n);
  job.pieces.forEach((task, i) => {
    let size: number;
    try {
      size = readPiece(task);
    } catch (e) {
      if (e instanceof MissingData) {
        status[i] = PIECE_MISSING;
        return;
      }
      throw e;
    }
    status[i] = PIECE_OK;
    const piece = buffer.subarray(0, size);
    if (job.sha1) sha1.set(createHash('sha1').update(piece).digest(), i * 20);
    if (task.v2Leaves > 0) merkleRoot(piece.subarray(0, task.v2Bytes), task.v2Leaves, sha256, i * HASH_SIZE);
  });
  return { id: job.id, sha1, sha256, status };
}

parentPort!.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'release') {
    release();
    return;
  }
  let result: HashJobResult;
  try {
    result = runJob(msg.job);
  } catch (e) {
    result = { id: msg.job.id, sha1: new Uint8Array(0), sha256: new Uint8Array(0), status: new Uint8Array(0), error: String((e as Error)?.message ?? e) };
  }
  parentPort!.postMessage(result, [result.sha1.buffer, result.sha256.buffer, result.status.buffer] as ArrayBuffer[]);
});

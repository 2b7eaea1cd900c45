/**
 * A pool of hash workers (worker_threads), one per core by default. Jobs queue when every worker is
 * busy; callers bound how many they keep in flight (see `hashPieces`), which is the back-pressure that
 * keeps memory flat while hashing input of any size.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { StorageError } from './errors.js';
import type { HashJob, HashJobResult, PieceTask, WorkerRequest } from './hash-protocol.js';

interface Pending {
  job: HashJob;
  resolve: (r: HashJobResult) => void;
  reject: (e: Error) => void;
}

export interface HashPoolOptions {
  /** Number of worker threads (default: the number of cores). */
  size?: number;
}

export class HashPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(opts: HashPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? availableParallelism());
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./hash-worker.js', import.meta.url));
      w.on('message', (r: HashJobResult) => this.finished(w, r));
      w.on('error', (e) => this.crashed(w, e));
      w.unref();
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Hashes a batch of pieces; resolves with the per-piece digests and statuses. */
  run(pieces: PieceTask[], sha1: boolean): Promise<HashJobResult> {
    if (this.closed) return Promise.reject(new StorageError('ERR_STORAGE_CLOSED', 'hash', 'the hash pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, pieces, sha1 }, resolve, reject });
      this.dispatch();
    });
  }

  /** Closes the files the workers hold open (after a verify, so later runs see replaced files). */
  release(): void {
    const msg: WorkerRequest = { type: 'release' };
    for (const w of this.workers) w.postMessage(msg);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new StorageError('ERR_STORAGE_CLOSED', 'hash', 'the hash pool was closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.running.set(w, p);
      w.ref();
      const msg: WorkerRequest = { type: 'job', job: p.job };
      w.postMessage(msg);
    }
  }

  private finished(w: Worker, r: HashJobResult): void {
    const p = this.running.get(w);
    this.running.delete(w);
    w.unref();
    this.idle.push(w);
    if (p) {
      if (r.error !== undefined) p.reject(new StorageError('ERR_STORAGE_IO', 'hash', r.error));
      else p.resolve(r);
    }
    this.dispatch();
  }

  private crashed(w: Worker, e: Error): void {
    const p = this.running.get(w);
    this.running.delete(w);
    p?.reject(new StorageError('ERR_STORAGE_IO', 'hash', `hash worker failed: ${e.message}`));
  }
}

/** One piece's outcome, as handed to the consumer of `hashPieces`. */
export interface PieceDigest {
  index: number;
  missing: boolean;
  sha1: Uint8Array;
  sha256: Uint8Array;
}

/**
 * Hashes `count` pieces described by `taskOf(i)`, batching them into jobs of about `batchBytes` and
 * keeping at most two jobs per worker in flight. `onPiece` sees every piece once, in no fixed order.
 */
export async function hashPieces(
  pool: HashPool,
  count: number,
  taskOf: (index: number) => PieceTask,
  sha1: boolean,
  onPiece: (d: PieceDigest) => void,
  opts: { batchBytes?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const batchBytes = opts.batchBytes ?? 4 * 1024 * 1024;
  const maxInFlight = pool.size * 2;
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  let next = 0;
  while (next < count) {
    opts.signal?.throwIfAborted();
    const first = next;
    const tasks: PieceTask[] = [];
    let bytes = 0;
    while (next < count && (tasks.length === 0 || bytes < batchBytes)) {
      const t = taskOf(next++);
      for (const s of t.segments) bytes += s.length;
      tasks.push(t);
    }
    const p = pool.run(tasks, sha1).then(
      (r) => {
        try {
          for (let i = 0; i < tasks.length; i++) {
            onPiece({
              index: first + i,
              missing: r.status[i] !== 0,
              sha1: r.sha1.subarray(i * 20, i * 20 + 20),
              sha256: r.sha256.subarray(i * 32, i * 32 + 32),
            });
          }
        } catch (e) {
          failure ??= e instanceof Error ? e : new Error(String(e)); // the consumer refused a piece: stop handing out work
        }
      },
      (e: unknown) => {
        failure ??= e instanceof Error ? e : new Error(String(e));
      },
    );
    const tracked: Promise<void> = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (failure !== undefined) break;
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
}

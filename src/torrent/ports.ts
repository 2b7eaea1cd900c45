/**
 * The small ports a torrent talks to the world through (design.md): a clock, timers, a transport for
 * outgoing connections, the piece store and randomness. `runtime/node` implements them with real
 * sockets, files and worker threads; `runtime/sim` with a virtual clock, a simulated network and an
 * in-memory disk.
 */
import type { PeerAddress } from '../net/compact.js';

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface ConnectionHandlers {
  data(chunk: Buffer): void;
  /** The connection can take more after `write` returned false. */
  drain(): void;
  /** Closed by the remote, by an error, or by us; called once. */
  close(error?: Error): void;
  /** An outgoing connection is established. */
  connect?(): void;
}

/** A stream connection to a peer (TCP in the node runtime). */
export interface Connection {
  readonly remote: PeerAddress;
  setHandlers(h: ConnectionHandlers): void;
  /** Queues chunks in order; false means "buffer full: wait for drain". */
  write(chunks: readonly Buffer[]): boolean;
  /** Stop / resume delivering data (receive back-pressure). */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface Transport {
  connect(to: PeerAddress): Connection;
}

/** Piece data: positional block writes and reads, and hash checks of whole pieces. */
export interface PieceStore {
  write(piece: number, begin: number, data: Buffer): Promise<void>;
  read(piece: number, begin: number, length: number): Promise<Buffer>;
  /** Hashes the piece as stored and compares it with the torrent's hash(es). */
  verify(piece: number): Promise<boolean>;
  close(): Promise<void>;
}

export type Rng = () => number;

/**
 * TCP for the torrent engine: outgoing connections, and a listener that reads the first 48 bytes of
 * an incoming handshake to find which torrent it is for (by info-hash) before handing it over.
 * Writes of several buffers go out corked, as one; `write` reports back-pressure.
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { PeerAddress } from '../../net/compact.js';
import type { AddressFilter } from '../../net/cidr.js';
import type { Connection, ConnectionHandlers, Transport } from '../../torrent/ports.js';

const CONNECT_TIMEOUT_MS = 10_000;

class TcpConnection implements Connection {
  private handlers: ConnectionHandlers | undefined;
  private closed = false;
  private pendingData: Buffer[] = [];

  constructor(
    readonly socket: Socket,
    readonly remote: PeerAddress,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.handlers) this.handlers.data(chunk);
      else this.pendingData.push(chunk);
    });
    socket.on('drain', () => this.handlers?.drain());
    socket.on('connect', () => this.handlers?.connect?.());
    socket.on('error', () => {}); // 'close' follows and reports
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.handlers?.close();
    });
  }

  setHandlers(h: ConnectionHandlers): void {
    this.handlers = h;
    const early = this.pendingData;
    this.pendingData = [];
    for (const c of early) h.data(c);
  }

  write(chunks: readonly Buffer[]): boolean {
    if (this.closed || this.socket.destroyed) return true;
    if (chunks.length === 1) return this.socket.write(chunks[0]!);
    this.socket.cork();
    let ok = true;
    for (const c of chunks) ok = this.socket.write(c);
    this.socket.uncork();
    return ok;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }
}

export class TcpTransport implements Transport {
  constructor(private readonly filter?: AddressFilter) {}

  connect(to: PeerAddress): Connection {
    if (this.filter && !this.filter.allows(to.host)) throw new Error(`${to.host} is outside the allowed networks`);
    const socket = connect({ host: to.host, port: to.port });
    const conn = new TcpConnection(socket, to);
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timeout')));
    socket.once('connect', () => socket.setTimeout(0));
    return conn;
  }
}

export interface IncomingHandshake {
  infoHash: Buffer;
  conn: Connection;
  /** Everything read so far (the handshake start), to be fed to the session. */
  firstBytes: Buffer;
}

/**
 * Listens for peers. `route(infoHash)` says which torrent takes a connection; unknown hashes and
 * refused addresses are closed at once.
 */
export class PeerListener {
  /** One server per address listened on (IPv4, and IPv6 on a dual-stack host). */
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly onHandshake: (h: IncomingHandshake) => boolean,
    private readonly filter?: AddressFilter,
  ) {}

  /** Listens on one more address; an IPv6 one is v6-only, so IPv4 keeps its own socket. */
  listen(port: number, host = '0.0.0.0'): Promise<number> {
    const server = createServer((s) => this.accept(s));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, ...(host.includes(':') ? { ipv6Only: true } : {}) }, () => {
        server.off('error', reject);
        this.servers.push(server);
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  private accept(socket: Socket): void {
    const host = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const port = socket.remotePort ?? 0;
    if (this.filter && !this.filter.allows(host)) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    socket.setTimeout(CONNECT_TIMEOUT_MS * 2, () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length < 48) return;
      socket.off('data', onData);
      socket.pause();
      socket.setTimeout(0);
      const infoHash = Buffer.from(buffered.subarray(28, 48));
      const conn = new TcpConnection(socket, { host, port });
      if (!this.onHandshake({ infoHash, conn, firstBytes: buffered })) socket.destroy();
      else socket.resume();
    };
    socket.on('data', onData);
  }
}

/**
 * The listen side of a simulated host, doing what runtime/node's `PeerListener` does: read the first
 * 48 bytes of an incoming handshake (pstrlen, pstr, reserved, info-hash — BEP 3), find the torrent
 * that serves that info-hash, and hand it the connection with everything read so far
 * (`torrent.addIncoming(conn, firstBytes)`). Unknown hashes are closed at once; a connection that does
 * not send 48 bytes within `handshakeTimeoutMs` is closed.
 */
import type { Connection } from '../../torrent/ports.js';
import type { SimConnection, SimHost } from './network.js';

/** What the listener routes to (a `Torrent` satisfies it). */
export interface IncomingTarget {
  accepts(infoHash: Buffer): Buffer | undefined;
  addIncoming(conn: Connection, firstBytes: Buffer): void;
}

const HANDSHAKE_PREFIX_BYTES = 48;

export class SimPeerListener {
  private readonly targets: IncomingTarget[] = [];
  accepted = 0;
  refused = 0;

  constructor(
    private readonly host: SimHost,
    readonly port: number,
    private readonly handshakeTimeoutMs = 20_000,
  ) {
    host.listen(port, (conn) => this.accept(conn));
  }

  add(target: IncomingTarget): void {
    this.targets.push(target);
  }

  remove(target: IncomingTarget): void {
    const i = this.targets.indexOf(target);
    if (i >= 0) this.targets.splice(i, 1);
  }

  close(): void {
    this.host.unlisten(this.port);
  }

  private accept(conn: SimConnection): void {
    const clock = this.host.network.clock;
    let buffered: Buffer = Buffer.alloc(0);
    let done = false;
    const timer = clock.setTimeout(() => {
      if (done) return;
      done = true;
      this.refused++;
      conn.close();
    }, this.handshakeTimeoutMs);
    conn.setHandlers({
      data: (chunk) => {
        if (done) return;
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        if (buffered.length < HANDSHAKE_PREFIX_BYTES) return;
        done = true;
        clock.clearTimeout(timer);
        const infoHash = Buffer.from(buffered.subarray(28, 48));
        const target = this.targets.find((t) => t.accepts(infoHash) !== undefined);
        if (!target) {
          this.refused++;
          conn.close();
          return;
        }
        this.accepted++;
        target.addIncoming(conn, buffered);
      },
      drain: () => {},
      close: () => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
      },
    });
  }
}

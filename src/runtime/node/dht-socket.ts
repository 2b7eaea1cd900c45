/**
 * Runs a pure DhtNode on a real UDP socket: packets in → handlePacket, output drained after every
 * input, one timer armed at nextDeadline(). Every destination is checked against the address filter
 * (nothing is ever sent outside the allowed networks), and the routing table can be saved to and
 * reloaded from a JSON file so a node rejoins without its bootstrap.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { readFile, writeFile, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DhtNode } from '../../dht/dht-node.js';
import type { DhtNodeOptions, LookupResult, ScrapeResult } from '../../dht/dht-node.js';
import type { AddressFilter } from '../../net/cidr.js';
import type { PeerAddress } from '../../net/compact.js';
import { xoshiro128 } from '../../util/prng.js';

export interface DhtSocketOptions extends Partial<DhtNodeOptions> {
  port?: number;
  host?: string;
  filter?: AddressFilter;
  /** Where the routing table is kept between runs. */
  statePath?: string;
}

interface SavedState {
  id: string;
  nodes: { id: string; host: string; port: number }[];
}

export class DhtSocket {
  readonly node: DhtNode;
  private readonly socket: Socket;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  port = 0;
  /** Packets we refused to send because the destination is outside the allowed networks. */
  refused = 0;

  private constructor(
    node: DhtNode,
    private readonly opts: DhtSocketOptions,
  ) {
    this.node = node;
    // The IPv6 DHT (BEP 32) on its own socket: v6-only, so IPv4 never arrives there mapped.
    this.socket = node.family === 6 ? createSocket({ type: 'udp6', ipv6Only: true }) : createSocket('udp4');
    this.socket.on('message', (msg, rinfo) => {
      const host = rinfo.address.replace(/^::ffff:/, '');
      if (opts.filter && !opts.filter.allows(host)) return;
      this.node.handlePacket(msg, { host, port: rinfo.port }, performance.now());
      this.flush();
    });
    this.socket.on('error', () => {});
  }

  /** Creates the node (reusing a saved id and table when there is one) and binds the socket. */
  static async open(opts: DhtSocketOptions = {}): Promise<DhtSocket> {
    let saved: SavedState | undefined;
    if (opts.statePath) {
      try {
        saved = JSON.parse(await readFile(opts.statePath, 'utf8')) as SavedState;
      } catch {
        saved = undefined;
      }
    }
    const id = opts.id ?? (saved && /^[0-9a-f]{40}$/.test(saved.id) ? Buffer.from(saved.id, 'hex') : randomBytes(20));
    const rng = xoshiro128([randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32)]);
    const node = new DhtNode({ version: Buffer.from('SH01', 'latin1'), ...opts, id }, { random: (n) => randomBytes(n), rng }, performance.now());
    if (saved?.nodes) node.importNodes(saved.nodes.filter((n) => !opts.filter || opts.filter.allows(n.host)), performance.now());
    const s = new DhtSocket(node, opts);
    await new Promise<void>((resolve, reject) => {
      s.socket.once('error', reject);
      s.socket.bind(opts.port ?? 0, opts.host ?? (node.family === 6 ? '::' : '0.0.0.0'), () => {
        s.socket.off('error', reject);
        resolve();
      });
    });
    s.port = s.socket.address().port;
    s.flush();
    return s;
  }

  private flush(): void {
    let out;
    while ((out = this.node.pollTransmit()) !== undefined) {
      if (this.opts.filter && !this.opts.filter.allows(out.to.host)) {
        this.refused++;
        continue;
      }
      this.socket.send(out.bytes, out.to.port, out.to.host);
    }
    this.arm();
  }

  private arm(): void {
    const d = this.node.nextDeadline();
    if (d === undefined) return;
    if (this.timer && d >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = d;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.node.handleTimeout(performance.now());
      this.flush();
    }, Math.max(0, d - performance.now()));
    this.timer.unref();
  }

  /** Runs a command against the node now and sends what it produced. */
  private act<T>(f: (now: number) => T): T {
    const r = f(performance.now());
    this.flush();
    return r;
  }

  bootstrap(addrs: readonly PeerAddress[]): Promise<LookupResult> {
    return new Promise((resolve) => this.act((now) => this.node.bootstrap(addrs, now, resolve)));
  }

  /** Resolves with every peer found at the end; `onPeers` has them as they come. */
  getPeers(infoHash: Buffer, onPeers?: (peers: PeerAddress[]) => void): Promise<LookupResult> {
    return new Promise((resolve) => this.act((now) => this.node.getPeers(infoHash, now, resolve, onPeers)));
  }

  announce(infoHash: Buffer, port: number, impliedPort = false, extra: { seed?: boolean; onPeers?: (peers: PeerAddress[]) => void } = {}): Promise<LookupResult & { stored: number }> {
    return new Promise((resolve) => this.act((now) => this.node.announce(infoHash, port, impliedPort, now, resolve, extra)));
  }

  /** BEP 33: estimated seeds and downloaders of a torrent. */
  scrape(infoHash: Buffer): Promise<LookupResult & ScrapeResult> {
    return new Promise((resolve) => this.act((now) => this.node.scrape(infoHash, now, resolve)));
  }

  get(target: Buffer, want?: { k?: Buffer; salt?: Buffer }): Promise<LookupResult> {
    return new Promise((resolve) => this.act((now) => this.node.get(target, now, resolve, want)));
  }

  put(item: Parameters<DhtNode['put']>[0]): Promise<{ target: Buffer; stored: number; errors: string[] }> {
    return new Promise((resolve) => this.act((now) => this.node.put(item, now, resolve)));
  }

  async save(): Promise<void> {
    if (!this.opts.statePath) return;
    const state: SavedState = { id: this.node.id.toString('hex'), nodes: this.node.exportNodes() };
    await mkdir(dirname(this.opts.statePath), { recursive: true });
    const tmp = `${this.opts.statePath}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(state));
    await rename(tmp, this.opts.statePath);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.save().catch(() => {});
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

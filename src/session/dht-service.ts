/**
 * The DHT as a peer source for torrents: one node per session (two on a dual-stack host: the IPv4
 * and the IPv6 DHT, BEP 32); each torrent asks for peers (get_peers) now and then while it needs
 * them and announces itself (announce_peer) every 15 min.
 */
import { homedir, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { familyOf } from '../dht/dht-node.js';
import type { AddressFilter } from '../net/cidr.js';
import type { PeerAddress } from '../net/compact.js';
import { DhtSocket } from '../runtime/node/dht-socket.js';
import type { Torrent } from '../torrent/torrent.js';

/** Public bootstrap routers, used only when no --bootstrap is given and the address filter allows. */
export const DEFAULT_BOOTSTRAP = ['router.bittorrent.com:6881', 'dht.transmissionbt.com:6881', 'router.utorrent.com:6881'];
const ANNOUNCE_MS = 15 * 60_000;
const SEARCH_MS = 30_000;

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHOAL_HOME ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'shoal');
}

export interface DhtServiceOptions {
  port: number;
  bootstrap: PeerAddress[];
  filter: AddressFilter;
  readOnly?: boolean;
  statePath?: string;
  /**
   * Also join the IPv6 DHT (BEP 32) on the same UDP port, paired with the IPv4 node. Bootstrap
   * entries of either family go to the node of that family.
   */
  ipv6?: boolean;
}

/** Does this host have a global IPv6 address (not loopback, not link-local)? */
export function hostHasGlobalIPv6(): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv6' && !a.internal && !/^fe80:/i.test(a.address)) return true;
  }
  return false;
}

export class DhtService {
  private timers: NodeJS.Timeout[] = [];

  private constructor(
    readonly socket: DhtSocket,
    /** The IPv6 DHT node, on a dual-stack host. */
    readonly socket6?: DhtSocket,
  ) {}

  private get sockets(): DhtSocket[] {
    return this.socket6 ? [this.socket, this.socket6] : [this.socket];
  }

  static async start(o: DhtServiceOptions): Promise<DhtService> {
    const socket = await DhtSocket.open({
      port: o.port,
      filter: o.filter,
      ...(o.readOnly ? { readOnly: true } : {}),
      ...(o.statePath ? { statePath: o.statePath } : {}),
    });
    let socket6: DhtSocket | undefined;
    if (o.ipv6) {
      socket6 = await DhtSocket.open({
        port: socket.port,
        family: 6,
        id: socket.node.id,
        filter: o.filter,
        ...(o.readOnly ? { readOnly: true } : {}),
        ...(o.statePath ? { statePath: o.statePath.replace(/(\.json)?$/, '6.json') } : {}),
      }).catch(() => undefined); // no IPv6 socket after all: the IPv4 DHT alone
      if (socket6) socket.node.pairWith(socket6.node);
    }
    const s = new DhtService(socket, socket6);
    await Promise.all(
      s.sockets.map(async (sock) => {
        const boot = o.bootstrap.filter((a) => o.filter.allows(a.host) && familyOf(a.host) === sock.node.family);
        if (boot.length > 0 || sock.node.table.size > 0) await sock.bootstrap(boot);
      }),
    );
    return s;
  }

  /** Announces the torrent (and takes the peers found) now and every 15 min; searches every 30 s while it downloads. */
  track(t: Torrent, listenPort: number): void {
    const h = t.wireHash;
    // Peers go to the torrent as the lookup finds them, not when it ends: the first connections
    // start after one or two round trips instead of the whole lookup.
    const take = (peers: PeerAddress[]): void => t.addPeers(peers);
    // On a dual-stack host, in both DHTs (each finds the peers of its own family).
    const announce = (): void => {
      for (const sock of this.sockets) void sock.announce(h, listenPort, false, { seed: t.done, onPeers: take });
    };
    announce();
    const a = setInterval(announce, ANNOUNCE_MS);
    const s = setInterval(() => {
      if (!t.done) for (const sock of this.sockets) void sock.getPeers(h, take);
    }, SEARCH_MS);
    a.unref();
    s.unref();
    this.timers.push(a, s);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.sockets.map((sock) => sock.close()));
  }
}

/**
 * Resolves "host:port" bootstrap entries to addresses of one family (names are looked up only when
 * the filter lets anything out).
 */
export async function resolveBootstrap(entries: readonly string[], filter: AddressFilter, family: 4 | 6 = 4): Promise<PeerAddress[]> {
  const { lookup } = await import('node:dns/promises');
  const { isIP } = await import('node:net');
  const out: PeerAddress[] = [];
  for (const e of entries) {
    const i = e.lastIndexOf(':');
    const host = e.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(e.slice(i + 1));
    if (!(port > 0 && port < 65536)) continue;
    if (isIP(host)) {
      if (isIP(host) === family && filter.allows(host)) out.push({ host, port });
      continue;
    }
    if (filter.restricted) continue; // never resolve public names on a restricted node
    try {
      const a = await lookup(host, { family });
      if (filter.allows(a.address)) out.push({ host: a.address, port });
    } catch {
      // unreachable router: skip it
    }
  }
  return out;
}

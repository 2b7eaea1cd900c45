/**
 * The composition root for real use: one listen socket, one hash pool, one address filter, and the
 * torrents that share them. Incoming connections are routed to their torrent by info-hash.
 */
import { randomInt } from 'node:crypto';
import type { Metainfo } from '../metainfo/types.js';
import { AddressFilter } from '../net/cidr.js';
import type { PeerAddress } from '../net/compact.js';
import { HashPool } from '../storage/hash-pool.js';
import { Torrent } from '../torrent/torrent.js';
import type { SharedLimits, TorrentEvent, TorrentOptions } from '../torrent/torrent.js';
import { TokenBucket } from '../torrent/rate.js';
import { nodeClock } from '../runtime/node/clock.js';
import { openNodeStore } from '../runtime/node/store.js';
import { PeerListener, TcpTransport } from '../runtime/node/tcp.js';
import { makePeerId } from './peer-id.js';
import { DhtService, hostHasGlobalIPv6, resolveBootstrap, stateDir } from './dht-service.js';
import { join } from 'node:path';
import { xoshiro128 } from '../util/prng.js';
import { Announcer } from '../tracker/announcer.js';
import type { AnnouncerOptions } from '../tracker/announcer.js';
import { httpAnnounce } from '../tracker/http.js';
import { udpAnnounce } from '../tracker/udp.js';
import type { AnnounceFn, AnnounceResponse } from '../tracker/types.js';
import { TrackerError } from '../tracker/types.js';

export interface NodeSessionOptions {
  /** TCP port to listen on (0: any free port). */
  port?: number;
  /** Address to listen on. */
  host?: string;
  allow?: readonly string[];
  deny?: readonly string[];
  version?: string;
  hashThreads?: number;
  /** Run a DHT node (BEP 5) on the same port number, over UDP. */
  dht?: { bootstrap: readonly string[]; readOnly?: boolean };
  /**
   * Also listen for peers and run the DHT over IPv6 (BEP 32). Default: when the host has a global
   * IPv6 address, no --host is given and the address filter lets IPv6 through.
   */
  ipv6?: boolean;
  /** Session-wide limits, across every torrent (0 = none). */
  uploadLimitBytesPerSec?: number;
  downloadLimitBytesPerSec?: number;
  maxConnections?: number;
}

export interface AddTorrentOptions extends Omit<TorrentOptions, 'metainfo' | 'infoHash' | 'infoHashV2'> {
  metainfo?: Metainfo;
  infoHash?: Buffer;
  infoHashV2?: Buffer;
  /** Download folder. */
  dir: string;
  peers?: readonly PeerAddress[];
  onEvent?: (e: TorrentEvent) => void;
  /** Progress of the initial check of data already on disk. */
  onCheckProgress?: (checked: number, total: number) => void;
  /** Tracker tiers; the torrent's own `announce` tiers when left out. */
  trackers?: readonly (readonly string[])[];
  /** Re-announce at least this often (seconds), whatever the tracker says. */
  announceIntervalSec?: number;
  onTracker?: (url: string, result: AnnounceResponse | Error) => void;
}

export interface RunningTorrent {
  torrent: Torrent;
  announcer: Announcer;
}

export class NodeSession {
  readonly filter: AddressFilter;
  readonly peerId: Buffer;
  private readonly pool: HashPool;
  private readonly transport: TcpTransport;
  private readonly listener: PeerListener;
  private readonly torrents: Torrent[] = [];
  private readonly announcers: Announcer[] = [];
  private readonly announce: AnnounceFn;
  port = 0;
  private readonly shared: SharedLimits;

  constructor(private readonly opts: NodeSessionOptions = {}) {
    this.filter = AddressFilter.fromEnv(process.env, opts.allow, opts.deny);
    const now = nodeClock.now();
    this.shared = {
      upload: new TokenBucket(opts.uploadLimitBytesPerSec ?? 0, now),
      download: new TokenBucket(opts.downloadLimitBytesPerSec ?? 0, now),
      connections: { open: 0, max: opts.maxConnections ?? 500 },
    };
    this.peerId = makePeerId(opts.version ?? '0.1.0');
    this.pool = new HashPool(opts.hashThreads !== undefined ? { size: opts.hashThreads } : {});
    this.transport = new TcpTransport(this.filter);
    const http = httpAnnounce(this.filter);
    const udp = udpAnnounce(this.filter);
    this.announce = (url, req, signal) => {
      const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
      if (scheme === 'http' || scheme === 'https') return http(url, req, signal);
      if (scheme === 'udp') return udp(url, req, signal);
      return Promise.reject(new TrackerError(`unsupported tracker protocol in ${url}`));
    };
    this.listener = new PeerListener(({ infoHash, conn, firstBytes }) => {
      const t = this.torrents.find((x) => x.accepts(infoHash));
      if (!t) return false;
      t.addIncoming(conn, firstBytes);
      return true;
    }, this.filter);
  }

  dht: DhtService | undefined;

  async listen(): Promise<number> {
    this.port = await this.listener.listen(this.opts.port ?? 0, this.opts.host ?? '0.0.0.0');
    let ipv6 = this.opts.ipv6 ?? (this.opts.host === undefined && this.filter.allowsIPv6 && hostHasGlobalIPv6());
    if (ipv6) {
      // Same port on IPv6; a host where that fails keeps to IPv4.
      ipv6 = await this.listener.listen(this.port, '::').then(
        () => true,
        () => false,
      );
    }
    if (this.opts.dht) {
      const boot = this.opts.dht.bootstrap;
      this.dht = await DhtService.start({
        port: this.port,
        bootstrap: [...(await resolveBootstrap(boot, this.filter)), ...(ipv6 ? await resolveBootstrap(boot, this.filter, 6) : [])],
        filter: this.filter,
        ...(this.opts.dht.readOnly ? { readOnly: true } : {}),
        statePath: join(stateDir(), 'dht.json'),
        ipv6,
      }).catch(() => DhtService.start({ port: 0, bootstrap: [], filter: this.filter }));
    }
    return this.port;
  }

  async addTorrent(o: AddTorrentOptions): Promise<RunningTorrent> {
    const { dir, peers, onEvent, onCheckProgress, trackers, announceIntervalSec, onTracker, ...torrentOpts } = o;
    let announcer: Announcer | undefined = undefined;
    let announcerOpts: AnnouncerOptions;
    const group: Announcer[] = [];
    const t: Torrent = new Torrent(
      {
        clock: nodeClock,
        transport: this.transport,
        rng: xoshiro128([randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32)]),
        peerId: this.peerId,
        listenPort: this.port,
        shared: this.shared,
        allowPeer: (a) => this.filter.allows(a.host),
        openStore: (m) => openNodeStore(m, dir, this.pool, onCheckProgress),
        onEvent: (e) => {
          // BEP 3: `completed` is sent when a download finishes, not by a seed that started complete.
          if (e.type === 'done' && e.downloaded) for (const a of group) a.completed();
          onEvent?.(e);
        },
      },
      torrentOpts,
    );
    announcer = new Announcer(
      {
        clock: nodeClock,
        announce: this.announce,
        onPeers: (list) => t.addPeers(list),
        ...(onTracker ? { onResult: onTracker } : {}),
      },
      (announcerOpts = {
        tiers: trackers ?? o.metainfo?.announce ?? [],
        infoHash: t.wireHash,
        peerId: this.peerId,
        port: this.port,
        key: randomInt(2 ** 31),
        ...(announceIntervalSec !== undefined ? { maxIntervalSec: announceIntervalSec } : {}),
        stats: () => {
          const s = t.stats();
          // Before the metadata we do not know what is left, but it is not nothing (0 would say "seed").
          const left = t.metainfo ? Math.max(0, s.wantedBytes - s.haveBytes) : 16384;
          return { uploaded: s.uploadedBytes, downloaded: s.downloadedBytes, left };
        },
      }),
    );
    this.torrents.push(t);
    this.announcers.push(announcer);
    // A hybrid swarm is joined on both info-hashes: v2-only clients announce the truncated v2 hash.
    const v1 = o.metainfo?.infoHash ?? o.infoHash;
    const v2 = o.metainfo?.infoHashV2 ?? o.infoHashV2;
    const extra: Announcer[] = [];
    if (v1 && v2) {
      extra.push(
        new Announcer(
          { clock: nodeClock, announce: this.announce, onPeers: (list) => t.addPeers(list) },
          { ...announcerOpts, infoHash: v2.subarray(0, 20), key: randomInt(2 ** 31) },
        ),
      );
      this.announcers.push(...extra);
    }
    group.push(announcer, ...extra);
    await t.start();
    if (peers?.length) t.addPeers(peers);
    announcer.start();
    for (const a of extra) a.start();
    this.dht?.track(t, this.port);
    return { torrent: t, announcer };
  }

  async close(): Promise<void> {
    await Promise.all(this.announcers.map((a) => a.stop()));
    await Promise.all(this.torrents.map((t) => t.stop()));
    await this.dht?.close();
    await this.listener.close();
    await this.pool.close();
  }
}

/**
 * What a DHT node stores for others, bounded and expiring: peers announced for info-hashes
 * (30 minutes, BEP 5) and BEP 44 items (2 hours unless refreshed). Both have caps; when full, new
 * keys are refused rather than old ones evicted, so a flood cannot wash out what is there.
 */
import type { PeerAddress } from '../net/compact.js';
import { addressKey } from '../net/compact.js';
import { ScrapeBloom } from './scrape-bloom.js';

export const PEER_TTL_MS = 30 * 60_000;
export const ITEM_TTL_MS = 2 * 60 * 60_000;

export interface StoredItem {
  /** The bencoded value. */
  v: Buffer;
  /** Mutable items: ed25519 public key, signature, sequence number, salt. */
  k?: Buffer;
  sig?: Buffer;
  seq?: number;
  salt?: Buffer;
  expires: number;
}

export interface StorageLimits {
  maxTorrents: number;
  maxPeersPerTorrent: number;
  maxItems: number;
}

export const DEFAULT_STORAGE_LIMITS: StorageLimits = { maxTorrents: 2000, maxPeersPerTorrent: 200, maxItems: 2000 };

export class DhtStorage {
  private readonly peers = new Map<string, Map<string, { addr: PeerAddress; seed: boolean; expires: number }>>();
  private readonly items = new Map<string, StoredItem>();

  constructor(readonly limits: StorageLimits = DEFAULT_STORAGE_LIMITS) {}

  addPeer(infoHash: Buffer, addr: PeerAddress, seed: boolean, now: number): boolean {
    const key = infoHash.toString('hex');
    let m = this.peers.get(key);
    if (!m) {
      if (this.peers.size >= this.limits.maxTorrents) return false;
      m = new Map();
      this.peers.set(key, m);
    }
    const ak = addressKey(addr);
    if (!m.has(ak) && m.size >= this.limits.maxPeersPerTorrent) return false;
    m.set(ak, { addr, seed, expires: now + PEER_TTL_MS });
    return true;
  }

  /** Up to `max` peers; `noSeeds` (BEP 33 `noseed`): downloaders first, seeds only to fill up. */
  getPeers(infoHash: Buffer, now: number, max = 50, noSeeds = false): PeerAddress[] {
    const m = this.peers.get(infoHash.toString('hex'));
    if (!m) return [];
    const out: PeerAddress[] = [];
    const seeds: PeerAddress[] = [];
    for (const [k, p] of m) {
      if (p.expires <= now) m.delete(k);
      else if (noSeeds && p.seed) seeds.push(p.addr);
      else if (out.length < max) out.push(p.addr);
    }
    for (const s of seeds) {
      if (out.length >= max) break;
      out.push(s);
    }
    return out;
  }

  /**
   * BEP 33 scrape: bloom filters of the seeds' and the downloaders' addresses stored for the
   * torrent, or undefined when we store nothing for it (the BEP: only nodes with entries answer).
   */
  scrape(infoHash: Buffer, now: number): { seeds: ScrapeBloom; peers: ScrapeBloom } | undefined {
    const m = this.peers.get(infoHash.toString('hex'));
    if (!m) return undefined;
    const seeds = new ScrapeBloom();
    const peers = new ScrapeBloom();
    for (const p of m.values()) if (p.expires > now) (p.seed ? seeds : peers).insertIp(p.addr.host);
    return { seeds, peers };
  }

  putItem(target: Buffer, item: StoredItem): boolean {
    const key = target.toString('hex');
    if (!this.items.has(key) && this.items.size >= this.limits.maxItems) return false;
    this.items.set(key, item);
    return true;
  }

  getItem(target: Buffer, now: number): StoredItem | undefined {
    const key = target.toString('hex');
    const it = this.items.get(key);
    if (it && it.expires <= now) {
      this.items.delete(key);
      return undefined;
    }
    return it;
  }

  /** Up to `max` stored info-hashes (BEP 51 samples) and how many there are. */
  sample(max: number, rng: () => number): { samples: Buffer[]; num: number } {
    const keys = [...this.peers.keys()];
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    return { samples: keys.slice(0, max).map((k) => Buffer.from(k, 'hex')), num: keys.length };
  }

  expire(now: number): void {
    for (const [k, m] of this.peers) {
      for (const [ak, p] of m) if (p.expires <= now) m.delete(ak);
      if (m.size === 0) this.peers.delete(k);
    }
    for (const [k, it] of this.items) if (it.expires <= now) this.items.delete(k);
  }

  get counts(): { torrents: number; peers: number; items: number } {
    let peers = 0;
    for (const m of this.peers.values()) peers += m.size;
    return { torrents: this.peers.size, peers, items: this.items.size };
  }
}

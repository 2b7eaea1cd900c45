/**
 * Scenario building blocks: a flash-crowd swarm (seeders and leechers with capped links and random
 * access latencies), the fluid-model bound for it, progress sampling, and checks of the content.
 */
import assert from 'node:assert/strict';
import { makeSimTorrent } from '../../../src/runtime/sim/content.js';
import type { SimTorrent } from '../../../src/runtime/sim/content.js';
import { SimRandom } from '../../../src/runtime/sim/random.js';
import { Swarm, fluidLowerBoundMs } from '../../../src/runtime/sim/swarm.js';
import type { SimNode, SimNodeOptions, SwarmOptions } from '../../../src/runtime/sim/swarm.js';
import { KiB, MiB } from './harness.js';

export interface Links {
  upBytesPerSec: number;
  downBytesPerSec: number;
}

export interface FlashCrowd {
  seed: number;
  fileBytes: number;
  pieceLength: number;
  seeders: number;
  leechers: number;
  seederLinks: Links;
  leecherLinks: Links;
  /** Each host's access latency is drawn from [min, max) ms; a link's one-way latency is the sum of two. */
  latencyMs?: [number, number];
  lossRate?: number;
  swarm?: Omit<SwarmOptions, 'seed' | 'torrent'>;
  leecherOptions?: Partial<SimNodeOptions>;
}

export function makeTorrent(seed: number, fileBytes: number, pieceLength: number): SimTorrent {
  return makeSimTorrent(new SimRandom(seed).fork('content'), { lengthBytes: fileBytes, pieceLength });
}

/** A swarm where every node starts at t = 0 (a flash crowd). */
export function flashCrowd(c: FlashCrowd, torrent = makeTorrent(c.seed, c.fileBytes, c.pieceLength)): Swarm {
  const swarm = new Swarm({ seed: c.seed, torrent, ...c.swarm });
  const lat = swarm.rng.fork('latency');
  const [lo, hi] = c.latencyMs ?? [5, 50];
  for (let i = 0; i < c.seeders; i++) {
    swarm.addNode({
      role: 'seeder',
      uplinkBytesPerSec: c.seederLinks.upBytesPerSec,
      downlinkBytesPerSec: c.seederLinks.downBytesPerSec,
      latencyMs: lat.range(lo, hi),
      lossRate: c.lossRate ?? 0,
    });
  }
  for (let i = 0; i < c.leechers; i++) {
    swarm.addNode({
      role: 'leecher',
      uplinkBytesPerSec: c.leecherLinks.upBytesPerSec,
      downlinkBytesPerSec: c.leecherLinks.downBytesPerSec,
      latencyMs: lat.range(lo, hi),
      lossRate: c.lossRate ?? 0,
      ...c.leecherOptions,
    });
  }
  return swarm;
}

export function flashCrowdBoundMs(c: FlashCrowd): number {
  return fluidLowerBoundMs({
    fileBytes: c.fileBytes,
    seederUplinks: Array<number>(c.seeders).fill(c.seederLinks.upBytesPerSec),
    leecherUplinks: Array<number>(c.leechers).fill(c.leecherLinks.upBytesPerSec),
    leecherDownlinks: Array<number>(c.leechers).fill(c.leecherLinks.downBytesPerSec),
  });
}

/** Asserts every node in `nodes` holds exactly the torrent's content. */
export function assertContent(swarm: Swarm, nodes: readonly SimNode[]): void {
  for (const n of nodes) {
    assert.ok(n.store.bytes.equals(swarm.torrent.content), `${n.name} (${n.host.host}) does not hold the original content`);
  }
}

/** Share of the swarm's total uplink capacity used, per window of `windowMs`. */
export function sampleUtilization(swarm: Swarm, windowMs: number, capacityBytesPerSec: () => number, until: () => boolean): number[] {
  const out: number[] = [];
  let last = 0;
  swarm.every(windowMs, () => {
    const sent = swarm.nodes.reduce((a, n) => a + n.host.bytesSent, 0);
    out.push((sent - last) / ((capacityBytesPerSec() * windowMs) / 1000));
    last = sent;
    return !until();
  });
  return out;
}

/** Bytes put on the wire by every host, and bytes of blocks the leechers accepted. */
export function trafficSummary(swarm: Swarm): { sentMiB: number; acceptedMiB: number; neededMiB: number } {
  const sent = swarm.nodes.reduce((a, n) => a + n.host.bytesSent, 0);
  const accepted = swarm.leechers.reduce((a, n) => a + n.torrent.downloadedBytes, 0);
  const needed = swarm.leechers.length * swarm.torrent.metainfo.length;
  return { sentMiB: sent / MiB, acceptedMiB: accepted / MiB, neededMiB: needed / MiB };
}

/** Counts peer-disconnected reasons (numbers folded) across the swarm; needs `recordEvents`. */
export function disconnectReasons(swarm: Swarm): Map<string, number> {
  const reasons = new Map<string, number>();
  for (const n of swarm.nodes) {
    for (const e of n.events) {
      if (e.event.type !== 'peer-disconnected') continue;
      const r = e.event.reason.replace(/\d+/g, 'N');
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
  }
  return reasons;
}

export { KiB, MiB };

/**
 * runtime/sim — the deterministic simulation runtime (design.md). Tests and benchmarks import it; the
 * library never does. It implements the engine's ports (`Clock`, `Transport`/`Connection`,
 * `PieceStore`, `Rng`) in virtual time, so whole swarms run in one process, the same way every time
 * for the same seed, with no real socket, timer, clock or `Math.random()` anywhere.
 *
 *   clock.ts       SimClock: virtual time, a priority queue of events (ties in insertion order);
 *                  `run(untilMs)` / `runUntil(predicate, maxMs)` drive it, and promise callbacks run
 *                  between events at the time of the event that settled them
 *   random.ts      SimRandom: xoshiro128** seeded through splitmix32; `fork(label)` gives each node
 *                  (and the network, the tracker, the content) its own stream of the scenario's seed
 *   network.ts     SimNetwork / SimHost: virtual hosts (10.x.y.1) with uplink and downlink
 *   connection.ts  capacities shared round-robin, per-link latency, loss as retransmission delay,
 *   links.ts       TCP-like streams with send buffers, windows, pause/resume, FIN, connect timeouts
 *   listener.ts    SimPeerListener: routes incoming handshakes to torrents by info-hash, as the node
 *                  runtime's listener does (≥ 48 bytes, then `torrent.addIncoming(conn, firstBytes)`)
 *   store.ts       MemoryPieceStore: pieces in memory, SHA-1 / BEP 52 checks, and faults on purpose
 *                  (disk full, slow disk, slow hashing, corrupt reads, failing checks)
 *   content.ts     makeSimTorrent: random content from a seed and its real .torrent / Metainfo
 *   swarm.ts       Swarm: N nodes each running one Torrent; seeders and leechers, caps, start times,
 *                  leaving and joining, a simulated tracker, an event trace digest, the fluid bound
 *
 * A scenario in five lines:
 *
 *   const torrent = makeSimTorrent(new SimRandom(seed).fork('content'), { lengthBytes: 4 << 20, pieceLength: 32 << 10 });
 *   const swarm = new Swarm({ seed, torrent });
 *   swarm.addNode({ role: 'seeder', uplinkBytesPerSec: 512 << 10, latencyMs: 20 });
 *   for (let i = 0; i < 50; i++) swarm.addNode({ role: 'leecher', uplinkBytesPerSec: 128 << 10, downlinkBytesPerSec: 1 << 20, latencyMs: 20 });
 *   await swarm.runUntil(() => swarm.allDone(), 600_000); // virtual ms
 *
 * Determinism: everything random derives from the seed; events at equal times keep their order; the
 * engine's promise callbacks run at fixed points. Two runs of one seed give the same `traceDigest`.
 * A failing simulated test prints its seed; SIM_SEED=<n> replays it (test/sim/support/harness.ts).
 */
export { SimClock } from './clock.js';
export { SimRandom } from './random.js';
export { SimNetwork, SimHost } from './network.js';
export { SimConnection } from './connection.js';
export type { SimHostOptions, SimNetworkOptions } from './network.js';
export { SimPeerListener } from './listener.js';
export type { IncomingTarget } from './listener.js';
export { MemoryPieceStore, openerFor } from './store.js';
export type { MemoryStoreOptions, StoreFaults } from './store.js';
export { makeSimTorrent } from './content.js';
export type { SimTorrent, SimTorrentOptions } from './content.js';
export { Swarm, SimNode, SIM_LISTEN_PORT, fluidLowerBoundMs } from './swarm.js';
export type { SwarmOptions, SimNodeOptions, RecordedEvent, FluidInput } from './swarm.js';

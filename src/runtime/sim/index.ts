/**
 * runtime/sim: the deterministic simulation runtime (design.md). Tests and benchmarks import it;
 * the library never does.
 *
 *   SimClock        virtual time: a priority queue of events (clock.ts)
 *   SimRandom       seeded xoshiro128** streams, forked per node (random.ts)
 *   SimNetwork      hosts, uplinks/downlinks, latency, loss-as-delay, TCP-like streams (network.ts)
 *   SimPeerListener routes incoming handshakes to torrents by info-hash (listener.ts)
 *   MemoryPieceStore in-memory piece store with faults (store.ts)
 *   makeSimTorrent  random content and its .torrent (content.ts)
 *   Swarm           scenarios: nodes, tracker, joins, leaves, event trace (swarm.ts)
 */
export { SimClock } from './clock.js';
export { SimRandom } from './random.js';
export { SimNetwork, SimHost, SimConnection } from './network.js';
export type { SimHostOptions, SimNetworkOptions } from './network.js';
export { SimPeerListener } from './listener.js';
export type { IncomingTarget } from './listener.js';
export { MemoryPieceStore, openerFor } from './store.js';
export type { MemoryStoreOptions, StoreFaults } from './store.js';
export { makeSimTorrent } from './content.js';
export type { SimTorrent, SimTorrentOptions } from './content.js';
export { Swarm, SimNode, SIM_LISTEN_PORT, fluidLowerBoundMs } from './swarm.js';
export type { SwarmOptions, SimNodeOptions, RecordedEvent, FluidInput } from './swarm.js';

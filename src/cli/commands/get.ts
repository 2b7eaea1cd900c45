/**
 * `shoal get <magnet | file.torrent | info-hash>`: download from the swarm, verify every piece, and
 * optionally keep seeding. Resumes: data already in the folder is checked and kept.
 */
import { resolve } from 'node:path';
import { isMagnet, parseMagnet } from '../../metainfo/magnet.js';
import type { Metainfo } from '../../metainfo/types.js';
import { realFiles } from '../../metainfo/types.js';
import { parseAddress } from '../../net/compact.js';
import type { PeerAddress } from '../../net/compact.js';
import { NodeSession } from '../../session/node-session.js';
import type { TorrentEvent } from '../../torrent/torrent.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { loadTorrentFile } from '../io.js';
import { checkCidrs, parseCount, parsePeers, parseSelection, sessionOptions, torrentLimits } from '../swarm-options.js';
import type { SwarmCliOptions } from '../swarm-options.js';
import { finishRun, makeUi, progressFields } from '../swarm-ui.js';
import { VERSION } from '../version.js';

export interface GetCliOptions extends SwarmCliOptions {
  output?: string;
  seed?: boolean;
  sequential?: boolean;
  select?: string;
  announceInterval?: string;
}

interface Source {
  metainfo?: Metainfo;
  infoHash?: Buffer;
  infoHashV2?: Buffer;
  name?: string;
  trackers: string[][];
  peers: PeerAddress[];
  select?: number[];
}

async function resolveSource(target: string): Promise<Source> {
  if (isMagnet(target)) {
    const m = parseMagnet(target);
    return {
      ...(m.infoHash ? { infoHash: m.infoHash } : {}),
      ...(m.infoHashV2 ? { infoHashV2: m.infoHashV2 } : {}),
      ...(m.name !== undefined ? { name: m.name } : {}),
      trackers: m.trackers.map((t) => [t]),
      peers: m.peers.map((p) => parseAddress(p)).filter((p): p is PeerAddress => p !== undefined),
      ...(m.selectOnly ? { select: m.selectOnly } : {}),
    };
  }
  if (/^[0-9a-fA-F]{40}$/.test(target)) return { infoHash: Buffer.from(target, 'hex'), trackers: [], peers: [] };
  if (/^[0-9a-fA-F]{64}$/.test(target)) return { infoHashV2: Buffer.from(target, 'hex'), trackers: [], peers: [] };
  const metainfo = await loadTorrentFile(target);
  return { metainfo, name: metainfo.name, trackers: metainfo.announce.map((t) => [...t]), peers: [] };
}

/** Runs a torrent until it is done (or forever when seeding); resolves with the exit code. */
export async function getCommand(target: string, o: GetCliOptions): Promise<number> {
  checkCidrs([...o.allow, ...o.deny]);
  const source = await resolveSource(target);
  const extraPeers = parsePeers(o.peer);
  const trackers = [...source.trackers, ...o.tracker.map((t) => [t])];
  const peers = [...source.peers, ...extraPeers];
  if (trackers.length === 0 && peers.length === 0 && !o.dht) {
    throw new UsageError('no way to find peers: the DHT is off; give --peer HOST:PORT or --tracker URL (or a magnet/torrent that names trackers)');
  }
  const select = o.select !== undefined ? parseSelection(o.select) : source.select;
  if (select && source.metainfo) {
    const count = realFiles(source.metainfo).length;
    const bad = select.find((i) => i >= count);
    if (bad !== undefined) throw new UsageError(`--select ${bad}: the torrent has ${count} files (0-${count - 1})`);
  }
  const dir = resolve(o.output ?? '.');
  const ui = makeUi(o.json === true, o.quiet === true);
  const session = new NodeSession(sessionOptions(o));
  const port = await session.listen();
  const started = performance.now();
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((r) => (finish = r));
  let failure: Error | undefined;

  const onEvent = (e: TorrentEvent): void => {
    switch (e.type) {
      case 'metadata':
        ui.event('metadata', { name: e.metainfo.name, length: e.metainfo.length, pieceCount: e.metainfo.pieceCount, files: realFiles(e.metainfo).length });
        ui.note(`metadata: ${e.metainfo.name} (${formatBytes(e.metainfo.length)}, ${e.metainfo.pieceCount} pieces)`);
        break;
      case 'done': {
        const ms = performance.now() - started;
        const s = running.torrent.stats();
        ui.stop();
        ui.event('done', { elapsedMs: Math.round(ms), averageRate: Math.round(s.downloadedBytes / Math.max(0.001, ms / 1000)), ...progressFields(s) });
        ui.note(`done: ${formatBytes(s.wantedBytes)} verified in ${(ms / 1000).toFixed(1)} s (average ${formatBytes(Math.round(s.downloadedBytes / Math.max(0.001, ms / 1000)))}/s)`);
        if (o.seed) {
          ui.note('seeding; press Ctrl-C to stop');
          ui.start(running.torrent, 'seeding');
        } else finish(EXIT_OK);
        break;
      }
      case 'error':
        failure = e.error;
        ui.event('error', { message: e.error.message });
        finish(1);
        break;
      case 'peer-connected':
        ui.event('peer', { action: 'connected', host: e.addr.host, port: e.addr.port, incoming: e.incoming });
        break;
      case 'peer-disconnected':
        ui.event('peer', { action: 'disconnected', host: e.addr.host, port: e.addr.port, reason: e.reason });
        break;
      case 'peer-banned':
        ui.note(`banned ${e.addr.host}:${e.addr.port}: ${e.reason}`);
        break;
      default:
        break;
    }
  };

  const running = await session.addTorrent({
    dir,
    ...(source.metainfo ? { metainfo: source.metainfo } : {}),
    ...(source.infoHash ? { infoHash: source.infoHash } : {}),
    ...(source.infoHashV2 ? { infoHashV2: source.infoHashV2 } : {}),
    seed: o.seed === true,
    sequential: o.sequential === true,
    ...(select ? { selectFiles: select } : {}),
    ...torrentLimits(o),
    clientName: `shoal ${VERSION}`,
    trackers,
    peers,
    ...(o.announceInterval !== undefined ? { announceIntervalSec: parseCount(o.announceInterval, '--announce-interval', 1800) } : {}),
    onEvent,
  });
  const t = running.torrent;
  const infoHash = source.metainfo?.infoHash ?? source.infoHash;
  const infoHashV2 = source.metainfo?.infoHashV2 ?? source.infoHashV2;
  ui.event('ready', {
    infoHash: infoHash?.toString('hex') ?? null,
    infoHashV2: infoHashV2?.toString('hex') ?? null,
    magnet: t.magnet ?? (isMagnet(target) ? target : null),
    port,
    dir,
    // What was already on disk and verified (resume); 0 of 0 until a magnet's metadata arrives.
    pieces: t.stats().havePieces,
    pieceCount: t.stats().pieceCount,
  });
  if (t.done && !o.seed) finish(EXIT_OK);
  else if (!t.done) ui.start(t, source.name ?? t.wireHash.toString('hex').slice(0, 8));
  if (t.done && !o.seed) {
    ui.event('done', { elapsedMs: 0, averageRate: 0, ...progressFields(t.stats()) });
    ui.note('already complete: every selected piece is on disk and verified');
  }

  return finishRun(finished, () => finish(o.seed && t.done ? EXIT_OK : 130), ui, () => session.close(), () => failure);
}

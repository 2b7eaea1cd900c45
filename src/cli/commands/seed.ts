/**
 * `shoal seed <path | file.torrent>`: serve a file or folder (hashing it first, or using the given
 * torrent), print its magnet link, and serve until interrupted.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { createTorrent } from '../../storage/create.js';
import type { Metainfo, TorrentVersion } from '../../metainfo/types.js';
import { magnetOf } from '../../metainfo/magnet.js';
import { NodeSession } from '../../session/node-session.js';
import type { TorrentEvent } from '../../torrent/torrent.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { loadTorrentFile } from '../io.js';
import { progressBar } from '../progress.js';
import { checkCidrs, parseCount, parsePeers, sessionOptions, torrentLimits } from '../swarm-options.js';
import type { SwarmCliOptions } from '../swarm-options.js';
import { finishRun, makeUi } from '../swarm-ui.js';
import { VERSION } from '../version.js';

export interface SeedCliOptions extends SwarmCliOptions {
  torrent?: string;
  dir?: string;
  v1?: boolean;
  v2?: boolean;
  hybrid?: boolean;
  pieceLength?: string;
  announceInterval?: string;
}

async function loadOrCreate(path: string, o: SeedCliOptions): Promise<{ metainfo: Metainfo; dir: string }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UsageError(`cannot read ${path}: no such file or folder`);
  if (st.isFile() && path.endsWith('.torrent') && !o.torrent) {
    return { metainfo: await loadTorrentFile(path), dir: resolve(o.dir ?? '.') };
  }
  if (o.torrent) {
    const metainfo = await loadTorrentFile(o.torrent);
    if (basename(resolve(path)) !== metainfo.name) {
      throw new UsageError(`${path} does not match the torrent, whose data is named ${JSON.stringify(metainfo.name)}`);
    }
    return { metainfo, dir: dirname(resolve(path)) };
  }
  const version: TorrentVersion = o.v2 ? 'v2' : o.hybrid ? 'hybrid' : 'v1';
  const bar = progressBar('hashing', !o.quiet && !o.json);
  try {
    const { metainfo } = await createTorrent(path, {
      version,
      trackers: o.tracker.map((t) => [t]),
      createdBy: `shoal/${VERSION}`,
      onProgress: (d, t) => bar.update(d, t),
    });
    return { metainfo, dir: dirname(resolve(path)) };
  } finally {
    bar.stop();
  }
}

export async function seedCommand(path: string, o: SeedCliOptions): Promise<number> {
  checkCidrs([...o.allow, ...o.deny]);
  const peers = parsePeers(o.peer);
  const { metainfo, dir } = await loadOrCreate(path, o);
  const ui = makeUi(o.json === true, o.quiet === true);
  const session = new NodeSession(sessionOptions(o));
  const port = await session.listen();
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((r) => (finish = r));
  let failure: Error | undefined;
  const onEvent = (e: TorrentEvent): void => {
    if (e.type === 'error') {
      failure = e.error;
      ui.event('error', { message: e.error.message });
      finish(1);
    } else if (e.type === 'peer-connected') {
      ui.event('peer', { action: 'connected', host: e.addr.host, port: e.addr.port, incoming: e.incoming });
    } else if (e.type === 'peer-disconnected') {
      ui.event('peer', { action: 'disconnected', host: e.addr.host, port: e.addr.port, reason: e.reason });
    }
  };
  const trackers = o.tracker.length > 0 ? o.tracker.map((t) => [t]) : metainfo.announce.map((t) => [...t]);
  const magnet = magnetOf(metainfo);
  const running = await session.addTorrent({
    dir,
    metainfo,
    seed: true,
    ...torrentLimits(o),
    clientName: `shoal ${VERSION}`,
    trackers,
    peers,
    ...(o.announceInterval !== undefined ? { announceIntervalSec: parseCount(o.announceInterval, '--announce-interval', 1800) } : {}),
    onEvent,
  });
  const t = running.torrent;
  const s = t.stats();
  ui.event('ready', {
    infoHash: metainfo.infoHash?.toString('hex') ?? null,
    infoHashV2: metainfo.infoHashV2?.toString('hex') ?? null,
    magnet,
    port,
    complete: s.done,
    pieces: s.havePieces,
    pieceCount: s.pieceCount,
  });
  if (!o.json) {
    process.stdout.write(`${magnet}\n`);
    if (!o.quiet) {
      process.stderr.write(`seeding ${metainfo.name} (${formatBytes(metainfo.length)}) on port ${port}${s.done ? '' : ` — only ${s.havePieces}/${s.pieceCount} pieces on disk`}; Ctrl-C to stop\n`);
    }
  }
  ui.start(t, 'seeding');
  return finishRun(finished, () => finish(EXIT_OK), ui, () => session.close(), () => failure);
}

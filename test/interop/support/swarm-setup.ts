/**
 * Per-file setup of a swarm interop test: a temporary work folder, and at the end every process the
 * file started killed (by its PID) before the folder is removed. Also `shoal create` with trackers.
 */
import { after, before } from 'node:test';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run, shoal, tempDir } from '../../helpers/cli.js';
import { ltInfo } from './tools.js';
import { killAll } from './swarm-procs.js';

export interface Workspace {
  /** The work folder (valid once `before` ran). */
  readonly root: string;
  /** A fresh sub-folder of the work folder. */
  sub(name: string): Promise<string>;
}

export function useWorkspace(prefix: string): Workspace {
  let root = '';
  let cleanup: () => Promise<void> = () => Promise.resolve();
  let n = 0;
  before(async () => {
    ({ dir: root, cleanup } = await tempDir(`shoal-swarm-${prefix}-`));
    // opentracker drops to "nobody" before it reads its whitelist: let it through (not list) the folder
    await chmod(root, 0o711);
  });
  after(async () => {
    await killAll();
    await cleanup();
  });
  return {
    get root() {
      return root;
    },
    async sub(name: string) {
      const p = join(root, `${String(++n).padStart(2, '0')}-${name}`);
      await mkdir(p, { recursive: true });
      return p;
    },
  };
}

export interface CreatedTorrent {
  torrent: string;
  infoHash: string | null;
  infoHashV2: string | null;
  pieceLength: number;
  pieceCount: number;
  length: number;
}

/** `shoal create <path> -o <out> --json -q` with the given version, piece length and trackers. */
export async function shoalCreateTorrent(
  path: string,
  out: string,
  o: { version?: 'v1' | 'v2' | 'hybrid'; pieceLength?: string; trackers?: readonly string[] } = {},
): Promise<CreatedTorrent> {
  const args = ['create', path, '-o', out, '-f', '--json', '-q', `--${o.version ?? 'v1'}`];
  if (o.pieceLength !== undefined) args.push('--piece-length', o.pieceLength);
  for (const t of o.trackers ?? []) args.push('--tracker', t);
  const r = await shoal(args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`shoal ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  const j = JSON.parse(r.stdout) as CreatedTorrent;
  return { ...j, torrent: out };
}

/** mktorrent 1.1 (`-l` is log2 of the piece length; `-d` leaves out the date), naming `tracker` when given. */
export async function mktorrentTorrent(path: string, out: string, log2PieceLength: number, tracker?: string): Promise<void> {
  const args = ['-l', String(log2PieceLength), '-t', '2', '-d', '-o', out, ...(tracker ? ['-a', tracker] : []), path];
  const r = await run('mktorrent', args).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ENOENT' ? new Error('interop tool missing: mktorrent (apt-get install -y mktorrent)') : e;
  });
  if (r.code !== 0) throw new Error(`mktorrent ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
}

/** The info-hashes of a torrent as libtorrent reads them (lt.py info). */
export async function hashesOf(torrent: string): Promise<{ infoHash: string | null; infoHashV2: string | null; pieceLength: number; pieceCount: number }> {
  const i = await ltInfo(torrent);
  return { infoHash: i.infoHash, infoHashV2: i.infoHashV2, pieceLength: i.pieceLength, pieceCount: i.pieceCount };
}

/** `shoal create <path>`: make a .torrent from a file or folder. */
import { resolve } from 'node:path';
import { createTorrent } from '../../storage/create.js';
import type { TorrentVersion } from '../../metainfo/types.js';
import { describeTorrent, torrentText } from '../describe.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { parseBytes } from '../format.js';
import { writeFileAtomic } from '../io.js';
import { progressBar } from '../progress.js';
import { VERSION } from '../version.js';

export interface CreateCliOptions {
  output?: string;
  pieceLength?: string;
  tracker: string[];
  webSeed: string[];
  private?: boolean;
  v1?: boolean;
  v2?: boolean;
  hybrid?: boolean;
  comment?: string;
  name?: string;
  source?: string;
  date?: string | boolean;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export async function createCommand(path: string, o: CreateCliOptions): Promise<number> {
  const picked = [o.v1, o.v2, o.hybrid].filter(Boolean).length;
  if (picked > 1) throw new UsageError('choose one of --v1, --v2 and --hybrid');
  const version: TorrentVersion = o.v2 ? 'v2' : o.hybrid ? 'hybrid' : 'v1';
  let pieceLength: number | undefined;
  if (o.pieceLength !== undefined) {
    pieceLength = parseBytes(o.pieceLength);
    if (pieceLength === undefined) throw new UsageError(`--piece-length ${JSON.stringify(o.pieceLength)} is not a size (e.g. 262144, 256K, 1M)`);
  }
  let creationDate: number | undefined;
  if (o.date === true) creationDate = Math.floor(Date.now() / 1000);
  else if (typeof o.date === 'string') {
    if (!/^\d{1,12}$/.test(o.date)) throw new UsageError('--date takes seconds since the epoch');
    creationDate = Number(o.date);
  }
  for (const url of [...o.tracker.flatMap((t) => t.split(',')), ...o.webSeed]) {
    if (!URL.canParse(url)) throw new UsageError(`${JSON.stringify(url)} is not a URL`);
  }

  const bar = progressBar('hashing', !o.quiet);
  let result;
  try {
    result = await createTorrent(path, {
      version,
      ...(pieceLength !== undefined ? { pieceLength } : {}),
      ...(o.name !== undefined ? { name: o.name } : {}),
      // Each --tracker is a tier; commas inside one --tracker list the tier's alternatives (BEP 12).
      trackers: o.tracker.map((t) => t.split(',').filter(Boolean)),
      webSeeds: o.webSeed,
      private: o.private === true,
      ...(o.comment !== undefined ? { comment: o.comment } : {}),
      ...(o.source !== undefined ? { source: o.source } : {}),
      ...(creationDate !== undefined ? { creationDate } : {}),
      createdBy: `shoal/${VERSION}`,
      onProgress: (done, total) => bar.update(done, total),
    });
  } finally {
    bar.stop();
  }
  const out = resolve(o.output ?? `${result.metainfo.name}.torrent`);
  await writeFileAtomic(out, result.torrent, o.force === true);
  for (const w of result.warnings) process.stderr.write(`shoal: warning: ${w}\n`);
  const d = describeTorrent(result.metainfo);
  if (o.json) process.stdout.write(`${JSON.stringify({ ...d, torrent: out, warnings: result.warnings })}\n`);
  else if (!o.quiet) process.stdout.write(`${torrentText(d)}\nwritten:      ${out}\n`);
  return EXIT_OK;
}

/** `shoal verify <file.torrent> <dir>`: check data on disk against a torrent. */
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { verifyTorrent } from '../../storage/verify.js';
import type { Metainfo } from '../../metainfo/types.js';
import { EXIT_INCOMPLETE, EXIT_OK, UsageError } from '../errors.js';
import { loadTorrentFile } from '../io.js';
import { progressBar } from '../progress.js';
import { table } from '../format.js';

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/**
 * The folder the torrent's paths are relative to. `dir` is normally the download folder (holding
 * `<name>`), as in every client; but pointing at the data itself (the torrent's folder, or for a
 * single-file torrent the file) works too, as users tend to.
 */
export async function dataRoot(m: Metainfo, dir: string): Promise<{ dir: string; contentFolder: boolean }> {
  const abs = resolve(dir);
  const st = await stat(abs).catch(() => undefined);
  if (!st) throw new UsageError(`cannot read ${dir}: no such file or folder`);
  if (st.isFile()) {
    if (m.multiFile) throw new UsageError(`${dir} is a file, but the torrent is a folder`);
    if (basename(abs) !== m.name) throw new UsageError(`${dir} is a file, but the torrent's file is named ${JSON.stringify(m.name)}`);
    return { dir: dirname(abs), contentFolder: false };
  }
  if (await exists(resolve(abs, m.name))) return { dir: abs, contentFolder: false };
  // The folder of the data itself, whatever its name, when it holds the torrent's first file.
  const first = m.files.find((f) => !f.pad);
  if (m.multiFile && first && (await exists(resolve(abs, ...first.path.slice(1))))) return { dir: abs, contentFolder: true };
  return { dir: abs, contentFolder: false };
}

export async function verifyCommand(torrentPath: string, dir: string, o: { json?: boolean; quiet?: boolean }): Promise<number> {
  const m = await loadTorrentFile(torrentPath);
  const root = await dataRoot(m, dir);
  const bar = progressBar('verifying', !o.quiet && !o.json);
  let report;
  try {
    report = await verifyTorrent(m, root.dir, { contentFolder: root.contentFolder, onProgress: (done, total) => bar.update(done, total) });
  } finally {
    bar.stop();
  }
  if (o.json) {
    const { complete, piecesGood, piecesBad, piecesMissing, badPieces, missingPieces, pieceCount, files } = report;
    process.stdout.write(`${JSON.stringify({ complete, pieceCount, piecesGood, piecesBad, piecesMissing, badPieces, missingPieces, files })}\n`);
  } else if (!o.quiet) {
    const incomplete = report.files.filter((f) => !f.complete);
    const rows: [string, string][] = [
      ['result', report.complete ? 'complete: every piece is on disk and correct' : 'INCOMPLETE'],
      ['pieces', `${report.piecesGood} good, ${report.piecesBad} bad, ${report.piecesMissing} missing of ${report.pieceCount}`],
      ['files', `${report.files.length - incomplete.length} of ${report.files.length} complete`],
    ];
    if (report.badPieces.length > 0) rows.push(['bad pieces', summariseIndices(report.badPieces)]);
    if (report.missingPieces.length > 0) rows.push(['missing pieces', summariseIndices(report.missingPieces)]);
    let text = table(rows);
    if (incomplete.length > 0) text += `\nincomplete files:\n${incomplete.map((f) => `  ${f.path}`).join('\n')}`;
    process.stdout.write(`${text}\n`);
  }
  return report.complete ? EXIT_OK : EXIT_INCOMPLETE;
}

/** "1-4, 7, 9-12" */
export function summariseIndices(xs: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    parts.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

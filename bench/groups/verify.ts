/**
 * `verify`: checking the complete data file against a torrent (v1, v2, hybrid; 1 MiB pieces, made by
 * shoal beforehand, untimed). For each:
 *   shoal verify -q                                  (exit 0 = complete)
 *   libtorrent, one check (anchor)                   session start + the check done on add
 *   libtorrent, lt.py recheck                        session start + check on add + forced recheck,
 *                                                    i.e. the data is hashed twice (shown as asked; labelled)
 */
import { join } from 'node:path';
import { measureCases, mbps, ratio } from '../lib/cases.js';
import type { Case, CaseCheck } from '../lib/cases.js';
import { fixed } from '../lib/format.js';
import { LT_CHECK_ONCE_PY, ltHashingThreads } from '../lib/libtorrent.js';
import { runPlain } from '../lib/measure.js';
import type { BenchContext, BenchGroup, GroupResult, Row } from '../lib/types.js';

type Mode = 'v1' | 'v2' | 'hybrid';
const MODES: Mode[] = ['v1', 'v2', 'hybrid'];
const LT_ONCE = 'libtorrent 1 check';
const LT_RECHECK = 'lt.py recheck (2 checks)';

function checkOnce(r: { code: number; stdout: string }): CaseCheck {
  try {
    const j = JSON.parse(r.stdout) as { ok?: boolean; checkS?: number; startS?: number; have?: number; pieces?: number; errors?: string[] };
    if (j.ok !== true) return { error: `libtorrent check incomplete: ${j.have}/${j.pieces} pieces ${(j.errors ?? []).join('; ')}` };
    return { metrics: { checkS: j.checkS ?? NaN, startS: j.startS ?? NaN } };
  } catch {
    return { error: `exit ${r.code}, no JSON` };
  }
}

function checkRecheck(r: { code: number; stdout: string }): CaseCheck {
  try {
    const j = JSON.parse(r.stdout) as { ok?: boolean; numPieces?: number; havePieces?: number; errors?: string | null; error?: string };
    if (j.ok !== true) return { error: `lt.py recheck not ok: ${j.error ?? `${j.havePieces}/${j.numPieces} pieces ${j.errors ?? ''}`}` };
    return {};
  } catch {
    return { error: `exit ${r.code}, no JSON` };
  }
}

async function run(ctx: BenchContext): Promise<GroupResult> {
  const data = await ctx.dataFile();
  const { tools } = ctx;
  const torrent = (mode: Mode): string => join(ctx.outDir, `verify-${mode}.torrent`);

  // Untimed: the torrents to check, made by shoal.
  const prepErrors = new Map<Mode, string>();
  for (const mode of MODES) {
    const r = await runPlain(tools.node, [tools.shoal, 'create', data.path, '-o', torrent(mode), `--${mode}`, '-l', '1M', '-q', '-f']);
    if (r.code !== 0) prepErrors.set(mode, `could not make the ${mode} torrent: ${r.stderr.trim()}`);
  }

  const threads = ltHashingThreads();
  const cases: Case[] = [];
  for (const mode of MODES) {
    const operation = `verify ${mode}`;
    const prep = prepErrors.get(mode);
    const noLt = tools.python === null ? 'python3-libtorrent not available' : undefined;
    cases.push({
      operation,
      tool: 'shoal',
      bytes: data.bytes,
      ...(prep !== undefined ? { unavailable: prep } : {}),
      cmd: tools.node,
      args: [tools.shoal, 'verify', torrent(mode), data.dir, '-q'],
    });
    const onceUnavailable = prep ?? noLt;
    cases.push({
      operation,
      tool: threads > 0 ? `${LT_ONCE} (hashing_threads=${threads})` : LT_ONCE,
      anchor: true,
      bytes: data.bytes,
      ...(onceUnavailable !== undefined ? { unavailable: onceUnavailable } : {}),
      cmd: tools.python ?? 'python3',
      args: ['-c', LT_CHECK_ONCE_PY, torrent(mode), data.dir, ...(threads > 0 ? [String(threads)] : [])],
      check: checkOnce,
    });
    cases.push({
      operation,
      tool: LT_RECHECK,
      bytes: data.bytes,
      ...(onceUnavailable !== undefined ? { unavailable: onceUnavailable } : {}),
      cmd: tools.python ?? 'python3',
      args: [tools.ltPy, 'recheck', torrent(mode), data.dir],
      check: checkRecheck,
      notes: ['lt.py recheck = python start + session start + the check on add + a forced recheck: the data is hashed twice; MB/s is per byte of data, not per byte hashed'],
    });
  }

  const rows = await measureCases(ctx, 'verify', cases);
  const find = (mode: Mode, tool: string): Row | undefined => rows.find((r) => r.operation === `verify ${mode}` && r.tool.startsWith(tool));
  const notes: string[] = [];
  for (const r of rows) {
    const c = r.metrics.checkS;
    const s = r.metrics.startS;
    if (c !== undefined) {
      r.notes.push(`libtorrent's own check time (add → torrent_checked_alert, median) ${fixed(c, 3)} s = ${fixed(r.bytes / 1e6 / c, 0)} MB/s; python import + session start ${fixed(s, 3)} s`);
    }
    if (r.tool.startsWith('l') && r.fileMiB !== null && r.anonMiB !== null && r.fileMiB > r.bytes / 2 ** 21) {
      r.notes.push(`libtorrent mmaps the data (mmap_disk_io): peak RSS counts the mapped tmpfs pages (~${fixed(r.fileMiB, 0)} MiB file/shmem); anonymous memory peaked at ~${fixed(r.anonMiB, 0)} MiB`);
    }
  }
  if (threads === 0 && tools.python !== null) notes.push("libtorrent checks use its default settings (hashing_threads=1 in 2.0); set BENCH_LT_HASHING_THREADS=N to change the one-check anchor's");

  const summaries: string[] = [];
  for (const mode of MODES) {
    const s = find(mode, 'shoal');
    const once = find(mode, LT_ONCE);
    const twice = find(mode, LT_RECHECK);
    const inProc = once?.metrics.checkS;
    const vsCheckOnly = s?.wallS && inProc ? inProc / s.wallS : null;
    summaries.push(
      `${mode} verify: shoal ${fixed(s ? mbps(s) : null, 0)} MB/s vs libtorrent 1 check ${fixed(once ? mbps(once) : null, 0)} MB/s → ratio ${fixed(ratio(s, once), 2)}` +
        ` (vs lt.py recheck [2 checks + session start] ${fixed(ratio(s, twice), 2)}; vs libtorrent's in-process check time alone ${fixed(vsCheckOnly, 2)})`,
    );
  }
  return { rows, summaries, notes };
}

export const verifyGroup: BenchGroup = {
  name: 'verify',
  description: 'checking complete data (v1, v2, hybrid torrents) vs libtorrent',
  run,
};

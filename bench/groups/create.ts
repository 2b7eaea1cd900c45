/**
 * `create`: making a torrent from the data file with 1 MiB pieces.
 *   v1:     shoal create --v1   vs mktorrent -t <cores> -l 20 -d   (anchor; libtorrent v1 for context)
 *   v2:     shoal create --v2   vs libtorrent create_torrent v2_only (lt.py create --v2)
 *   hybrid: shoal create --hybrid vs libtorrent hybrid (lt.py create --hybrid)
 *   fixed cost: v1 of a 16 KiB file, i.e. process start-up and teardown (what small sizes are made of)
 * Afterwards (untimed) the info-hashes are compared through libtorrent's parser: the same data and
 * piece length must give the same info dictionary whoever hashed it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measureCases, mbps, ratio } from '../lib/cases.js';
import type { Case } from '../lib/cases.js';
import { fixed, goal, sizeLabel } from '../lib/format.js';
import { ltInfo } from '../lib/libtorrent.js';
import type { BenchContext, BenchGroup, GroupResult, Row } from '../lib/types.js';

const PIECE = 1024 * 1024;
const RSS_GOAL_MIB = 150;
const TINY = 16 * 1024;

type Mode = 'v1' | 'v2' | 'hybrid';

function ltCreateCheck(out: string): Case['check'] {
  return (r) => {
    if (r.code !== 0) return { error: `exit ${r.code}` };
    try {
      const j = JSON.parse(r.stdout) as { error?: string };
      if (j.error !== undefined) return { error: j.error };
    } catch {
      return { error: `no JSON from lt.py (output ${out})` };
    }
    return {};
  };
}

async function run(ctx: BenchContext): Promise<GroupResult> {
  const data = await ctx.dataFile();
  const { tools, config } = ctx;
  const out = (tool: string, mode: Mode): string => join(ctx.outDir, `create-${tool}-${mode}.torrent`);
  const cases: Case[] = [];

  // The fixed cost of one run: a 16 KiB file hashes in microseconds, so this is start-up + teardown.
  const tinyDir = join(ctx.workDir, 'tiny');
  mkdirSync(tinyDir, { recursive: true });
  const tiny = join(tinyDir, 'tiny-16KiB.bin');
  writeFileSync(tiny, Buffer.alloc(TINY, 0x5a));
  const fixedOp = 'create v1 16 KiB (fixed cost)';
  const tinyOut = (tool: string): string => join(ctx.outDir, `tiny-${tool}.torrent`);
  cases.push(
    // bytes 0: no MB/s for these rows, they are about the fixed cost
    { operation: fixedOp, tool: 'shoal', bytes: 0, cmd: tools.node, args: [tools.shoal, 'create', tiny, '-o', tinyOut('shoal'), '--v1', '-l', '1M', '-q', '-f'] },
    {
      operation: fixedOp,
      tool: `mktorrent -t ${config.cores}`,
      anchor: true,
      bytes: 0,
      ...(tools.mktorrent === null ? { unavailable: 'mktorrent not found on PATH' } : {}),
      cmd: tools.mktorrent ?? 'mktorrent',
      args: ['-t', String(config.cores), '-l', '20', '-d', '-o', tinyOut('mktorrent'), tiny],
      before: () => rmSync(tinyOut('mktorrent'), { force: true }),
    },
    {
      operation: fixedOp,
      tool: 'libtorrent (lt.py)',
      bytes: 0,
      ...(tools.python === null ? { unavailable: 'python3-libtorrent not available' } : {}),
      cmd: tools.python ?? 'python3',
      args: [tools.ltPy, 'create', tiny, tinyOut('libtorrent'), '--v1', '--piece-length', String(PIECE)],
      check: ltCreateCheck(tinyOut('libtorrent')),
    },
  );

  for (const mode of ['v1', 'v2', 'hybrid'] as const) {
    const operation = `create ${mode}`;
    cases.push({
      operation,
      tool: 'shoal',
      bytes: data.bytes,
      cmd: tools.node,
      args: [tools.shoal, 'create', data.path, '-o', out('shoal', mode), `--${mode}`, '-l', '1M', '-q', '-f'],
    });
    if (mode === 'v1') {
      cases.push({
        operation,
        tool: `mktorrent -t ${config.cores}`,
        anchor: true,
        bytes: data.bytes,
        ...(tools.mktorrent === null ? { unavailable: 'mktorrent not found on PATH' } : {}),
        cmd: tools.mktorrent ?? 'mktorrent',
        args: ['-t', String(config.cores), '-l', '20', '-d', '-o', out('mktorrent', mode), data.path],
        before: () => rmSync(out('mktorrent', mode), { force: true }), // mktorrent refuses to overwrite
      });
    }
    cases.push({
      operation,
      tool: 'libtorrent (lt.py)',
      anchor: mode !== 'v1',
      bytes: data.bytes,
      ...(tools.python === null ? { unavailable: 'python3-libtorrent not available' } : {}),
      cmd: tools.python ?? 'python3',
      args: [tools.ltPy, 'create', data.path, out('libtorrent', mode), `--${mode}`, '--piece-length', String(PIECE)],
      check: ltCreateCheck(out('libtorrent', mode)),
    });
  }

  const rows = await measureCases(ctx, 'create', cases);
  const notes: string[] = [];
  const find = (mode: Mode, tool: string): Row | undefined => rows.find((r) => r.operation === `create ${mode}` && r.tool.startsWith(tool));

  // Same bytes, same piece length -> the same info dictionary, whoever hashed it.
  const compare = async (mode: Mode, other: string, otherTool: string): Promise<void> => {
    const a = find(mode, 'shoal');
    const b = find(mode, otherTool);
    if (!a || !b || a.error !== undefined || b.error !== undefined || tools.python === null) return;
    const ia = await ltInfo(ctx, out('shoal', mode));
    const ib = await ltInfo(ctx, out(other, mode));
    if (typeof ia === 'string') {
      notes.push(`info-hash ${mode}: could not read shoal's torrent (${ia})`);
      return;
    }
    if (typeof ib === 'string') {
      notes.push(`info-hash ${mode}: could not read ${otherTool}'s torrent (${ib})`);
      return;
    }
    const same = ia.infoHash === ib.infoHash && ia.infoHashV2 === ib.infoHashV2;
    const shown = [ia.infoHash, ia.infoHashV2].filter((h) => h !== null).join(' / ');
    notes.push(same ? `info-hash ${mode}: shoal = ${otherTool} (${shown})` : `info-hash ${mode}: shoal ${shown} DIFFERS from ${otherTool} ${[ib.infoHash, ib.infoHashV2].filter((h) => h !== null).join(' / ')}`);
  };
  await compare('v1', 'mktorrent', 'mktorrent');
  await compare('v1', 'libtorrent', 'libtorrent');
  await compare('v2', 'libtorrent', 'libtorrent');
  await compare('hybrid', 'libtorrent', 'libtorrent');

  const lt = find('v1', 'libtorrent');
  if (lt) lt.notes.push('libtorrent v1 is shown for context; the v1 anchor is mktorrent');
  for (const r of rows) {
    // File-backed/shmem RSS beyond half the data size can only be the mapped data file.
    if (r.tool.startsWith('libtorrent') && r.bytes > 0 && r.fileMiB !== null && r.anonMiB !== null && r.fileMiB > r.bytes / 2 ** 21) {
      r.notes.push(`libtorrent mmaps the data (mmap_disk_io): peak RSS counts the mapped tmpfs pages (~${fixed(r.fileMiB, 0)} MiB file/shmem); anonymous memory peaked at ~${fixed(r.anonMiB, 0)} MiB`);
    }
  }

  const summaries: string[] = [];
  const line = (mode: Mode, tool: string, label: string): void => {
    const s = find(mode, 'shoal');
    const a = find(mode, tool);
    const q = ratio(s, a);
    summaries.push(
      `${mode} create: shoal ${fixed(s ? mbps(s) : null, 0)} MB/s vs ${label} ${fixed(a ? mbps(a) : null, 0)} MB/s → ratio ${fixed(q, 2)} (goal ≥ 1.0: ${goal(q === null ? null : q >= 1)})`,
    );
  };
  line('v1', 'mktorrent', `mktorrent -t ${config.cores}`);
  line('v2', 'libtorrent', 'libtorrent');
  line('hybrid', 'libtorrent', 'libtorrent');
  const shoalRows = rows.filter((r) => r.tool === 'shoal' && r.operation !== fixedOp && r.rssMiB !== null);
  const peak = shoalRows.length > 0 ? Math.max(...shoalRows.map((r) => r.rssMiB!)) : null;
  const parts = shoalRows.map((r) => `${r.operation.replace('create ', '')} ${fixed(r.rssMiB, 0)}`).join(', ');
  summaries.push(
    `peak RSS shoal create ${sizeLabel(data.bytes)}: ${fixed(peak, 0)} MiB (${parts}) (goal < ${RSS_GOAL_MIB} MiB: ${goal(peak === null ? null : peak < RSS_GOAL_MIB)})`,
  );
  const fixedShoal = rows.find((r) => r.operation === fixedOp && r.tool === 'shoal');
  const fixedMk = rows.find((r) => r.operation === fixedOp && r.tool.startsWith('mktorrent'));
  summaries.push(
    `fixed cost per run (16 KiB file): shoal ${fixed(fixedShoal?.wallS, 3)} s, mktorrent ${fixed(fixedMk?.wallS, 3)} s — included in every wall time above`,
  );
  return { rows, summaries, notes };
}

export const createGroup: BenchGroup = {
  name: 'create',
  description: 'torrent creation (v1 vs mktorrent, v2 and hybrid vs libtorrent), 1 MiB pieces',
  run,
};

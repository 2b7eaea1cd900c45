/**
 * Running a group's cases: every case is one command line; the cases are run round-robin (A B C, A B
 * C, ...) for `runs` rounds so slow drift (thermal, noisy neighbours) spreads over all tools alike, and
 * each case's samples are reduced to medians. A case that exits non-zero or fails its check is
 * reported as failed and not run again; the benchmark itself carries on.
 */
import { median, runTimed, timeFileIn, waitQuiet } from './measure.js';
import type { TimedResult } from './measure.js';
import type { BenchContext, Row, Sample } from './types.js';

export interface CaseCheck {
  error?: string;
  metrics?: Record<string, number>;
}

export interface Case {
  operation: string;
  tool: string;
  /** The reference for this operation's ratio column. */
  anchor?: boolean;
  /** Bytes processed per run (for MB/s; 0: no throughput column, e.g. a fixed-cost row). */
  bytes: number;
  /** Set when the tool is not available: the row is listed with this reason and no numbers. */
  unavailable?: string;
  cmd: string;
  args: string[];
  /** Runs before every timed run (untimed), e.g. to remove an output a tool will not overwrite. */
  before?: () => void;
  /** Judges one run (default: exit code 0). Returns an error, and/or numbers parsed from the output. */
  check?: (r: TimedResult) => CaseCheck;
  notes?: string[];
}

function defaultCheck(r: TimedResult): CaseCheck {
  return r.code === 0 ? {} : { error: `exit ${r.code}` };
}

function describeFailure(r: TimedResult, why: string): string {
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
  return tail ? `${why}: ${tail}` : why;
}

export function shellWords(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export async function measureCases(ctx: BenchContext, group: string, cases: Case[]): Promise<Row[]> {
  const samples: Sample[][] = cases.map(() => []);
  const errors: (string | undefined)[] = cases.map((c) => c.unavailable);
  const timeFile = timeFileIn(ctx.workDir);
  const runs = ctx.config.runs;
  for (let round = 1; round <= runs; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      if (errors[i] !== undefined) continue;
      c.before?.();
      if (ctx.config.waitQuietS > 0 && !(await waitQuiet(ctx.config.waitQuietS, ctx.config.cores))) {
        ctx.log(`[${group}] machine still busy after ${ctx.config.waitQuietS} s; measuring anyway`);
      }
      const r = await runTimed(c.cmd, c.args, { timeFile, sampleMs: ctx.config.sampleMs });
      const verdict = (c.check ?? defaultCheck)(r);
      if (verdict.error !== undefined) {
        errors[i] = describeFailure(r, verdict.error);
        ctx.log(`[${group}] ${round}/${runs} ${c.operation} · ${c.tool}: FAILED (${errors[i]})\n    command: ${shellWords(c.cmd, c.args)}`);
        continue;
      }
      r.sample.metrics = verdict.metrics ?? {};
      samples[i]!.push(r.sample);
      const cpu = r.sample.userS + r.sample.sysS;
      ctx.log(
        `[${group}] ${round}/${runs} ${c.operation} · ${c.tool}: ${r.sample.wallS.toFixed(3)} s wall, ${cpu.toFixed(2)} s CPU, ` +
          `${(r.sample.maxRssKiB / 1024).toFixed(1)} MiB, other processes ${r.sample.otherCpuS.toFixed(2)} CPU-s`,
      );
    }
  }
  return cases.map((c, i) => {
    const s = samples[i]!;
    const metricKeys = new Set(s.flatMap((x) => Object.keys(x.metrics)));
    const metrics: Record<string, number> = {};
    for (const k of metricKeys) {
      const m = median(s.map((x) => x.metrics[k] ?? NaN));
      if (m !== null) metrics[k] = m;
    }
    const mib = (kibs: (number | null)[]): number | null => {
      const m = median(kibs.map((k) => k ?? NaN));
      return m === null ? null : m / 1024;
    };
    const row: Row = {
      group,
      operation: c.operation,
      tool: c.tool,
      anchor: c.anchor === true,
      bytes: c.bytes,
      samples: s,
      wallS: errors[i] === undefined ? median(s.map((x) => x.wallS)) : null,
      cpuS: errors[i] === undefined ? median(s.map((x) => x.userS + x.sysS)) : null,
      rssMiB: errors[i] === undefined ? mib(s.map((x) => x.maxRssKiB)) : null,
      anonMiB: errors[i] === undefined ? mib(s.map((x) => x.maxAnonKiB)) : null,
      fileMiB: errors[i] === undefined ? mib(s.map((x) => x.maxFileKiB)) : null,
      otherCpuS: errors[i] === undefined ? median(s.map((x) => x.otherCpuS)) : null,
      metrics,
      notes: [...(c.notes ?? [])],
    };
    if (errors[i] !== undefined) row.error = errors[i];
    if (c.unavailable !== undefined) row.skipped = true;
    return row;
  });
}

/** Throughput in MB/s (10^6 bytes per second). */
export function mbps(row: Row): number | null {
  return row.bytes === 0 || row.wallS === null || row.wallS <= 0 ? null : row.bytes / 1e6 / row.wallS;
}

/** The anchor of `row`'s operation among `rows`. */
export function anchorOf(row: Row, rows: readonly Row[]): Row | undefined {
  return rows.find((r) => r.anchor && r.group === row.group && r.operation === row.operation);
}

/** Throughput ratio row/anchor (= anchor wall / row wall; > 1 means faster than the anchor). */
export function ratioToAnchor(row: Row, rows: readonly Row[]): number | null {
  const a = anchorOf(row, rows);
  if (!a || a.wallS === null || row.wallS === null || row.wallS <= 0) return null;
  return a.wallS / row.wallS;
}

/** Ratio of two rows' throughput (a over b), or null when either has no numbers. */
export function ratio(a: Row | undefined, b: Row | undefined): number | null {
  if (!a || !b || a.wallS === null || b.wallS === null || a.wallS <= 0) return null;
  return b.wallS / a.wallS;
}

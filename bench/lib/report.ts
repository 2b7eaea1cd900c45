/** The results table, the summary lines and the optional JSON. */
import { mbps, ratioToAnchor } from './cases.js';
import { fixed } from './format.js';
import type { Row } from './types.js';

const HEADERS = ['operation', 'tool', 'wall s (median)', 'MB/s', 'CPU s', 'peak RSS MiB', 'anon MiB*', 'ratio vs anchor', 'other CPU s**'];
const RIGHT = [false, false, true, true, true, true, true, false, true];
/** Shown (after "CPU s") only when some row has a seeder (the swarm group). */
const SEEDER_HEADER = 'seeder CPU s';

/** Renders rows as an aligned pipe table; footnote markers [n] point at the notes printed under it. */
export function renderTable(rows: readonly Row[]): string {
  const withSeeder = rows.some((r) => r.seederCpuS !== undefined);
  const headers = withSeeder ? [...HEADERS.slice(0, 5), SEEDER_HEADER, ...HEADERS.slice(5)] : HEADERS;
  const right = withSeeder ? [...RIGHT.slice(0, 5), true, ...RIGHT.slice(5)] : RIGHT;
  const footnotes: string[] = [];
  const mark = (notes: readonly string[]): string => {
    const ids = notes.map((n) => {
      let i = footnotes.indexOf(n);
      if (i < 0) i = footnotes.push(n) - 1;
      return `[${i + 1}]`;
    });
    return ids.length > 0 ? ` ${ids.join('')}` : '';
  };
  const body = rows.map((r) => {
    const notes = r.error !== undefined ? [...r.notes, `${r.operation} · ${r.tool}: ${r.error}`] : r.notes;
    const q = ratioToAnchor(r, rows);
    const ratioText = r.error !== undefined ? (r.skipped === true ? 'n/a' : 'failed / n/a') : r.anchor ? '1.00 (anchor)' : fixed(q, 2);
    const cells = [
      r.operation,
      `${r.tool}${mark(notes)}`,
      fixed(r.wallS, 3),
      fixed(mbps(r), 0),
      fixed(r.cpuS, 2),
      fixed(r.rssMiB, 1),
      fixed(r.anonMiB, 1),
      ratioText,
      fixed(r.otherCpuS, 2),
    ];
    if (withSeeder) cells.splice(5, 0, fixed(r.seederCpuS, 2));
    return cells;
  });
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  const lines = [fmt(headers), sep];
  let prevOp: string | undefined;
  for (let i = 0; i < body.length; i++) {
    // Blank operation cell for repeated operations keeps the groups readable.
    const cells = [...body[i]!];
    if (rows[i]!.operation === prevOp) cells[0] = '';
    prevOp = rows[i]!.operation;
    lines.push(fmt(cells));
  }
  lines.push('');
  lines.push('MB/s = 10^6 bytes of data per wall second; CPU s = user + sys; ratio = anchor wall / tool wall (> 1: faster than the anchor).');
  if (withSeeder) {
    lines.push(
      'swarm rows: wall = the leecher from its start to completion; CPU s, peak RSS and anon are the leecher\'s; seeder CPU s = the seeder\'s user + sys during that transfer only (/proc/<pid>/stat).',
    );
  }
  lines.push('* anon MiB: peak RssAnon sampled from /proc/<pid>/status (misses very short runs); peak RSS is GNU time %M, which also counts mmapped file pages.');
  lines.push('** other CPU s: CPU time the rest of the machine used during the run (median; /proc/stat); ≈ 0 on a quiet machine, larger means the row is disturbed.');
  footnotes.forEach((n, i) => lines.push(`[${i + 1}] ${n}`));
  return lines.join('\n');
}

/** A warning when other processes took a noticeable share of the machine during the measurements. */
export function noiseWarning(rows: readonly Row[], cores: number): string | null {
  // /proc/stat counts in 10 ms ticks: ignore less than 50 ms, which short runs show from rounding alone.
  const busy = rows.filter((r) => r.otherCpuS !== null && r.wallS !== null && r.otherCpuS >= 0.05 && r.otherCpuS > 0.1 * r.wallS * cores);
  if (busy.length === 0) return null;
  const worst = Math.max(...busy.map((r) => r.otherCpuS! / (r.wallS! * cores)));
  return `warning: the machine was busy during ${busy.length} of ${rows.length} rows (other processes used up to ${(worst * 100).toFixed(0)}% of the ${cores} cores); wall times and ratios of those rows are pessimistic — rerun on a quiet machine (BENCH_WAIT_QUIET=10 waits for one)`;
}

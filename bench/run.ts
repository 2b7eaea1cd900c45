/**
 * shoal's benchmark harness: `npm run bench [-- <group>...]` (default: every group; `--list` shows them).
 *
 * A measurement, never a test: it reports numbers and goal lines but exits non-zero only when it could
 * not measure (a tool failed, bad arguments). Each measurement is a separate process under GNU time,
 * repeated BENCH_RUNS times (default 3); the median is shown. The data is a deterministic pseudo-random
 * file of BENCH_SIZE_MIB MiB (default 1024) in a fresh /dev/shm/shoal-bench-<pid>, removed at the end
 * and on Ctrl-C. BENCH_JSON=1 adds the full results as one JSON line at the end of stdout.
 * Progress goes to stderr, the report to stdout.
 */
import { cpus, availableParallelism } from 'node:os';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GROUPS } from './groups/index.js';
import { mbps, ratioToAnchor } from './lib/cases.js';
import { fixed, sizeLabel } from './lib/format.js';
import { GNU_TIME, killActive } from './lib/measure.js';
import { noiseWarning, renderTable } from './lib/report.js';
import { findTools, mktorrentVersion } from './lib/tools.js';
import type { BenchConfig, BenchContext, BenchGroup, DataSet, GroupResult, Row } from './lib/types.js';
import { createWorkspace, generateData } from './lib/workspace.js';

/** dist/bench/run.js -> the repository root. */
const REPO_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

class UsageError extends Error {}

function intEnv(name: string, def: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${name} must be an integer ≥ ${min} (got "${raw}")`);
  return v;
}

function readConfig(): BenchConfig {
  return {
    sizeMiB: intEnv('BENCH_SIZE_MIB', 1024, 1),
    runs: intEnv('BENCH_RUNS', 3, 1),
    cores: availableParallelism(),
    json: process.env.BENCH_JSON === '1',
    sampleMs: intEnv('BENCH_SAMPLE_MS', 20, 0),
    waitQuietS: intEnv('BENCH_WAIT_QUIET', 0, 0),
  };
}

function usage(): string {
  return [
    'usage: npm run bench [-- <group>...]      (default: all groups)',
    '       npm run bench -- --list',
    '',
    'groups:',
    ...GROUPS.map((g) => `  ${g.name.padEnd(10)} ${g.description}`),
    '',
    'environment: BENCH_SIZE_MIB (1024), BENCH_RUNS (3), BENCH_JSON=1, BENCH_SAMPLE_MS (20; 0 = off),',
    '             BENCH_WAIT_QUIET (0; seconds to wait before each run for other processes to go idle),',
    '             BENCH_LT_HASHING_THREADS (libtorrent default)',
  ].join('\n');
}

function selectGroups(args: readonly string[]): BenchGroup[] | null {
  if (args.includes('--help') || args.includes('-h') || args.includes('--list')) return null;
  const unknownFlag = args.find((a) => a.startsWith('-'));
  if (unknownFlag !== undefined) throw new UsageError(`unknown option ${unknownFlag}`);
  if (args.length === 0) return [...GROUPS];
  return args.map((name) => {
    const g = GROUPS.find((x) => x.name === name);
    if (!g) throw new UsageError(`unknown bench group "${name}" (have: ${GROUPS.map((x) => x.name).join(', ')})`);
    return g;
  });
}

async function main(): Promise<number> {
  let groups: BenchGroup[] | null;
  let config: BenchConfig;
  try {
    groups = selectGroups(process.argv.slice(2));
    config = readConfig();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n\n${usage()}\n`);
    return 2;
  }
  if (groups === null) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (!existsSync(GNU_TIME)) {
    process.stderr.write(`bench: ${GNU_TIME} (GNU time) is needed to measure CPU time and peak RSS\n`);
    return 2;
  }

  const tools = findTools(REPO_ROOT);
  const ws = createWorkspace();
  const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`\nbench: ${sig} — stopping and removing ${ws.dir}`);
    killActive();
    ws.remove();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', () => ws.remove()); // last resort (e.g. an uncaught error)

  try {
    const outDir = join(ws.dir, 'out');
    const dataDir = join(ws.dir, 'data');
    mkdirSync(outDir);
    mkdirSync(dataDir);
    const bytes = config.sizeMiB * 2 ** 20;
    let dataPromise: Promise<DataSet> | undefined;
    const ctx: BenchContext = {
      config,
      tools,
      repoRoot: REPO_ROOT,
      workDir: ws.dir,
      outDir,
      log,
      dataFile() {
        dataPromise ??= (async () => {
          const name = `bench-${config.sizeMiB}MiB.bin`;
          const path = join(dataDir, name);
          const t0 = process.hrtime.bigint();
          log(`bench: writing ${sizeLabel(bytes)} of pseudo-random data to ${path}`);
          await generateData(path, bytes);
          log(`bench: data ready in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
          return { path, dir: dataDir, name, bytes };
        })();
        return dataPromise;
      },
    };

    const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const mk = tools.mktorrent !== null ? `mktorrent ${mktorrentVersion(tools.mktorrent) ?? '?'}` : 'mktorrent: not found';
    const lt = tools.libtorrentVersion !== null ? `libtorrent ${tools.libtorrentVersion} (python3)` : 'python3-libtorrent: not found';
    const header = [
      `shoal bench — ${groups.map((g) => g.name).join(', ')} — ${sizeLabel(bytes)} data, ${config.runs} run(s) each, median shown`,
      `machine: ${config.cores} cores (${cpuModel}), node ${process.version}, ${mk}, ${lt}`,
      ...(config.waitQuietS > 0 ? [`waiting up to ${config.waitQuietS} s before each run for the machine to go idle (BENCH_WAIT_QUIET)`] : []),
      `data: ${ws.onDisk ? `${ws.dir} (no /dev/shm: on disk, page cache not controlled)` : `${ws.dir} (tmpfs: always in memory)`}`,
    ];
    log(header.join('\n'));

    const results: { group: string; result: GroupResult }[] = [];
    for (const g of groups) {
      log(`\n== ${g.name}: ${g.description}`);
      results.push({ group: g.name, result: await g.run(ctx) });
    }

    const rows: Row[] = results.flatMap((r) => r.result.rows);
    const out: string[] = ['', ...header, '', renderTable(rows), ''];
    const notes = results.flatMap((r) => r.result.notes);
    const noise = noiseWarning(rows, config.cores);
    if (noise !== null) out.push(noise, '');
    if (notes.length > 0) out.push(...notes.map((n) => `note: ${n}`), '');
    out.push(...results.flatMap((r) => r.result.summaries));
    process.stdout.write(`${out.join('\n')}\n`);

    if (config.json) {
      const json = {
        config: { ...config, sizeBytes: bytes },
        machine: { cores: config.cores, cpu: cpuModel, node: process.version, mktorrent: mk, libtorrent: tools.libtorrentVersion },
        groups: results.map(({ group, result }) => ({ group, summaries: result.summaries, notes: result.notes })),
        rows: rows.map((r) => ({ ...r, mbps: mbps(r), ratioToAnchor: ratioToAnchor(r, rows) })),
      };
      process.stdout.write(`\n${JSON.stringify(json)}\n`);
    }
    const failed = rows.filter((r) => r.error !== undefined && r.skipped !== true);
    if (failed.length > 0) log(`bench: ${failed.length} measurement(s) could not be taken (see the table notes)`);
    log(`bench: done; median of ${config.runs}; wall ${fixed(rows.reduce((n, r) => n + r.samples.reduce((m, s) => m + s.wallS, 0), 0), 1)} s measured in total`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    ws.remove();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    killActive();
    process.stderr.write(`bench: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);

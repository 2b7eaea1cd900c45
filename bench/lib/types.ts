/**
 * The shapes the benchmark harness passes around. A bench group (bench/groups/*.ts) is a named set of
 * measurements; it gets a `BenchContext` (configuration, tool paths, the shared data set) and returns
 * rows for the table plus one-line summaries. New benchmarks are new groups registered in
 * bench/groups/index.ts.
 */

export interface BenchConfig {
  /** Size of the generated data file, MiB (env BENCH_SIZE_MIB, default 1024). */
  sizeMiB: number;
  /** Repetitions per measurement; the median is reported (env BENCH_RUNS, default 3). */
  runs: number;
  /** Cores the tools may use (os.availableParallelism()). */
  cores: number;
  /** Print the results as one JSON line at the end (env BENCH_JSON=1). */
  json: boolean;
  /** /proc sampling interval for anonymous RSS, ms; 0 turns it off (env BENCH_SAMPLE_MS, default 20). */
  sampleMs: number;
  /** Before each run, wait up to this many seconds for the rest of the machine to go idle (env BENCH_WAIT_QUIET, default 0 = off). */
  waitQuietS: number;
}

/** Executables the groups drive. A missing optional tool is null and its rows are skipped. */
export interface Tools {
  node: string;
  /** bin/shoal.js (run with `node`). */
  shoal: string;
  /** /usr/bin/python3 when it can import libtorrent, else null. */
  python: string | null;
  /** test/interop/tools/lt.py. */
  ltPy: string;
  mktorrent: string | null;
  libtorrentVersion: string | null;
}

export interface BenchContext {
  config: BenchConfig;
  tools: Tools;
  repoRoot: string;
  /** The fresh /dev/shm/shoal-bench-<pid> folder; everything here is removed at the end. */
  workDir: string;
  /** A scratch folder for outputs (torrents), inside workDir. */
  outDir: string;
  /** The shared pseudo-random data file, made on first use (deterministic content). */
  dataFile(): Promise<DataSet>;
  /** Progress and diagnostics (stderr; the table goes to stdout). */
  log(msg: string): void;
}

export interface DataSet {
  /** Absolute path of the data file. */
  path: string;
  /** The folder holding it (the "download folder" for verify/recheck). */
  dir: string;
  /** File name (also the torrent name). */
  name: string;
  bytes: number;
}

/** One timed run of one command. */
export interface Sample {
  wallS: number;
  userS: number;
  sysS: number;
  /** Peak resident set (GNU time %M), KiB. */
  maxRssKiB: number;
  /** Peak anonymous RSS seen by /proc sampling, KiB (null when sampling is off or missed the process). */
  maxAnonKiB: number | null;
  /** Peak file-backed + shmem RSS seen by sampling (mmapped data on tmpfs shows up here), KiB. */
  maxFileKiB: number | null;
  /**
   * CPU seconds used by everything else on the machine during the run (/proc/stat busy time minus the
   * tool's user + sys): a noise indicator; ~0 on a quiet machine.
   */
  otherCpuS: number;
  /** Extra numbers a case parsed from the tool's output (e.g. an in-process timer). */
  metrics: Record<string, number>;
}

/** One line of the table: the medians of a case's samples. */
export interface Row {
  group: string;
  operation: string;
  tool: string;
  /** The reference other rows of the same operation are compared with. */
  anchor: boolean;
  /** Bytes of data processed (for MB/s). */
  bytes: number;
  samples: Sample[];
  wallS: number | null;
  cpuS: number | null;
  rssMiB: number | null;
  anonMiB: number | null;
  fileMiB: number | null;
  /** Median CPU seconds used by other processes during this row's runs. */
  otherCpuS: number | null;
  /**
   * Swarm rows only: the seeder's CPU seconds (user + sys) during the transfer (median); the other
   * columns (CPU s, peak RSS, anon) are then the leecher's. Left out by rows of other groups.
   */
  seederCpuS?: number | null;
  metrics: Record<string, number>;
  /** Set when the tool failed or was not available; the row then has no numbers. */
  error?: string;
  /** True when the tool was not available (not a failure of the measurement). */
  skipped?: boolean;
  /** Footnotes printed under the table. */
  notes: string[];
}

export interface GroupResult {
  rows: Row[];
  /** Goal / summary lines printed after the table. */
  summaries: string[];
  /** Facts worth printing (e.g. "info-hash: shoal = mktorrent"). */
  notes: string[];
}

export interface BenchGroup {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<GroupResult>;
}

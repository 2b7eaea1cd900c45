/**
 * `swarm` (issue 3): one seeder to one leecher over TCP on loopback, the data file (BENCH_SIZE_MIB) in
 * /dev/shm, a v1 torrent with 1 MiB pieces (made by shoal beforehand, untimed), a fresh leecher folder
 * every run:
 *   shoal → shoal                  shoal seed --port 0 --json --no-dht / shoal get --peer 127.0.0.1:P --json --no-dht
 *   libtorrent → libtorrent        anchor pair (python3-libtorrent, LT_PEER_PY)
 *   aria2 → aria2                  anchor pair, through a local opentracker (whitelist; aria2 cannot dial a given peer)
 *   Transmission → Transmission    anchor pair, in a private network namespace (it never dials 127/8), else n/a
 *   libtorrent → shoal
 *   shoal → 8× shoal               one seeder, eight leechers at once (aggregate = 8 × size / time until the last is done)
 *
 * One run: start the seeder (untimed), wait until it is ready, has checked its data and is idle, wait
 * for the machine to go quiet (BENCH_WAIT_QUIET), read the seeder's CPU time from /proc/<pid>/stat,
 * run the leecher under GNU time until it exits on completion, read the seeder's CPU again, stop the
 * seeder (by its PID), check the leecher's file. Wall (hence MB/s) is the leecher's, from its start
 * to completion, start-up included. The ratio column is against the fastest anchor pair.
 */
import { createReadStream, existsSync, mkdirSync, readlinkSync, rmSync, statSync, statfsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { mbps, ratio, shellWords } from '../lib/cases.js';
import { fixed, goal, sizeLabel } from '../lib/format.js';
import { machineBusyS, median, runPlain, runTimed, waitQuiet } from '../lib/measure.js';
import type { TimedResult } from '../lib/measure.js';
import { cpuSecondsOf, freePort, startProc, waitIdle } from '../lib/procs.js';
import type { Proc } from '../lib/procs.js';
import { LT_PEER_PY, SHOAL_ENV, aria2Args, startOpentracker } from '../lib/swarm-clients.js';
import type { Tracker } from '../lib/swarm-clients.js';
import { findOnPath } from '../lib/tools.js';
import type { TrPairConfig, TrPairResult } from '../lib/transmission-netns.js';
import type { BenchContext, BenchGroup, DataSet, GroupResult, Row, Sample } from '../lib/types.js';

const ONE = 'swarm 1 seeder → 1 leecher';
const EIGHT_N = 8;
const EIGHT = `swarm 1 seeder → ${EIGHT_N} leechers`;
const RSS_GOAL_MIB = 200;
const WEBTORRENT_CPU_PER_GIB = '11–12.5';
const TR_NA = 'n/a (Transmission never dials loopback; needs a netns)';
const TR_NETNS_JS = fileURLToPath(new URL('../lib/transmission-netns.js', import.meta.url));

/** Everything a run needs to know about the data and the torrent. */
interface Swarm {
  ctx: BenchContext;
  data: DataSet;
  torrent: string;
  infoHash: string;
  /** Per-transfer time limit. */
  timeoutMs: number;
}

/** A seeder that is up, has checked its data and is idle; `stop()` ends exactly what was started. */
interface Seeder {
  pid: number;
  /** host:port to give a leecher (when it can take one). */
  peer: string;
  /** For an aria2 leecher: the tracker's announce URL. */
  announce?: string;
  command: string;
  stop(): Promise<void>;
  describe(): string;
}

interface Leecher {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

interface Pair {
  operation: string;
  tool: string;
  /** One of the other clients' own pairs: a candidate for the anchor (the fastest of them). */
  anchorPair: boolean;
  /** Data bytes moved per run (for MB/s). */
  bytes: number;
  unavailable?: string;
  notes: string[];
  /** One measured transfer; throws (with the commands) when it failed. `round` starts at 1. */
  once(round: number): Promise<Sample>;
}

// ---------------------------------------------------------------------------------------------
// Seeders

async function stopAll(procs: readonly Proc[]): Promise<void> {
  for (const p of procs) await p.stop('SIGTERM', 5000);
}

async function shoalSeeder(s: Swarm): Promise<Seeder> {
  const { tools } = s.ctx;
  const args = [tools.shoal, 'seed', s.data.path, '--torrent', s.torrent, '--port', '0', '--json', '--no-dht'];
  const proc = await startProc('shoal seed', tools.node, args, { env: SHOAL_ENV });
  try {
    const ready = await proc.waitForEvent('ready', 300_000);
    if (ready.complete !== true) throw new Error(`shoal seed is not complete: ${JSON.stringify(ready)}`);
    return ready2seeder(proc, `127.0.0.1:${String(ready.port)}`, `SHOAL_NET_ALLOW=127.0.0.0/8 ${shellWords(tools.node, args)}`, [proc]);
  } catch (e) {
    await proc.stop('SIGKILL');
    throw e;
  }
}

async function ltSeeder(s: Swarm): Promise<Seeder> {
  const py = s.ctx.tools.python!;
  const args = ['-c', LT_PEER_PY, 'seed', s.torrent, s.data.dir];
  const proc = await startProc('libtorrent seed', py, args);
  try {
    const ready = await proc.waitForEvent('ready', 30_000);
    await proc.waitForEvent('seeding', 300_000);
    return ready2seeder(proc, `127.0.0.1:${String(ready.port)}`, `${py} -c "$LT_PEER_PY" seed ${s.torrent} ${s.data.dir}`, [proc]);
  } catch (e) {
    await proc.stop('SIGKILL');
    throw e;
  }
}

/** opentracker (fresh for the run, whitelisting the torrent) + aria2c seeding with --check-integrity. */
async function aria2Seeder(s: Swarm, round: number): Promise<Seeder> {
  const tracker: Tracker = await startOpentracker(join(s.ctx.workDir, 'swarm', `tracker-${round}-${Date.now()}`), [s.infoHash]);
  const port = await freePort();
  const args = [...aria2Args(s.data.dir, port, tracker.announce), '--check-integrity=true', '--seed-ratio=0.0', s.torrent];
  let proc: Proc | undefined;
  try {
    proc = await startProc('aria2c seed', 'aria2c', args);
    const p = proc;
    // it announces as a seeder once it has checked the data
    await Promise.race([tracker.waitForSeeders(s.infoHash, 1, 300_000), p.exited.then(() => Promise.reject(new Error(`aria2c seed exited: ${p.describe()}`)))]);
    const seeder = ready2seeder(proc, `127.0.0.1:${port}`, `aria2c ${args.join(' ')}`, [proc, tracker.proc]);
    return { ...seeder, announce: tracker.announce };
  } catch (e) {
    await stopAll([...(proc ? [proc] : []), tracker.proc]);
    throw e;
  }
}

function ready2seeder(proc: Proc, peer: string, command: string, procs: Proc[]): Seeder {
  return {
    pid: proc.pid,
    peer,
    command,
    stop: () => stopAll(procs),
    describe: () => procs.map((p) => p.describe()).join('; '),
  };
}

// ---------------------------------------------------------------------------------------------
// Leechers

function shoalLeecher(s: Swarm, seeder: Seeder, dir: string): Leecher {
  return {
    cmd: s.ctx.tools.node,
    args: [s.ctx.tools.shoal, 'get', s.torrent, '--peer', seeder.peer, '-o', dir, '--json', '--no-dht'],
    env: { ...SHOAL_ENV },
  };
}

function ltLeecher(s: Swarm, seeder: Seeder, dir: string): Leecher {
  return { cmd: s.ctx.tools.python!, args: ['-c', LT_PEER_PY, 'get', s.torrent, dir, seeder.peer, String(s.timeoutMs / 1000)] };
}

async function aria2Leecher(s: Swarm, seeder: Seeder, dir: string): Promise<Leecher> {
  const port = await freePort();
  return { cmd: 'aria2c', args: [...aria2Args(dir, port, seeder.announce!), '--seed-time=0', s.torrent] };
}

function leecherText(l: Leecher): string {
  const env = l.env ? `${Object.entries(l.env).map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
  const args = l.args.map((a) => (a === LT_PEER_PY ? '"$LT_PEER_PY"' : a));
  return `${env}${shellWords(l.cmd, args)}`;
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Byte-for-byte comparison of two files (the leecher's copy against the original). */
async function sameBytes(a: string, b: string): Promise<boolean> {
  if (statSync(a).size !== statSync(b).size) return false;
  const fb = await open(b, 'r');
  try {
    let pos = 0;
    const other = Buffer.alloc(4 * 1024 * 1024);
    for await (const chunk of createReadStream(a, { highWaterMark: other.length })) {
      const buf = chunk as Buffer;
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fb.read(other, got, buf.length - got, pos + got);
        if (bytesRead === 0) return false;
        got += bytesRead;
      }
      if (!buf.equals(other.subarray(0, buf.length))) return false;
      pos += buf.length;
    }
    return true;
  } finally {
    await fb.close();
  }
}

/** Whether the leecher's copy is there, complete and (first round: compared byte for byte) right. */
async function checkCopy(s: Swarm, dir: string, round: number): Promise<string | undefined> {
  const file = join(dir, s.data.name);
  if (!existsSync(file)) return `no ${s.data.name} in ${dir}`;
  const size = statSync(file).size;
  if (size !== s.data.bytes) return `${file} has ${size} bytes, expected ${s.data.bytes}`;
  if (round === 1 && !(await sameBytes(file, s.data.path))) return `${file} differs from the original`;
  return undefined;
}

/** The last {"event":"done",...} line a leecher printed (shoal get --json, LT_PEER_PY get), if any. */
function doneEvent(stdout: string): Record<string, unknown> | undefined {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{') && /"event":\s*"done"/.test(l));
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Numbers from a leecher's own "done" line: its in-process time to completion (shoal: elapsedMs from
 * its session start; libtorrent: add → torrent_finished_alert), and for shoal the bytes it uploaded.
 */
function doneMetrics(stdout: string): Record<string, number> {
  const d = doneEvent(stdout);
  if (!d) return {};
  const out: Record<string, number> = {};
  if (typeof d.elapsedMs === 'number') out.inProcessS = d.elapsedMs / 1000;
  if (typeof d.seconds === 'number') out.inProcessS = d.seconds;
  if (typeof d.uploaded === 'number') out.uploadedBytes = d.uploaded;
  if (typeof d.downloaded === 'number') out.downloadedBytes = d.downloaded;
  return out;
}

/** "exit 1" or, for a leecher GNU time's watchdog stopped, "killed after the N s limit". */
function exitText(r: TimedResult, limitMs: number): string {
  return /killed by SIGKILL/.test(r.stderr) ? `no completion within the ${limitMs / 1000} s limit (killed)` : `exit ${r.code}`;
}

/** What a failed leecher said last: its last JSON event (progress, peers) and the end of its stderr. */
function tail(r: TimedResult): string {
  const lastEvent = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  const err = r.stderr.trim().split('\n').slice(-3).join(' | ');
  return [lastEvent !== undefined ? `last output ${lastEvent.slice(0, 500)}` : '', err.slice(-500)].filter((x) => x !== '').join('; ');
}

// ---------------------------------------------------------------------------------------------
// One seeder → one leecher

function freshDir(s: Swarm, name: string): string {
  const dir = join(s.ctx.workDir, 'swarm', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function quietly(s: Swarm, label: string): Promise<void> {
  const { config } = s.ctx;
  if (config.waitQuietS > 0 && !(await waitQuiet(config.waitQuietS, config.cores))) {
    s.ctx.log(`[swarm] machine still busy after ${config.waitQuietS} s; measuring ${label} anyway`);
  }
}

async function oneToOne(
  s: Swarm,
  slug: string,
  round: number,
  startSeeder: () => Promise<Seeder>,
  makeLeecher: (seeder: Seeder, dir: string) => Leecher | Promise<Leecher>,
): Promise<Sample> {
  const dir = freshDir(s, `${slug}-leecher`);
  const seeder = await startSeeder();
  let leecher: Leecher | undefined;
  try {
    await waitIdle(seeder.pid, 60_000);
    leecher = await makeLeecher(seeder, dir);
    await quietly(s, slug);
    const seed0 = cpuSecondsOf(seeder.pid);
    const r = await runTimed(leecher.cmd, leecher.args, {
      timeFile: join(s.ctx.workDir, 'swarm', 'time.out'),
      sampleMs: s.ctx.config.sampleMs,
      timeoutMs: s.timeoutMs,
      ...(leecher.env ? { env: leecher.env } : {}),
    });
    const seederCpuS = cpuSecondsOf(seeder.pid) - seed0;
    if (r.code !== 0) throw new Error(`leecher: ${exitText(r, s.timeoutMs)}: ${tail(r)}; seeder: ${seeder.describe()}`);
    if (!Number.isFinite(seederCpuS)) throw new Error(`the seeder was gone before the leecher finished: ${seeder.describe()}`);
    const bad = await checkCopy(s, dir, round);
    if (bad !== undefined) throw new Error(bad);
    r.sample.otherCpuS = Math.max(0, r.sample.otherCpuS - seederCpuS);
    r.sample.metrics = { seederCpuS, ...doneMetrics(r.stdout) };
    return r.sample;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${msg}\n    seeder:  ${seeder.command}\n    leecher: ${leecher ? leecherText(leecher) : '(not started)'}`);
  } finally {
    await seeder.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// One shoal seeder → eight shoal leechers at once

async function oneToEight(s: Swarm, round: number): Promise<Sample> {
  const dirs = Array.from({ length: EIGHT_N }, (_, i) => freshDir(s, `eight-leecher-${i + 1}`));
  const seeder = await shoalSeeder(s);
  const leechers = dirs.map((d) => shoalLeecher(s, seeder, d));
  try {
    await waitIdle(seeder.pid, 60_000);
    await quietly(s, 'shoal → 8× shoal');
    const seed0 = cpuSecondsOf(seeder.pid);
    const busy0 = machineBusyS();
    const t0 = process.hrtime.bigint();
    const results = await Promise.all(
      leechers.map((l, i) =>
        runTimed(l.cmd, l.args, {
          timeFile: join(s.ctx.workDir, 'swarm', `time-${i + 1}.out`),
          sampleMs: s.ctx.config.sampleMs,
          timeoutMs: s.timeoutMs * 2,
          env: l.env!,
        }),
      ),
    );
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const seederCpuS = cpuSecondsOf(seeder.pid) - seed0;
    const busyS = machineBusyS() - busy0;
    const failed = results.map((r, i) => ({ r, i })).filter(({ r }) => r.code !== 0);
    if (failed.length > 0) {
      throw new Error(`${failed.length} of ${EIGHT_N} leechers failed: ${failed.map(({ r, i }) => `#${i + 1} ${exitText(r, s.timeoutMs * 2)}: ${tail(r)}`).join(' ;; ')}; seeder: ${seeder.describe()}`);
    }
    for (let i = 0; i < EIGHT_N; i++) {
      const bad = await checkCopy(s, dirs[i]!, round);
      if (bad !== undefined) throw new Error(`leecher #${i + 1}: ${bad}`);
    }
    const userS = results.reduce((n, r) => n + r.sample.userS, 0);
    const sysS = results.reduce((n, r) => n + r.sample.sysS, 0);
    const maxOf = (xs: (number | null)[]): number | null => {
      const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
      return v.length > 0 ? Math.max(...v) : null;
    };
    const slowest = Math.max(...results.map((r) => r.sample.wallS));
    const fastest = Math.min(...results.map((r) => r.sample.wallS));
    const done = results.map((r) => doneMetrics(r.stdout));
    const sum = (k: string): number => done.reduce((n, d) => n + (d[k] ?? NaN), 0);
    return {
      wallS,
      userS,
      sysS,
      maxRssKiB: maxOf(results.map((r) => r.sample.maxRssKiB)) ?? NaN,
      maxAnonKiB: maxOf(results.map((r) => r.sample.maxAnonKiB)),
      maxFileKiB: maxOf(results.map((r) => r.sample.maxFileKiB)),
      otherCpuS: Math.max(0, busyS - userS - sysS - seederCpuS),
      metrics: { seederCpuS, fastestLeecherS: fastest, slowestLeecherS: slowest, uploadedBytes: sum('uploadedBytes'), downloadedBytes: sum('downloadedBytes') },
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${msg}\n    seeder:  ${seeder.command}\n    leechers (×${EIGHT_N}, at once): ${leecherText(leechers[0]!)} (each with its own -o)`);
  } finally {
    await seeder.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Transmission → Transmission in a network namespace

/** Whether this machine lets us make a network namespace and has what the netns pair needs. */
async function netnsProblem(): Promise<string | undefined> {
  for (const tool of ['unshare', 'ip', 'transmission-daemon', 'opentracker']) {
    if (findOnPath(tool) === null) return tool === 'unshare' || tool === 'ip' ? TR_NA : `${tool} not found on PATH`;
  }
  const r = await runPlain('unshare', ['--net', '--', 'ip', 'link', 'set', 'lo', 'up']);
  return r.code === 0 ? undefined : `${TR_NA} — unshare --net failed here: ${r.stderr.trim()}`;
}

async function transmissionPair(s: Swarm, round: number): Promise<Sample> {
  const workDir = join(s.ctx.workDir, 'swarm', `transmission-${round}`);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const cfg: TrPairConfig = {
    torrent: s.torrent,
    infoHash: s.infoHash,
    dataDir: s.data.dir,
    name: s.data.name,
    bytes: s.data.bytes,
    workDir,
    waitQuietS: s.ctx.config.waitQuietS,
    cores: s.ctx.config.cores,
    timeoutMs: s.timeoutMs,
    outerNetns: readlinkSync('/proc/self/ns/net'),
  };
  const args = ['--net', '--', s.ctx.tools.node, TR_NETNS_JS, JSON.stringify(cfg)];
  try {
    const r = await runPlain('unshare', args);
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    let res: TrPairResult;
    try {
      res = JSON.parse(line) as TrPairResult;
    } catch {
      throw new Error(`no result (exit ${r.code}): ${(r.stderr.trim() || r.stdout.trim()).slice(-600)}`);
    }
    if (!res.ok) throw new Error(res.error ?? `failed (exit ${r.code})`);
    if (res.quiet === false) s.ctx.log(`[swarm] machine still busy after ${s.ctx.config.waitQuietS} s; measured Transmission anyway`);
    s.ctx.log(`[swarm] (Transmission seeder checked the data in ${fixed(res.seederCheckS, 1)} s, untimed)`);
    return {
      wallS: res.wallS!,
      userS: res.userS!,
      sysS: res.sysS!,
      maxRssKiB: res.maxRssKiB!,
      maxAnonKiB: res.maxAnonKiB ?? null,
      maxFileKiB: null,
      otherCpuS: res.otherCpuS!,
      metrics: { seederCpuS: res.seederCpuS!, ...(res.firstDataS !== undefined ? { firstDataS: res.firstDataS } : {}) },
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${msg}\n    command: unshare --net -- ${s.ctx.tools.node} ${TR_NETNS_JS} '<config JSON>'`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The group

function toRow(p: Pair, samples: Sample[], error: string | undefined): Row {
  const ok = samples.length > 0; // a pair that failed in a later run keeps the runs it finished
  const med = (f: (x: Sample) => number | null): number | null => (ok ? median(samples.map((x) => f(x) ?? NaN)) : null);
  const mib = (f: (x: Sample) => number | null): number | null => {
    const m = med(f);
    return m === null ? null : m / 1024;
  };
  const metricKeys = new Set(samples.flatMap((x) => Object.keys(x.metrics)));
  const metrics: Record<string, number> = {};
  for (const k of metricKeys) {
    const m = median(samples.map((x) => x.metrics[k] ?? NaN));
    if (m !== null) metrics[k] = m;
  }
  const row: Row = {
    group: 'swarm',
    operation: p.operation,
    tool: p.tool,
    anchor: false,
    bytes: p.bytes,
    samples,
    wallS: med((x) => x.wallS),
    cpuS: med((x) => x.userS + x.sysS),
    seederCpuS: med((x) => x.metrics.seederCpuS ?? NaN),
    rssMiB: mib((x) => x.maxRssKiB),
    anonMiB: mib((x) => x.maxAnonKiB),
    fileMiB: mib((x) => x.maxFileKiB),
    otherCpuS: med((x) => x.otherCpuS),
    metrics,
    notes: [...p.notes],
  };
  if (error !== undefined) row.error = error;
  if (p.unavailable !== undefined) row.skipped = true;
  return row;
}

async function run(ctx: BenchContext): Promise<GroupResult> {
  const data = await ctx.dataFile();
  const { tools, config } = ctx;
  mkdirSync(join(ctx.workDir, 'swarm'), { recursive: true });

  // Untimed: the torrent (v1, 1 MiB pieces, no trackers), made by shoal.
  const torrent = join(ctx.outDir, 'swarm.torrent');
  const made = await runPlain(tools.node, [tools.shoal, 'create', data.path, '-o', torrent, '--v1', '-l', '1M', '-q', '-f', '--json']);
  let infoHash: string;
  try {
    infoHash = (JSON.parse(made.stdout) as { infoHash: string }).infoHash;
  } catch {
    throw new Error(`shoal create for the swarm torrent failed (exit ${made.code}): ${made.stderr.trim()}`);
  }
  const s: Swarm = { ctx, data, torrent, infoHash, timeoutMs: 60_000 + Math.round((data.bytes / 4e6) * 1000) };

  const noLt = tools.python === null ? 'python3-libtorrent not available' : undefined;
  const noAria2 = findOnPath('aria2c') === null ? 'aria2c not found on PATH' : findOnPath('opentracker') === null ? 'opentracker not found on PATH' : undefined;
  const trProblem = await netnsProblem();
  // Eight copies at once must fit in /dev/shm next to the original.
  const fs = statfsSync(ctx.workDir);
  const free = fs.bavail * fs.bsize;
  const noRoom = free < EIGHT_N * data.bytes + 512 * 2 ** 20 ? `not enough room in ${ctx.workDir} for ${EIGHT_N} copies (${sizeLabel(free)} free)` : undefined;

  const ltNote = 'libtorrent mmaps the data (mmap disk I/O): its peak RSS counts the mapped tmpfs pages; anon MiB (RssAnon) is its own memory';
  const pairs: Pair[] = [
    {
      operation: ONE,
      tool: 'shoal → shoal',
      anchorPair: false,
      bytes: data.bytes,
      notes: [],
      once: (round) => oneToOne(s, 'shoal-shoal', round, () => shoalSeeder(s), (sd, dir) => shoalLeecher(s, sd, dir)),
    },
    {
      operation: ONE,
      tool: 'libtorrent → libtorrent',
      anchorPair: true,
      bytes: data.bytes,
      ...(noLt !== undefined ? { unavailable: noLt } : {}),
      notes: [ltNote],
      once: (round) => oneToOne(s, 'lt-lt', round, () => ltSeeder(s), (sd, dir) => ltLeecher(s, sd, dir)),
    },
    {
      operation: ONE,
      tool: 'aria2 → aria2',
      anchorPair: true,
      bytes: data.bytes,
      ...(noAria2 !== undefined ? { unavailable: noAria2 } : {}),
      notes: ['aria2 meets the seeder through a local opentracker (whitelist; fresh each run) and works on a 1-second tick: its first payload comes ~3 s after start, which weighs on small sizes'],
      once: (round) => oneToOne(s, 'aria2-aria2', round, () => aria2Seeder(s, round), (sd, dir) => aria2Leecher(s, sd, dir)),
    },
    {
      operation: ONE,
      tool: trProblem === undefined ? 'Transmission → Transmission (netns)' : 'Transmission → Transmission',
      anchorPair: true,
      bytes: data.bytes,
      ...(trProblem !== undefined ? { unavailable: trProblem } : {}),
      notes:
        trProblem === undefined
          ? [
              'Transmission 3.00 never dials 127/8: both daemons and an opentracker run in a private network namespace (unshare --net) with 10.77.0.1/.2/.3 on its lo, so the bytes still cross the loopback device; the leecher is a daemon: wall = daemon start → completion seen over RPC (100 ms polls), CPU = its /proc stat, peak RSS = its VmHWM',
            ]
          : [],
      once: (round) => transmissionPair(s, round),
    },
    {
      operation: ONE,
      tool: 'libtorrent → shoal',
      anchorPair: false,
      bytes: data.bytes,
      ...(noLt !== undefined ? { unavailable: noLt } : {}),
      notes: [],
      once: (round) => oneToOne(s, 'lt-shoal', round, () => ltSeeder(s), (sd, dir) => shoalLeecher(s, sd, dir)),
    },
    {
      operation: EIGHT,
      tool: `shoal → ${EIGHT_N}× shoal`,
      anchorPair: false,
      bytes: EIGHT_N * data.bytes,
      ...(noRoom !== undefined ? { unavailable: noRoom } : {}),
      notes: [
        `${EIGHT_N} shoal leechers started at once on one shoal seeder: wall = until the last finished; MB/s = aggregate (${EIGHT_N} × ${sizeLabel(data.bytes)} / wall); CPU s = the ${EIGHT_N} leechers together; peak RSS / anon = the largest single leecher`,
      ],
      once: (round) => oneToEight(s, round),
    },
  ];

  const samples: Sample[][] = pairs.map(() => []);
  const errors: (string | undefined)[] = pairs.map((p) => p.unavailable);
  for (let round = 1; round <= config.runs; round++) {
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i]!;
      if (errors[i] !== undefined) continue;
      let sample: Sample;
      try {
        sample = await p.once(round);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        // like the other groups: a pair that failed is not run again; the runs it finished still count
        const lines = msg.split('\n').map((l) => l.trim());
        errors[i] = `run ${round}/${config.runs} FAILED: ${lines.join(' — ')}${samples[i]!.length > 0 ? ` (the numbers shown are the median of the ${samples[i]!.length} run(s) before it)` : ''}`;
        ctx.log(`[swarm] ${round}/${config.runs} ${p.tool}: FAILED (${msg})`);
        continue;
      }
      samples[i]!.push(sample);
      const cpu = sample.userS + sample.sysS;
      ctx.log(
        `[swarm] ${round}/${config.runs} ${p.tool}: ${sample.wallS.toFixed(3)} s wall = ${fixed(p.bytes / 1e6 / sample.wallS, 0)} MB/s, ` +
          `leecher ${cpu.toFixed(2)} CPU-s ${(sample.maxRssKiB / 1024).toFixed(1)} MiB (anon ${fixed(sample.maxAnonKiB === null ? null : sample.maxAnonKiB / 1024, 1)}), ` +
          `seeder ${fixed(sample.metrics.seederCpuS, 2)} CPU-s, other processes ${sample.otherCpuS.toFixed(2)} CPU-s`,
      );
    }
  }
  const rows = pairs.map((p, i) => toRow(p, samples[i]!, errors[i]));
  for (const r of rows) {
    const inProc = r.metrics.inProcessS;
    if (inProc !== undefined && r.wallS !== null) {
      r.notes.push(
        `${r.tool}: the leecher's own time to done (median) ${fixed(inProc, 2)} s = ${fixed(r.bytes / 1e6 / inProc, 0)} MB/s; the rest of the ${fixed(r.wallS, 2)} s wall is process start-up and shutdown`,
      );
    }
    const up = r.metrics.uploadedBytes;
    const down = r.metrics.downloadedBytes;
    if (r.operation === EIGHT && up !== undefined && down !== undefined) {
      r.notes.push(
        `${r.tool}: the leechers downloaded ${fixed(down / 2 ** 20, 0)} MiB in all (median), and uploaded ${fixed(up / 2 ** 20, 0)} MiB to one another (they learn of each other through the seeder's PEX; --no-pex would keep them apart)`,
      );
    }
    const first = r.metrics.firstDataS;
    if (first !== undefined && r.wallS !== null) {
      r.notes.push(
        `${r.tool}: the first verified piece arrived ${fixed(first, 1)} s after the leecher started (median); from then on ${fixed((r.bytes / 1e6) / (r.wallS - first), 0)} MB/s`,
      );
    }
  }

  // The anchor: the fastest of the other clients' own pairs.
  const anchors = rows.filter((r, i) => pairs[i]!.anchorPair && r.wallS !== null);
  const fastest = anchors.length > 0 ? anchors.reduce((a, b) => (b.wallS! < a.wallS! ? b : a)) : undefined;
  if (fastest) {
    fastest.anchor = true;
    fastest.notes.push('the fastest anchor pair: the ratios of this operation are against it');
  }
  const find = (tool: string): Row | undefined => rows.find((r) => r.tool.startsWith(tool));
  const perGiB = (r: Row | undefined, cpu: number | null | undefined): number | null => (r && cpu !== null && cpu !== undefined ? cpu / (r.bytes / 2 ** 30) : null);

  const notes: string[] = [];
  notes.push(`swarm: v1 torrent by shoal, 1 MiB pieces, info-hash ${infoHash}; every leecher starts with an empty folder; the first run of each pair compares the copy byte for byte`);
  notes.push(`swarm: anchors from /work/shared/interop-notes.md (this machine, 1 GiB): libtorrent→libtorrent 165–208 MB/s; aria2→aria2 129–168 MB/s at 3.8–4.6 CPU-s/GiB (leecher); WebTorrent→WebTorrent 104–120 MB/s at ${WEBTORRENT_CPU_PER_GIB} CPU-s/GiB; libtorrent→Transmission 22 MB/s`);

  notes.push(
    'swarm commands (ports picked at run time): seeder `SHOAL_NET_ALLOW=127.0.0.0/8 node bin/shoal.js seed DATA --torrent T --port 0 --json --no-dht`, leecher `SHOAL_NET_ALLOW=127.0.0.0/8 node bin/shoal.js get T --peer 127.0.0.1:P -o DIR --json --no-dht`;' +
      ' libtorrent `/usr/bin/python3 -c LT_PEER_PY seed T DATADIR` / `... get T DIR 127.0.0.1:P` (script in bench/lib/swarm-clients.ts);' +
      ` aria2 \`aria2c ${aria2Args('DIR', 0, 'http://127.0.0.1:TP/announce').join(' ').replace('--listen-port=0', '--listen-port=P')}\` + \`--check-integrity=true --seed-ratio=0.0 T\` (seeder) or \`--seed-time=0 T\` (leecher);` +
      ' opentracker `opentracker -i 127.0.0.1 -p TP -P TP -f CONF` (access.whitelist = the info-hash)',
  );

  const summaries: string[] = [];
  const ss = find('shoal → shoal');
  const q = ratio(ss, fastest);
  summaries.push(
    `shoal→shoal ${fixed(ss ? mbps(ss) : null, 0)} MB/s vs fastest anchor (${fastest ? fastest.tool.replace(/ /g, '') : 'none measured'}) ${fixed(fastest ? mbps(fastest) : null, 0)} MB/s → ratio ${fixed(q, 2)} (goal ≥ 1.0: ${goal(q === null ? null : q >= 1)})`,
  );
  const lts = find('libtorrent → shoal');
  const ltlt = find('libtorrent → libtorrent');
  summaries.push(
    `libtorrent→shoal ${fixed(lts ? mbps(lts) : null, 0)} MB/s vs libtorrent→libtorrent ${fixed(ltlt ? mbps(ltlt) : null, 0)} MB/s → ratio ${fixed(ratio(lts, ltlt), 2)}`,
  );
  const eight = find(`shoal → ${EIGHT_N}×`);
  const shoalLeechRows = [ss, lts, eight].filter((r): r is Row => r !== undefined && r.rssMiB !== null);
  const peak = shoalLeechRows.length > 0 ? Math.max(...shoalLeechRows.map((r) => r.rssMiB!)) : null;
  // a memory ceiling is about the worst case too: the largest peak of any single run
  const worstKiB = Math.max(...shoalLeechRows.flatMap((r) => r.samples.map((x) => x.maxRssKiB)).filter((x) => Number.isFinite(x)));
  const worst = Number.isFinite(worstKiB) ? worstKiB / 1024 : null;
  summaries.push(
    `leecher peak RSS ${fixed(peak, 0)} MiB (median of runs; worst single run ${fixed(worst, 0)} MiB) (goal < ${RSS_GOAL_MIB} MiB: ${goal(peak === null ? null : peak < RSS_GOAL_MIB)}` +
      `${worst !== null && peak !== null && peak < RSS_GOAL_MIB && worst >= RSS_GOAL_MIB ? ', but NOT met by the worst run' : ''}) — shoal get: ${
        shoalLeechRows.map((r) => `${r.tool} ${fixed(r.rssMiB, 0)} (anon ${fixed(r.anonMiB, 0)})`).join(', ') || 'not measured'
      }`,
  );
  const cpuLine = (r: Row | undefined, label: string): string => `${label} ${fixed(perGiB(r, r?.cpuS), 2)}`;
  summaries.push(
    `CPU per GiB shoal leecher: ${cpuLine(ss, 'shoal→shoal')}, ${cpuLine(lts, 'libtorrent→shoal')}, ${cpuLine(eight, `${EIGHT_N}× (all ${EIGHT_N}, per GiB received)`)} CPU-s/GiB vs WebTorrent's ${WEBTORRENT_CPU_PER_GIB} CPU-s/GiB (from interop-notes; WebTorrent is not run here)` +
      ` — anchor leechers: ${cpuLine(ltlt, 'libtorrent')}, ${cpuLine(find('aria2'), 'aria2')}, ${cpuLine(find('Transmission'), 'Transmission')}`,
  );
  const seedLine = (r: Row | undefined, label: string): string => `${label} ${fixed(perGiB(r, r?.seederCpuS), 2)}`;
  summaries.push(
    `CPU per GiB seeder: ${seedLine(ss, 'shoal (→shoal)')}, ${seedLine(eight, `shoal (→${EIGHT_N}×, per GiB the leechers received)`)}, ${seedLine(ltlt, 'libtorrent')}, ${seedLine(find('aria2'), 'aria2')}, ${seedLine(find('Transmission'), 'Transmission')} CPU-s/GiB`,
  );
  if (eight) {
    summaries.push(
      `shoal 1 seeder → ${EIGHT_N} leechers: aggregate ${fixed(mbps(eight), 0)} MB/s (${EIGHT_N} × ${sizeLabel(data.bytes)} in ${fixed(eight.wallS, 2)} s; leechers finished after ${fixed(eight.metrics.fastestLeecherS, 2)}–${fixed(eight.metrics.slowestLeecherS, 2)} s)` +
        ` vs shoal→shoal alone ${fixed(ss ? mbps(ss) : null, 0)} MB/s`,
    );
  }
  for (const r of rows) {
    if (r.error === undefined || r.skipped === true) continue;
    summaries.push(
      `FAILED: ${r.tool} — ${r.error.split(' — ')[0]} (full error and commands under the table)${r.wallS !== null ? '; its numbers above come from the runs before the failure' : ''}`,
    );
  }
  return { rows, summaries, notes };
}

export const swarmGroup: BenchGroup = {
  name: 'swarm',
  description: 'one seeder → one leecher on loopback: shoal, libtorrent, aria2, Transmission pairs, libtorrent → shoal, and shoal → 8 shoal leechers',
  run,
};

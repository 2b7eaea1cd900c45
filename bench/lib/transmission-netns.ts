/**
 * One Transmission → Transmission transfer, run INSIDE a private network namespace:
 *
 *   unshare --net -- node dist/bench/lib/transmission-netns.js '<TrPairConfig as JSON>'
 *
 * Transmission 3.00 never dials 127/8 (it treats it as martian), so two daemons on 127.0.0.1 never
 * meet. In a fresh namespace (whose only interface is `lo`) this script gives `lo` three addresses of
 * its own — 10.77.0.1 (seeder), 10.77.0.2 (leecher), 10.77.0.3 (opentracker) — so the traffic still
 * crosses the loopback device but with addresses Transmission accepts. The namespace disappears with
 * its last process; nothing is changed in the machine's own network. The script refuses to run in the
 * namespace of its parent.
 *
 * It starts the tracker and the seeder, waits until the seeder has checked its data, is listed by the
 * tracker and is idle, then (after BENCH_WAIT_QUIET, like every run) starts the leecher daemon and
 * polls its RPC every 100 ms until it holds every byte verified. Wall = leecher daemon spawn →
 * completion seen; leecher CPU = its /proc/<pid>/stat at completion (all since it started), peak RSS =
 * its VmHWM; seeder CPU = the seeder's /proc/<pid>/stat delta over the transfer. Prints one JSON line
 * (TrPairResult) and stops exactly the processes it started.
 */
import { mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { machineBusyS, waitQuiet } from './measure.js';
import { cpuSecondsOf, keepChildrenInMyGroup, pollUntil, statusKiB, waitIdle } from './procs.js';
import type { Proc } from './procs.js';
import { TR_SEEDING, Transmission, startOpentracker, withAnnounce } from './swarm-clients.js';
import type { Tracker, TrTorrent } from './swarm-clients.js';

export interface TrPairConfig {
  torrent: string;
  infoHash: string;
  /** The folder holding the complete data (the seeder's download-dir). */
  dataDir: string;
  /** The data file's name (= the torrent's name) and size. */
  name: string;
  bytes: number;
  /** A fresh folder for this run (configs, the leecher's download-dir, the tracker). */
  workDir: string;
  waitQuietS: number;
  cores: number;
  timeoutMs: number;
  /** readlink /proc/self/ns/net of the harness: this script must be in a different one. */
  outerNetns: string;
}

export interface TrPairResult {
  ok: boolean;
  error?: string;
  wallS?: number;
  userS?: number;
  sysS?: number;
  seederCpuS?: number;
  maxRssKiB?: number;
  maxAnonKiB?: number | null;
  otherCpuS?: number;
  /** Seconds the seeder needed to check the data (untimed; for the log). */
  seederCheckS?: number;
  /** Seconds from the leecher's start until it held its first verified piece. */
  firstDataS?: number;
  quiet?: boolean;
}

const SEED_IP = '10.77.0.1';
const LEECH_IP = '10.77.0.2';
const TRACKER_IP = '10.77.0.3';
const CHECKING = [1, 2];

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

async function run(cfg: TrPairConfig, procs: Proc[]): Promise<TrPairResult> {
  // Only in a namespace of our own: never add addresses to the machine's real loopback.
  const interfaces = Object.keys(networkInterfaces()).filter((n) => n !== 'lo');
  if (readlinkSync('/proc/self/ns/net') === cfg.outerNetns || interfaces.length > 0) {
    throw new Error('not in a private network namespace (run me under `unshare --net`)');
  }
  sh('ip', ['link', 'set', 'lo', 'up']);
  for (const ip of [SEED_IP, LEECH_IP, TRACKER_IP]) sh('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);

  const tracker: Tracker = await startOpentracker(join(cfg.workDir, 'tracker'), [cfg.infoHash], TRACKER_IP, 6969);
  procs.push(tracker.proc);
  const torrent = withAnnounce(readFileSync(cfg.torrent), tracker.announce);

  const tCheck = Date.now();
  const seeder = await Transmission.start(join(cfg.workDir, 'seeder'), { bindAddress: SEED_IP, peerPort: 51413, rpcPort: 9091, downloadDir: cfg.dataDir });
  procs.push(seeder.proc);
  await seeder.add(torrent, cfg.dataDir);
  let st: TrTorrent | undefined;
  await pollUntil(
    async () => {
      st = await seeder.torrent(cfg.infoHash);
      if (st && st.error !== 0) throw new Error(`transmission seeder: ${st.errorString}`);
      return st && st.percentDone === 1 && st.status === TR_SEEDING ? true : undefined;
    },
    300_000,
    () => `the Transmission seeder to check its data and seed (${JSON.stringify(st)})`,
    100,
  );
  const seederCheckS = (Date.now() - tCheck) / 1000;
  let listed = { complete: 0, incomplete: 0 };
  await pollUntil(
    async () => {
      listed = await tracker.scrape(cfg.infoHash);
      return listed.complete + listed.incomplete >= 1 ? true : undefined;
    },
    60_000,
    () => `the tracker to list the Transmission seeder (${JSON.stringify(listed)})`,
  );
  await waitIdle(seeder.proc.pid, 30_000);
  const quiet = cfg.waitQuietS > 0 ? await waitQuiet(cfg.waitQuietS, cfg.cores) : true;

  const leechDir = join(cfg.workDir, 'leecher-data');
  mkdirSync(leechDir, { recursive: true });
  const seed0 = cpuSecondsOf(seeder.proc.pid);
  const self0 = process.cpuUsage();
  const busy0 = machineBusyS();
  const t0 = process.hrtime.bigint();
  const leecher = await Transmission.start(join(cfg.workDir, 'leecher'), { bindAddress: LEECH_IP, peerPort: 51414, rpcPort: 9092, downloadDir: leechDir });
  procs.push(leecher.proc);
  await leecher.add(torrent, leechDir);
  let maxAnon: number | null = null;
  let firstDataS: number | undefined;
  let lt: TrTorrent | undefined;
  await pollUntil(
    async () => {
      const anon = statusKiB(leecher.proc.pid, ['RssAnon']).RssAnon ?? null;
      if (anon !== null) maxAnon = Math.max(maxAnon ?? 0, anon);
      lt = await leecher.torrent(cfg.infoHash);
      if (lt && lt.error !== 0) throw new Error(`transmission leecher: ${lt.errorString}`);
      if (lt && lt.percentDone > 0) firstDataS ??= Number(process.hrtime.bigint() - t0) / 1e9;
      return lt && lt.percentDone === 1 && lt.leftUntilDone === 0 && !CHECKING.includes(lt.status) ? true : undefined;
    },
    cfg.timeoutMs,
    () => `the Transmission leecher to complete (${JSON.stringify(lt)})`,
    100,
  );
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const leechStat = readFileSync(`/proc/${leecher.proc.pid}/stat`, 'utf8');
  const f = leechStat.slice(leechStat.lastIndexOf(')') + 2).split(' ');
  const userS = Number(f[11]) / 100;
  const sysS = Number(f[12]) / 100;
  const seederCpuS = cpuSecondsOf(seeder.proc.pid) - seed0;
  const busyS = machineBusyS() - busy0;
  const self = process.cpuUsage(self0);
  const driverCpuS = (self.user + self.system) / 1e6; // this script's polling: not "other processes"

  const hwm = statusKiB(leecher.proc.pid, ['VmHWM', 'RssAnon']);
  if (hwm.RssAnon !== null && hwm.RssAnon !== undefined) maxAnon = Math.max(maxAnon ?? 0, hwm.RssAnon);
  const size = statSync(join(leechDir, cfg.name)).size;
  if (size !== cfg.bytes) throw new Error(`the leecher's file has ${size} bytes, expected ${cfg.bytes}`);
  return {
    ok: true,
    wallS,
    userS,
    sysS,
    seederCpuS,
    maxRssKiB: hwm.VmHWM ?? NaN,
    maxAnonKiB: maxAnon,
    otherCpuS: Math.max(0, busyS - userS - sysS - seederCpuS - driverCpuS),
    seederCheckS,
    ...(firstDataS !== undefined ? { firstDataS } : {}),
    quiet,
  };
}

async function main(): Promise<number> {
  keepChildrenInMyGroup(); // the harness stops this script's whole group on Ctrl-C: daemons included
  const cfg = JSON.parse(process.argv[2] ?? '{}') as TrPairConfig;
  const procs: Proc[] = [];
  let result: TrPairResult;
  try {
    result = await run(cfg, procs);
  } catch (e) {
    result = { ok: false, error: e instanceof Error ? e.message : String(e) };
  } finally {
    // leecher and seeder first (they tell the tracker they stop), then the tracker
    for (const p of [...procs].reverse()) await p.stop('SIGTERM', 5000);
    // debugging aid: BENCH_TR_LOG=<dir> (with BENCH_TR_MESSAGE_LEVEL=3) keeps the daemons' logs
    const logDir = process.env.BENCH_TR_LOG;
    if (logDir) procs.forEach((p, i) => writeFileSync(join(logDir, `${i}-${p.name.replace(/\W+/g, '_')}.log`), p.stderr));
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(e) })}\n`);
    process.exit(1);
  },
);

/**
 * Timing one command in its own process. GNU time (`/usr/bin/time -f`) gives user/sys CPU seconds and
 * the peak resident set (%M, KiB); wall time is taken here with a monotonic clock (GNU time's %e has
 * 10 ms resolution, too coarse for the small sizes). While the command runs, /proc/<pid>/status of the
 * timed process is sampled so anonymous memory can be told apart from mmapped file pages (on tmpfs,
 * a mapped data file counts as RssShmem and inflates %M without costing real memory).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from './types.js';

export const GNU_TIME = '/usr/bin/time';

export interface TimedResult {
  sample: Sample;
  code: number;
  stdout: string;
  stderr: string;
}

export interface TimedOptions {
  /** Where GNU time writes its numbers (a scratch file). */
  timeFile: string;
  /** /proc sampling interval, ms (0: off). */
  sampleMs: number;
  cwd?: string;
  timeoutMs?: number;
  /** Extra environment variables for the command (added to this process's). */
  env?: NodeJS.ProcessEnv;
}

/** Children running right now, so an interrupt can stop them (each leads its own process group). */
const active = new Set<ChildProcess>();

/**
 * Registers a long-running helper (a seeder, a tracker) started elsewhere, so an interrupt stops it
 * too; it leaves the set by itself when it exits. It should lead its own process group (`detached`).
 */
export function trackProcess(child: ChildProcess): void {
  active.add(child);
  child.once('exit', () => active.delete(child));
}

/** Stops every running measurement (used on Ctrl-C / SIGTERM before removing the work folder). */
export function killActive(): void {
  for (const c of active) {
    if (c.pid === undefined) continue;
    try {
      process.kill(-c.pid, 'SIGKILL'); // the group: GNU time and the tool it runs
    } catch {
      // already gone
    }
  }
}

const KEEP_OUTPUT = 64 * 1024;

function appendCapped(acc: string, d: string): string {
  const s = acc + d;
  return s.length > KEEP_OUTPUT ? s.slice(s.length - KEEP_OUTPUT) : s;
}

function kib(status: string, key: string): number | null {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : null;
}

/** The tool process GNU time started (its only child), or null before it exists. */
function childOf(pid: number): number | null {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (kids === '') return null;
    return Number(kids.split(/\s+/)[0]);
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores; /proc/stat, USER_HZ = 100), or NaN. */
export function machineBusyS(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / 100;
  } catch {
    return NaN;
  }
}

/**
 * Waits (at most `maxS` seconds) until the rest of the machine is nearly idle: under 10% of `cores`
 * busy over a 300 ms window. Resolves with whether it got quiet. For shared machines (BENCH_WAIT_QUIET).
 */
export async function waitQuiet(maxS: number, cores: number): Promise<boolean> {
  const deadline = Date.now() + maxS * 1000;
  for (;;) {
    const b0 = machineBusyS();
    await new Promise((r) => setTimeout(r, 300));
    const busy = (machineBusyS() - b0) / (0.3 * cores);
    if (!(busy >= 0.1)) return true; // NaN (no /proc/stat) counts as quiet
    if (Date.now() >= deadline) return false;
  }
}

/** Parses GNU time's `-f '%U %S %M'` output (a "Command exited/terminated ..." line may precede it). */
function parseTime(text: string): { userS: number; sysS: number; maxRssKiB: number } | null {
  const lines = text.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const m = /^([\d.]+) ([\d.]+) (\d+)$/.exec(last.trim());
  if (!m) return null;
  return { userS: Number(m[1]), sysS: Number(m[2]), maxRssKiB: Number(m[3]) };
}

/** Runs `cmd args` under GNU time; resolves with the sample and the tool's exit code and output. */
export function runTimed(cmd: string, args: readonly string[], opts: TimedOptions): Promise<TimedResult> {
  rmSync(opts.timeFile, { force: true });
  return new Promise((resolve, reject) => {
    const busy0 = machineBusyS();
    const start = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ['-f', '%U %S %M', '-o', opts.timeFile, cmd, ...args], {
      cwd: opts.cwd,
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: killActive() can stop the tool too
    });
    active.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = appendCapped(stdout, d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = appendCapped(stderr, d)));

    let maxAnon: number | null = null;
    let maxFile: number | null = null;
    let toolPid: number | null = null;
    const sample = (): void => {
      if (child.pid === undefined) return;
      toolPid ??= childOf(child.pid);
      if (toolPid === null) return;
      let status: string;
      try {
        status = readFileSync(`/proc/${toolPid}/status`, 'utf8');
      } catch {
        return; // exited between samples
      }
      const anon = kib(status, 'RssAnon');
      const file = kib(status, 'RssFile');
      const shmem = kib(status, 'RssShmem');
      if (anon !== null) maxAnon = Math.max(maxAnon ?? 0, anon);
      if (file !== null || shmem !== null) maxFile = Math.max(maxFile ?? 0, (file ?? 0) + (shmem ?? 0));
    };
    const sampler = opts.sampleMs > 0 ? setInterval(sample, opts.sampleMs) : undefined;
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, opts.timeoutMs ?? 30 * 60_000);

    child.on('error', (e) => {
      active.delete(child);
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const wallS = Number(process.hrtime.bigint() - start) / 1e9;
      const busyS = machineBusyS() - busy0;
      active.delete(child);
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      let timeText = '';
      try {
        timeText = readFileSync(opts.timeFile, 'utf8');
      } catch {
        // GNU time was killed before writing
      }
      const t = parseTime(timeText);
      if (!t) {
        resolve({
          sample: { wallS, userS: NaN, sysS: NaN, maxRssKiB: NaN, maxAnonKiB: maxAnon, maxFileKiB: maxFile, otherCpuS: NaN, metrics: {} },
          code: code ?? 128,
          stdout,
          stderr: `${stderr}${signal ? `\n(killed by ${signal})` : ''}\n(no numbers from GNU time: ${timeText.trim() || 'empty'})`,
        });
        return;
      }
      resolve({
        // CPU the rest of the machine used meanwhile (other processes, this harness): noise indicator.
        sample: { wallS, ...t, maxAnonKiB: maxAnon, maxFileKiB: maxFile, otherCpuS: Math.max(0, busyS - t.userS - t.sysS), metrics: {} },
        code: code ?? 128,
        stdout,
        stderr,
      });
    });
  });
}

export function median(xs: readonly number[]): number | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** A scratch path for GNU time's output inside the work folder. */
export function timeFileIn(dir: string): string {
  return join(dir, 'time.out');
}

/** Runs a helper command untimed (preparation, cross-checks); never rejects on a non-zero exit. */
export function runPlain(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    active.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = appendCapped(stdout, d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = appendCapped(stderr, d)));
    child.on('error', (e) => {
      active.delete(child);
      reject(e);
    });
    child.on('close', (code) => {
      active.delete(child);
      resolve({ code: code ?? 128, stdout, stderr });
    });
  });
}

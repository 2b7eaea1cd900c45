/**
 * Long-running helper processes for the swarm benchmark (seeders, trackers, daemons): spawn one in its
 * own process group (registered so Ctrl-C stops it), read its JSON lines as they arrive, wait for an
 * event, read its CPU time and memory from /proc, and stop it — by the PID recorded at spawn time,
 * never by name. Also free loopback ports and TCP readiness. (The ideas of test/interop/support/
 * swarm-procs.ts, without making bench depend on test code.)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { trackProcess } from './measure.js';

/** One JSON object a process printed on its own line. */
export type JsonEvent = Record<string, unknown> & { event?: string };

export interface ProcExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const KEEP = 64 * 1024;

export class Proc {
  readonly pid: number;
  readonly events: JsonEvent[] = [];
  stdout = '';
  stderr = '';
  exit: ProcExit | undefined;
  readonly exited: Promise<ProcExit>;
  private readonly waiters = new Set<() => void>();
  private partial = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn gave no PID`);
    this.pid = child.pid;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout = (this.stdout + d).slice(-KEEP);
      this.partial += d;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl).trim();
        this.partial = this.partial.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const e = JSON.parse(line) as JsonEvent;
          // progress lines would pile up over a long transfer: keep only the latest
          if (e.event === 'progress' && this.events.at(-1)?.event === 'progress') this.events.pop();
          this.events.push(e);
        } catch {
          // not JSON after all
        }
      }
      this.wake();
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-KEEP);
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.wake();
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** A short account for error messages: exit status, last events, the end of stderr. */
  describe(): string {
    const exit = this.exit ? `exited code=${String(this.exit.code)} signal=${String(this.exit.signal)}` : 'running';
    const ev = this.events.slice(-3).map((e) => JSON.stringify(e).slice(0, 300));
    const err = this.stderr.trim().split('\n').slice(-4).join(' | ');
    return `${this.name} (pid ${this.pid}, ${exit}; last events ${ev.join(' ') || 'none'}${err ? `; stderr: ${err.slice(-600)}` : ''})`;
  }

  /** Resolves with the first event named `name` (printed already or still to come). */
  waitForEvent(name: string, timeoutMs: number): Promise<JsonEvent> {
    return this.waitUntil(() => this.events.find((e) => e.event === name), timeoutMs, `a "${name}" event`);
  }

  /** Re-evaluates `check` whenever the process prints or exits; rejects on exit or timeout. */
  waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        this.waiters.delete(poll);
        clearTimeout(timer);
      };
      const poll = (): void => {
        const v = check();
        if (v !== undefined) {
          finish();
          resolve(v);
        } else if (this.exit) {
          finish();
          reject(new Error(`${this.name} exited before ${what}: ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}: ${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(poll);
      poll();
    });
  }

  /**
   * Sends `signal` to exactly this PID (if it still runs) and waits for it to exit; anything but
   * SIGKILL is followed by SIGKILL after `graceMs`.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ProcExit> {
    if (this.running) {
      try {
        process.kill(this.pid, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
    if (signal === 'SIGKILL') return this.exited;
    const polite = await Promise.race([this.exited, sleep(graceMs).then(() => undefined)]);
    return polite ?? this.stop('SIGKILL');
  }
}

let ownGroups = true;

/**
 * From now on, start processes in this process's own group instead of a new one each: for a driver
 * (transmission-netns.ts) whose whole group the harness kills on an interrupt, daemons included.
 */
export function keepChildrenInMyGroup(): void {
  ownGroups = false;
}

/** Starts `cmd args` in its own process group (so an interrupt can stop it and what it starts). */
export function startProc(name: string, cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: ownGroups,
    });
    child.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new Error(`${cmd} is not installed (not found on PATH)`) : e));
    child.once('spawn', () => {
      trackProcess(child);
      resolve(new Proc(name, child));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// /proc

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const HZ = 100;

/** user + sys CPU seconds of a running process (all its threads), or NaN once it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count from the last ')'
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ; // fields 14 (utime) and 15 (stime)
  } catch {
    return NaN;
  }
}

/** Numbers (kB) from /proc/<pid>/status: VmHWM (peak RSS), RssAnon, ...; null when gone or absent. */
export function statusKiB(pid: number, keys: readonly string[]): Record<string, number | null> {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // gone
  }
  const out: Record<string, number | null> = {};
  for (const k of keys) {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status);
    out[k] = m ? Number(m[1]) : null;
  }
  return out;
}

/**
 * Waits (at most `maxMs`) until a process has used less than `maxShare` of a core over `windowMs`:
 * e.g. a seeder that said it is ready but may still be finishing its data check.
 */
export async function waitIdle(pid: number, maxMs: number, windowMs = 300, maxShare = 0.1): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const c0 = cpuSecondsOf(pid);
    await sleep(windowMs);
    const used = cpuSecondsOf(pid) - c0;
    if (!(used > (maxShare * windowMs) / 1000)) return true; // NaN: gone, nothing to wait for
    if (Date.now() >= deadline) return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

function portFree(port: number, udp: boolean, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (udp) {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind({ port, address: host, exclusive: true }, () => s.close(() => resolve(true)));
    } else {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
    }
  });
}

const handedOut = new Set<number>();

/** A TCP port (and UDP too when `udp`) free on `host` right now; never the same one twice per process. */
export async function freePort(udp = false, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen({ port: 0, host, exclusive: true }, () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (handedOut.has(port)) continue;
    if (udp && !(await portFree(port, true, host))) continue;
    if (!(await portFree(port, false, host))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`could not find a free port on ${host}`);
}

/** Resolves once something accepts TCP connections on host:port. */
export async function waitForTcp(port: number, timeoutMs: number, proc?: Proc, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host });
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (proc && !proc.running) throw new Error(`${proc.name} exited before listening on ${host}:${port}: ${proc.describe()}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs / 1000} s${proc ? `: ${proc.describe()}` : ''}`);
    await sleep(50);
  }
}

/** Polls an async check until it yields a value (not undefined) or the time runs out. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: () => string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what()}`);
    await sleep(everyMs);
  }
}

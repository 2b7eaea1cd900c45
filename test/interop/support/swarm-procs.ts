/**
 * Long-running processes for the swarm interop tests: spawn one, read its JSON lines as they arrive,
 * wait for an event, and kill it — by the PID recorded at spawn time, never by name. Every process
 * started here is tracked until it has exited, so `killAll()` (in `after()`) ends exactly those.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer, createConnection } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';

/** One JSON object a process printed on its own line. */
export type JsonEvent = Record<string, unknown> & { event?: string };

export interface ProcExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<Proc>();

export class Proc {
  readonly pid: number;
  readonly events: JsonEvent[] = [];
  stdout = '';
  stderr = '';
  exit: ProcExit | undefined;
  readonly exited: Promise<ProcExit>;
  private readonly started = Date.now();
  private readonly waiters = new Set<() => void>();
  private partial = '';

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${name}: spawn gave no PID`);
    this.pid = child.pid;
    live.add(this);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.partial += d;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl).trim();
        this.partial = this.partial.slice(nl + 1);
        if (line.startsWith('{')) {
          try {
            this.events.push(JSON.parse(line) as JsonEvent);
          } catch {
            // not JSON after all: kept in stdout only
          }
        }
      }
      this.wake();
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then every line it printed has been read
      child.on('close', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        this.wake();
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  get ageMs(): number {
    return Date.now() - this.started;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** A short account of the process for assertion messages. */
  describe(lastEvents = 8): string {
    // the last few events other than the once-a-second "progress", then the last "progress"
    const other = this.events.filter((e) => e.event !== 'progress').slice(-lastEvents);
    const progress = this.events.filter((e) => e.event === 'progress').slice(-1);
    const ev = [...other, ...progress].map((e) => JSON.stringify(e));
    const exit = this.exit ? `exited code=${String(this.exit.code)} signal=${String(this.exit.signal)}` : 'still running';
    const nonJson = this.stdout
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('{'))
      .slice(-10)
      .join('\n');
    return `[${this.name} pid ${this.pid}, ${exit}, after ${(this.ageMs / 1000).toFixed(1)} s]\n  last events: ${ev.join('\n    ') || '(none)'}${
      nonJson ? `\n  stdout: ${nonJson}` : ''
    }\n  stderr: ${this.stderr.trim().slice(-2000) || '(empty)'}`;
  }

  /**
   * Resolves with the first event (already printed or still to come) matching `pred`; rejects when
   * the process exits first or after `timeoutMs`.
   */
  waitFor(pred: (e: JsonEvent) => boolean, timeoutMs: number, what: string): Promise<JsonEvent> {
    return this.waitUntil(() => this.events.find(pred), timeoutMs, what);
  }

  waitForEvent(name: string, timeoutMs: number): Promise<JsonEvent> {
    return this.waitFor((e) => e.event === name, timeoutMs, `a "${name}" event`);
  }

  /** Polls `check` whenever the process prints or exits; resolves with its first defined value. */
  waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = (): void => {
        this.waiters.delete(poll);
        if (timer) clearTimeout(timer);
      };
      const poll = (): void => {
        let v: T | undefined;
        try {
          v = check();
        } catch (e) {
          done();
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        if (v !== undefined) {
          done();
          resolve(v);
        } else if (this.exit) {
          done();
          reject(new Error(`${this.name} exited before ${what}\n${this.describe()}`));
        }
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(poll);
      poll();
    });
  }

  /** Waits for the process to exit by itself; kills it (SIGKILL) after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<ProcExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      await this.kill();
      return this.exited;
    }
    return r;
  }

  /**
   * Sends `signal` to exactly this PID (if it still runs) and waits until it has exited; a signal other
   * than SIGKILL is followed by SIGKILL if the process is still there after `graceMs`.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000): Promise<ProcExit> {
    if (this.running) {
      try {
        process.kill(this.pid, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
    if (signal !== 'SIGKILL') {
      // a polite signal: give it a moment, then make sure
      const polite = await Promise.race([this.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), graceMs))]);
      if (polite) return polite;
      return this.kill('SIGKILL');
    }
    return this.exited;
  }
}

/** Starts `cmd args`; stdout/stderr are read as they arrive. A missing program is a clear error. */
export function startProc(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, SHOAL_NET_ALLOW: '127.0.0.0/8', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT'
          ? new Error(`interop tool missing: ${cmd} is not installed (not found on PATH); .ci/run should install it`)
          : e,
      );
    });
    child.once('spawn', () => resolve(new Proc(name, child)));
  });
}

/** Kills (SIGKILL, by PID) every process started by this module that is still running. */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill('SIGKILL')));
}

/** The processes still running (for a test's own bookkeeping). */
export function liveProcs(): Proc[] {
  return [...live];
}

// ---------------------------------------------------------------------------------------------
// Ports

function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

/**
 * A port free on 127.0.0.1 for TCP (and UDP too when `udp`): the kernel picks one (bind port 0), we read
 * it back and release it. Never hands out the same port twice in one test process.
 */
export async function freePort(udp = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (handedOut.has(port)) continue;
    if (udp && !(await udpPortFree(port))) continue;
    if (!(await tcpPortFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('could not find a free port on 127.0.0.1');
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForTcp(port: number, timeoutMs: number, proc?: Proc): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host: '127.0.0.1' });
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (proc && !proc.running) throw new Error(`${proc.name} exited before listening on ${port}\n${proc.describe()}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms${proc ? `\n${proc.describe()}` : ''}`);
    await sleep(100);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls an async check until it yields a value (not undefined) or the time runs out. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: () => string, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(everyMs);
  }
}

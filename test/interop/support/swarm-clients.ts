/**
 * The real clients of the swarm interop tests, each started bound to 127.0.0.1 with DHT, LSD,
 * UPnP/NAT-PMP and PEX off, on ports picked free at run time, as tracked processes (swarm-procs.ts):
 *  - shoal (`seed` / `get --json`), with SHOAL_NET_ALLOW=127.0.0.0/8;
 *  - libtorrent through tools/lt_peer2.py (a libtorrent peer: PEX off, rate limits, a "seeding" event);
 *  - aria2c (no way to give it a peer: it finds peers through a tracker);
 *  - transmission-daemon 3.00, driven by transmission-remote and its JSON RPC (it never dials
 *    127.0.0.1, so the other side must dial it);
 *  - opentracker (Debian's build answers only whitelisted info-hashes).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, SHOAL_BIN, run } from '../../helpers/cli.js';
import { PYTHON } from './tools.js';
import { freePort, pollUntil, startProc, waitForTcp } from './swarm-procs.js';
import type { JsonEvent, Proc } from './swarm-procs.js';

export const LT_PEER2 = join(REPO_ROOT, 'test', 'interop', 'tools', 'lt_peer2.py');

// ---------------------------------------------------------------------------------------------
// shoal

export interface ShoalReady extends JsonEvent {
  infoHash: string | null;
  infoHashV2: string | null;
  magnet: string | null;
  port: number;
  pieces: number;
  pieceCount: number;
}

/** `shoal seed <args> --json`; resolves once it printed its "ready" line. */
export async function startShoalSeed(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; name?: string } = {}): Promise<{ proc: Proc; ready: ShoalReady }> {
  const proc = await startProc(opts.name ?? 'shoal seed', process.execPath, [SHOAL_BIN, 'seed', ...args, '--json'], opts.env ? { env: opts.env } : {});
  const ready = (await proc.waitForEvent('ready', 60_000)) as ShoalReady;
  return { proc, ready };
}

/** `shoal get <source> -o <dir> <args> --json`, still running. */
export function startShoalGet(source: string, dir: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; name?: string } = {}): Promise<Proc> {
  return startProc(opts.name ?? 'shoal get', process.execPath, [SHOAL_BIN, 'get', source, '-o', dir, ...args, '--json'], opts.env ? { env: opts.env } : {});
}

/**
 * Waits for a `shoal get` to finish on its own (killing it after `timeoutMs`) and checks it succeeded:
 * exit code 0 and a "done" event. Returns its "done" event.
 */
export async function expectShoalGetDone(proc: Proc, timeoutMs: number): Promise<JsonEvent> {
  const exit = await proc.waitExit(timeoutMs);
  const done = proc.events.find((e) => e.event === 'done');
  if (exit.code !== 0 || !done) {
    throw new Error(`shoal get did not finish (exit ${String(exit.code)}${exit.signal ? `, killed by ${exit.signal} after the ${timeoutMs} ms limit` : ''})\n${proc.describe()}`);
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// libtorrent

export interface LtOptions {
  peers?: readonly string[];
  trackers?: readonly string[];
  uploadLimit?: number;
  timeoutSec?: number;
  name?: string;
}

/** lt_peer2.py seed|get; resolves once it listens (the "ready" event carries its port). */
export async function startLt(mode: 'seed' | 'get', source: string, saveDir: string, o: LtOptions = {}): Promise<{ proc: Proc; port: number }> {
  const args = [LT_PEER2, mode, source, saveDir];
  for (const p of o.peers ?? []) args.push('--peer', p);
  for (const t of o.trackers ?? []) args.push('--tracker', t);
  if (o.uploadLimit !== undefined) args.push('--upload-limit', String(o.uploadLimit));
  if (o.timeoutSec !== undefined) args.push('--timeout', String(o.timeoutSec));
  const proc = await startProc(o.name ?? `libtorrent ${mode}`, PYTHON, args);
  const ready = await proc.waitForEvent('ready', 30_000);
  const port = Number(ready.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`libtorrent did not listen\n${proc.describe()}`);
  return { proc, port };
}

/** A libtorrent seeder that has checked its data and serves every piece. */
export async function startLtSeed(torrent: string, saveDir: string, o: LtOptions = {}): Promise<{ proc: Proc; port: number }> {
  const r = await startLt('seed', torrent, saveDir, o);
  await r.proc.waitForEvent('seeding', 60_000);
  return r;
}

/** Waits for a libtorrent `get` to report "done" and exit 0. */
export async function expectLtDone(proc: Proc, timeoutMs: number): Promise<JsonEvent> {
  const exit = await proc.waitExit(timeoutMs);
  const done = proc.events.find((e) => e.event === 'done');
  if (exit.code !== 0 || !done) throw new Error(`libtorrent get did not finish\n${proc.describe()}`);
  return done;
}

// ---------------------------------------------------------------------------------------------
// opentracker

export interface Tracker {
  proc: Proc;
  port: number;
  http: string;
  udp: string;
  /** Scrape (HTTP) one info-hash: how many seeders and leechers have announced it. */
  scrape(infoHashHex: string): Promise<{ complete: number; incomplete: number }>;
  /** How many completed downloads ("event=completed" announces) the tracker has counted. */
  downloads(infoHashHex: string): Promise<number>;
  /** Waits until at least this many seeders (complete) and leechers (incomplete) announced. */
  waitForSwarm(infoHashHex: string, want: { complete?: number; incomplete?: number }, timeoutMs: number): Promise<void>;
}

const pctBytes = (hex: string): string => [...Buffer.from(hex, 'hex')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/**
 * opentracker on 127.0.0.1 (TCP and UDP on the same free port), in the whitelist mode Debian builds:
 * it answers only the info-hashes given (hex; v2 hashes are truncated to 20 bytes, as announced).
 * It runs with `dir` as its working folder (it chroots there and drops to "nobody"). `fixedPort`: a
 * port picked beforehand with freePort(true) (so a torrent can name the tracker before it runs).
 */
export async function startOpentracker(dir: string, infoHashes: readonly string[], fixedPort?: number): Promise<Tracker> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const whitelist = join(dir, 'whitelist.txt');
  const hashes = [...new Set(infoHashes.map((h) => h.slice(0, 40).toLowerCase()))];
  await writeFile(whitelist, `${hashes.join('\n')}\n`, { mode: 0o644 });
  const conf = join(dir, 'opentracker.conf');
  await writeFile(conf, `access.whitelist ${whitelist}\n`, { mode: 0o644 });
  let lastError: unknown;
  for (let attempt = 0; attempt < (fixedPort ? 1 : 3); attempt++) {
    const port = fixedPort ?? (await freePort(true));
    const proc = await startProc('opentracker', 'opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-f', conf], { cwd: dir });
    try {
      await waitForTcp(port, 10_000, proc);
    } catch (e) {
      lastError = e;
      await proc.kill();
      continue;
    }
    const http = `http://127.0.0.1:${port}/announce`;
    const scrapeKey = async (hex: string, key: string): Promise<number> => {
      const res = await fetch(`http://127.0.0.1:${port}/scrape?info_hash=${pctBytes(hex.slice(0, 40))}`);
      const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
      return Number(new RegExp(`${key.length}:${key}i(\\d+)e`).exec(body)?.[1] ?? 0);
    };
    const scrape = async (hex: string): Promise<{ complete: number; incomplete: number }> => ({
      complete: await scrapeKey(hex, 'complete'),
      incomplete: await scrapeKey(hex, 'incomplete'),
    });
    return {
      proc,
      port,
      http,
      udp: `udp://127.0.0.1:${port}/announce`,
      scrape,
      downloads: (hex) => scrapeKey(hex, 'downloaded'),
      waitForSwarm: async (hex, want, timeoutMs) => {
        let last = { complete: 0, incomplete: 0 };
        await pollUntil(
          async () => {
            last = await scrape(hex);
            return last.complete >= (want.complete ?? 0) && last.incomplete >= (want.incomplete ?? 0) ? true : undefined;
          },
          timeoutMs,
          () => `the tracker to list ${JSON.stringify(want)} for ${hex} (it lists ${JSON.stringify(last)})`,
        );
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error('opentracker did not start');
}

// ---------------------------------------------------------------------------------------------
// aria2

function aria2Args(dir: string, port: number): string[] {
  return [
    '--no-conf=true',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--disable-ipv6=true',
    '--interface=127.0.0.1',
    `--listen-port=${port}`,
    `--dir=${dir}`,
    '--file-allocation=none',
    '--auto-file-renaming=false',
    '--allow-overwrite=true',
    '--bt-save-metadata=false',
    '--bt-tracker-interval=1',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--enable-rpc=false',
  ];
}

/** aria2c seeding `torrent` from the data in `dir` (checks it first; seeds until killed). */
export async function startAria2Seed(torrent: string, dir: string): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = await startProc('aria2c seed', 'aria2c', [...aria2Args(dir, port), '--check-integrity=true', '--seed-ratio=0.0', torrent]);
  return { proc, port };
}

/**
 * aria2c downloading `torrent` into `dir`; exits 0 once complete (no seeding afterwards). Its log
 * (level info: every peer message) goes to `<dir>.aria2.log`, named in `proc.name`.
 */
export async function startAria2Get(torrent: string, dir: string): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const log = `${dir}.aria2.log`;
  const proc = await startProc(`aria2c get (log: ${log})`, 'aria2c', [...aria2Args(dir, port), `--log=${log}`, '--log-level=info', '--seed-time=0', torrent]);
  return { proc, port };
}

// ---------------------------------------------------------------------------------------------
// Transmission

export interface TrTorrent {
  id: number;
  hashString: string;
  name: string;
  status: number;
  percentDone: number;
  leftUntilDone: number;
  haveValid: number;
  sizeWhenDone: number;
  error: number;
  errorString: string;
  peersConnected: number;
  uploadedEver: number;
  downloadedEver: number;
}

const TR_FIELDS = ['id', 'hashString', 'name', 'status', 'percentDone', 'leftUntilDone', 'haveValid', 'sizeWhenDone', 'error', 'errorString', 'peersConnected', 'uploadedEver', 'downloadedEver'];
const TR_SEEDING = 6;
const TR_CHECKING = [1, 2];

export class Transmission {
  private sessionId = '';

  private constructor(
    readonly proc: Proc,
    readonly peerPort: number,
    readonly rpcPort: number,
    readonly configDir: string,
  ) {}

  /** transmission-daemon -f with its own config folder under `dir`: DHT, LPD, PEX, port forwarding and uTP off. */
  static async start(dir: string): Promise<Transmission> {
    const configDir = join(dir, 'config');
    const downloads = join(dir, 'downloads');
    await mkdir(configDir, { recursive: true });
    await mkdir(downloads, { recursive: true });
    const peerPort = await freePort(true);
    const rpcPort = await freePort();
    const settings = {
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'port-forwarding-enabled': false,
      'utp-enabled': false,
      'bind-address-ipv4': '127.0.0.1',
      'bind-address-ipv6': '::1',
      'peer-port': peerPort,
      'peer-port-random-on-start': false,
      'rpc-enabled': true,
      'rpc-bind-address': '127.0.0.1',
      'rpc-port': rpcPort,
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': true,
      'rpc-whitelist': '127.0.0.1',
      'rpc-host-whitelist-enabled': false,
      'download-dir': downloads,
      'incomplete-dir-enabled': false,
      'watch-dir-enabled': false,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      'blocklist-enabled': false,
      'start-added-torrents': true,
      'message-level': 2,
    };
    await writeFile(join(configDir, 'settings.json'), JSON.stringify(settings, null, 1));
    const proc = await startProc('transmission-daemon', 'transmission-daemon', ['-f', '-g', configDir]);
    await waitForTcp(rpcPort, 15_000, proc);
    await waitForTcp(peerPort, 15_000, proc);
    const tr = new Transmission(proc, peerPort, rpcPort, configDir);
    await tr.rpc('session-get', {});
    return tr;
  }

  get peer(): string {
    return `127.0.0.1:${this.peerPort}`;
  }

  /** One JSON RPC call (handles the X-Transmission-Session-Id handshake). */
  async rpc(method: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await fetch(`http://127.0.0.1:${this.rpcPort}/transmission/rpc`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Transmission-Session-Id': this.sessionId },
        body: JSON.stringify({ method, arguments: args }),
      });
      if (res.status === 409) {
        this.sessionId = res.headers.get('X-Transmission-Session-Id') ?? '';
        continue;
      }
      const body = (await res.json()) as { result: string; arguments?: Record<string, unknown> };
      if (body.result !== 'success') throw new Error(`transmission RPC ${method} failed: ${body.result}`);
      return body.arguments ?? {};
    }
    throw new Error(`transmission RPC ${method}: no session id`);
  }

  /** Adds a .torrent with transmission-remote (downloading into / seeding from `downloadDir`). */
  async add(torrent: string, downloadDir: string): Promise<void> {
    const args = [`127.0.0.1:${this.rpcPort}`, '-a', torrent, '-w', downloadDir];
    const r = await run('transmission-remote', args, { timeoutMs: 30_000 }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new Error('interop tool missing: transmission-remote (apt-get install -y transmission-cli)') : e;
    });
    if (r.code !== 0 || !r.stdout.includes('success')) {
      throw new Error(`transmission-remote ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
  }

  async torrent(infoHashHex: string): Promise<TrTorrent | undefined> {
    const a = await this.rpc('torrent-get', { fields: TR_FIELDS });
    return (a.torrents as TrTorrent[]).find((t) => t.hashString.toLowerCase() === infoHashHex.toLowerCase());
  }

  /** Waits until Transmission holds every byte of the torrent, verified (and is not checking). */
  async waitComplete(infoHashHex: string, timeoutMs: number, context: () => string = () => ''): Promise<TrTorrent> {
    let last: TrTorrent | undefined;
    return pollUntil(
      async () => {
        last = await this.torrent(infoHashHex);
        if (last && last.error !== 0) throw new Error(`transmission: ${last.errorString}\n${JSON.stringify(last)}`);
        return last && last.percentDone === 1 && last.leftUntilDone === 0 && !TR_CHECKING.includes(last.status) ? last : undefined;
      },
      timeoutMs,
      () => `Transmission to complete ${infoHashHex}: ${JSON.stringify(last)}${context()}`,
    );
  }

  /** Waits until Transmission has the torrent and has finished checking what is on disk. */
  async waitChecked(infoHashHex: string, timeoutMs: number): Promise<TrTorrent> {
    let last: TrTorrent | undefined;
    return pollUntil(
      async () => {
        last = await this.torrent(infoHashHex);
        if (last && last.error !== 0) throw new Error(`transmission: ${last.errorString}\n${JSON.stringify(last)}`);
        return last && !TR_CHECKING.includes(last.status) && last.status !== 0 ? last : undefined;
      },
      timeoutMs,
      () => `Transmission to check ${infoHashHex}: ${JSON.stringify(last)}`,
    );
  }

  /** Waits until Transmission has checked the data it was given and is seeding it. */
  async waitSeeding(infoHashHex: string, timeoutMs: number): Promise<TrTorrent> {
    let last: TrTorrent | undefined;
    return pollUntil(
      async () => {
        last = await this.torrent(infoHashHex);
        if (last && last.error !== 0) throw new Error(`transmission: ${last.errorString}\n${JSON.stringify(last)}`);
        return last && last.percentDone === 1 && last.status === TR_SEEDING ? last : undefined;
      },
      timeoutMs,
      () => `Transmission to seed ${infoHashHex}: ${JSON.stringify(last)}`,
    );
  }
}

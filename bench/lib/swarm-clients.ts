/**
 * The clients of the swarm benchmark, each bound to 127.0.0.1 (or, for Transmission, to addresses of
 * its own in a private network namespace) with DHT, LSD, UPnP/NAT-PMP, PEX and uTP off:
 *  - shoal: `shoal seed <file> --torrent T --port 0 --json --no-dht`, `shoal get T --peer ... --json
 *    --no-dht`, with SHOAL_NET_ALLOW=127.0.0.0/8 (shoal has no switch for PEX; its listener binds
 *    0.0.0.0 but the address filter only lets 127/8 through);
 *  - libtorrent (python3-libtorrent) through the small script below (seed / get);
 *  - aria2c, which cannot be given a peer: it meets the seeder through a local opentracker;
 *  - opentracker (Debian's build answers only whitelisted info-hashes);
 *  - transmission-daemon 3.00 and its JSON RPC (used by transmission-netns.ts).
 * Settings follow /work/shared/interop-notes.md and test/interop/support/swarm-clients.ts.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, pollUntil, startProc, waitForTcp } from './procs.js';
import type { Proc } from './procs.js';

/** The networks shoal may talk to in the benchmark. */
export const SHOAL_ENV = { SHOAL_NET_ALLOW: '127.0.0.0/8' } as const;

// ---------------------------------------------------------------------------------------------
// libtorrent

/**
 * A libtorrent peer for the benchmark (Debian's python3-libtorrent; settings as lt_peer2.py):
 *   seed <torrent> <save_dir>                      prints {"event":"ready","port"} once listening and
 *                                                  {"event":"seeding"} once it checked its data; runs until killed
 *   get  <torrent> <save_dir> <host:port> [timeout_s]  connects to the peer (again each second while it has
 *                                                  none) and exits 0 right after torrent_finished_alert,
 *                                                  printing {"event":"done","seconds"} (add -> finished)
 * Alert-driven (no polling delay at the end). libtorrent's defaults otherwise (mmap disk I/O, 2.0.8).
 */
export const LT_PEER_PY = String.raw`
import json, sys, time
import libtorrent as lt

def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()

mode, torrent, save = sys.argv[1], sys.argv[2], sys.argv[3]
peer = None
if mode == "get":
    h_, p_ = sys.argv[4].rsplit(":", 1); peer = (h_, int(p_))
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 1800.0
ses = lt.session({
    "listen_interfaces": "127.0.0.1:0", "outgoing_interfaces": "127.0.0.1",
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "enable_incoming_utp": False, "enable_outgoing_utp": False,
    "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save
atp.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
t0 = time.monotonic()
h = ses.add_torrent(atp)
while ses.listen_port() == 0 and time.monotonic() < t0 + 10:
    time.sleep(0.01)
out({"event": "ready", "port": ses.listen_port()})
if peer:
    h.connect_peer(peer)
last = time.monotonic()
said = False
while True:
    ses.wait_for_alert(200)
    for a in ses.pop_alerts():
        if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
            out({"event": "error", "message": a.message()})
            sys.exit(1)
        if mode == "get" and isinstance(a, lt.torrent_finished_alert):
            out({"event": "done", "seconds": time.monotonic() - t0})
            sys.exit(0)
    now = time.monotonic()
    if mode == "seed" and not said:
        s = h.status()
        if s.is_seeding and s.state == lt.torrent_status.seeding:
            said = True
            out({"event": "seeding", "pieces": s.num_pieces})
    if peer and now - last >= 1:
        last = now
        if h.status().num_peers == 0:
            h.connect_peer(peer)
    if mode == "get" and now - t0 > timeout:
        out({"event": "timeout", "progress": h.status().progress})
        sys.exit(1)
`;

// ---------------------------------------------------------------------------------------------
// aria2

/** aria2c's options for both sides (interop-notes: these keep it on 127.0.0.1 and off the DHT/LPD/PEX). */
export function aria2Args(dir: string, port: number, tracker: string): string[] {
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
    `--bt-tracker=${tracker}`, // the torrent names no tracker; aria2 has no other way to find a peer
    '--bt-tracker-interval=1',
    '--file-allocation=none',
    '--auto-file-renaming=false',
    '--allow-overwrite=true',
    '--bt-save-metadata=false',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--enable-rpc=false',
  ];
}

// ---------------------------------------------------------------------------------------------
// opentracker

export interface Tracker {
  proc: Proc;
  port: number;
  announce: string;
  /** How many seeders (complete) and leechers (incomplete) announced the (v1) info-hash. */
  scrape(infoHashHex: string): Promise<{ complete: number; incomplete: number }>;
  waitForSeeders(infoHashHex: string, n: number, timeoutMs: number): Promise<void>;
}

const pctBytes = (hex: string): string => [...Buffer.from(hex, 'hex')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/**
 * opentracker on `host` (TCP and UDP on one port), whitelisting `infoHashes`. It chroots into `dir`
 * and drops to "nobody", so `dir` and the files in it are made world-readable.
 */
export async function startOpentracker(dir: string, infoHashes: readonly string[], host = '127.0.0.1', fixedPort?: number): Promise<Tracker> {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const whitelist = join(dir, 'whitelist.txt');
  writeFileSync(whitelist, `${infoHashes.map((h) => h.slice(0, 40).toLowerCase()).join('\n')}\n`, { mode: 0o644 });
  const conf = join(dir, 'opentracker.conf');
  writeFileSync(conf, `access.whitelist ${whitelist}\n`, { mode: 0o644 });
  const port = fixedPort ?? (await freePort(true, host));
  const proc = await startProc('opentracker', 'opentracker', ['-i', host, '-p', String(port), '-P', String(port), '-f', conf], { cwd: dir });
  try {
    await waitForTcp(port, 10_000, proc, host);
  } catch (e) {
    await proc.stop('SIGKILL');
    throw e;
  }
  const scrape = async (hex: string): Promise<{ complete: number; incomplete: number }> => {
    const res = await fetch(`http://${host}:${port}/scrape?info_hash=${pctBytes(hex.slice(0, 40))}`);
    const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
    const num = (key: string): number => Number(new RegExp(`${key.length}:${key}i(\\d+)e`).exec(body)?.[1] ?? 0);
    return { complete: num('complete'), incomplete: num('incomplete') };
  };
  return {
    proc,
    port,
    announce: `http://${host}:${port}/announce`,
    scrape,
    async waitForSeeders(hex, n, timeoutMs) {
      let last = { complete: 0, incomplete: 0 };
      await pollUntil(
        async () => {
          last = await scrape(hex);
          return last.complete >= n ? true : undefined;
        },
        timeoutMs,
        () => `the tracker to list ${n} seeder(s) (it lists ${JSON.stringify(last)})`,
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Torrent files

/**
 * The same torrent with an "announce" URL added (the info dictionary, hence the info-hash, unchanged).
 * Works on shoal's output without trackers: a dictionary whose keys all sort after "announce".
 */
export function withAnnounce(torrent: Buffer, url: string): Buffer {
  const firstKey = /^d(\d+):/.exec(torrent.subarray(0, 16).toString('latin1'));
  if (!firstKey) throw new Error('not a bencoded dictionary');
  const keyStart = firstKey[0].length;
  const key = torrent.subarray(keyStart, keyStart + Number(firstKey[1])).toString('latin1');
  if (key <= 'announce') throw new Error(`the torrent already has a key "${key}" sorting before or at "announce"`);
  const u = Buffer.from(url, 'utf8');
  return Buffer.concat([Buffer.from(`d8:announce${u.length}:`, 'latin1'), u, torrent.subarray(1)]);
}

// ---------------------------------------------------------------------------------------------
// Transmission

export const TR_SEEDING = 6;
const TR_FIELDS = ['id', 'hashString', 'status', 'percentDone', 'leftUntilDone', 'error', 'errorString', 'peersConnected'];

export interface TrTorrent {
  id: number;
  hashString: string;
  status: number;
  percentDone: number;
  leftUntilDone: number;
  error: number;
  errorString: string;
  peersConnected: number;
}

/**
 * transmission-daemon -f with its own config folder: DHT, LPD, PEX, port forwarding and uTP off,
 * peers bound to `bindAddress`, RPC on 127.0.0.1:`rpcPort`.
 */
export class Transmission {
  private sessionId = '';

  private constructor(
    readonly proc: Proc,
    readonly rpcPort: number,
  ) {}

  static async start(dir: string, o: { bindAddress: string; peerPort: number; rpcPort: number; downloadDir: string }): Promise<Transmission> {
    const configDir = join(dir, 'config');
    mkdirSync(configDir, { recursive: true });
    const settings = {
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'port-forwarding-enabled': false,
      'utp-enabled': false,
      'bind-address-ipv4': o.bindAddress,
      'bind-address-ipv6': '::1',
      'peer-port': o.peerPort,
      'peer-port-random-on-start': false,
      'rpc-enabled': true,
      'rpc-bind-address': '127.0.0.1',
      'rpc-port': o.rpcPort,
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': true,
      'rpc-whitelist': '127.0.0.1',
      'rpc-host-whitelist-enabled': false,
      'download-dir': o.downloadDir,
      'incomplete-dir-enabled': false,
      'watch-dir-enabled': false,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      'blocklist-enabled': false,
      'start-added-torrents': true,
      'message-level': Number(process.env.BENCH_TR_MESSAGE_LEVEL ?? 1),
    };
    writeFileSync(join(configDir, 'settings.json'), JSON.stringify(settings, null, 1));
    const proc = await startProc(`transmission-daemon (${o.bindAddress})`, 'transmission-daemon', ['-f', '-g', configDir]);
    await waitForTcp(o.rpcPort, 15_000, proc);
    const tr = new Transmission(proc, o.rpcPort);
    await tr.rpc('session-get', {});
    return tr;
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

  /** Adds a torrent (its bytes) to download into / seed from `dir`. */
  async add(torrent: Buffer, dir: string): Promise<void> {
    await this.rpc('torrent-add', { metainfo: torrent.toString('base64'), 'download-dir': dir, paused: false });
  }

  async torrent(infoHashHex: string): Promise<TrTorrent | undefined> {
    const a = await this.rpc('torrent-get', { fields: TR_FIELDS });
    return (a.torrents as TrTorrent[]).find((t) => t.hashString.toLowerCase() === infoHashHex.toLowerCase());
  }
}

/**
 * A private DHT on 127.0.0.1 for the DHT interop tests: long-running `shoal dht` nodes and libtorrent
 * nodes (tools/lt_dht.py), one-shot commands of both, and the checks on what they print. Every
 * process is started through swarm-procs.ts, so it is tracked by PID and killed (by that PID) in the
 * workspace's `after()`; one-shots are waited for and killed by PID when they overrun.
 *
 * Each shoal process gets its own SHOAL_HOME (the DHT keeps its routing table there); SHOAL_NET_ALLOW
 * is 127.0.0.0/8 for all of them, so shoal never sends a packet elsewhere (and never resolves the
 * public routers' names). libtorrent's helper refuses any bootstrap outside 127/8, never uses its
 * default router, and reports every DHT packet it sends elsewhere as a "foreign" event.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, SHOAL_BIN } from '../../helpers/cli.js';
import { PYTHON } from './tools.js';
import { freePort, startProc } from './swarm-procs.js';
import type { JsonEvent, Proc } from './swarm-procs.js';

export const LT_DHT = join(REPO_ROOT, 'test', 'interop', 'tools', 'lt_dht.py');
export const LOCAL = '127.0.0.1';

export const addr = (port: number): string => `${LOCAL}:${port}`;

// ---------------------------------------------------------------------------------------------
// One-shot commands

export interface OneShot {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: JsonEvent[];
  /** The last JSON line printed. */
  last: JsonEvent | undefined;
  describe: string;
}

/** Runs a command as a tracked process and waits for it (killing it by PID after `timeoutMs`). */
export async function runOnce(name: string, cmd: string, args: readonly string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<OneShot> {
  const proc = await startProc(name, cmd, args, o.env ? { env: o.env } : {});
  const exit = await proc.waitExit(o.timeoutMs ?? 60_000);
  return {
    code: exit.code,
    signal: exit.signal,
    stdout: proc.stdout,
    stderr: proc.stderr,
    events: proc.events,
    last: proc.events.at(-1),
    describe: `${name}: ${cmd} ${args.join(' ')}\n${proc.describe()}`,
  };
}

/** `shoal <args>` with its own SHOAL_HOME (a one-shot). */
export function shoalOnce(args: readonly string[], home: string, timeoutMs = 60_000): Promise<OneShot> {
  return runOnce(`shoal ${args.slice(0, 2).join(' ')}`, process.execPath, [SHOAL_BIN, ...args], { env: { SHOAL_HOME: home }, timeoutMs });
}

/**
 * The one identity (UDP/TCP port and node id) every libtorrent one-shot of a test file runs with.
 * libtorrent 2.0.8 nodes keep a one-shot in their routing table even when it is BEP 43 read-only, and
 * a later libtorrent lookup that meets such a dead node waits out libtorrent's 15 s query timeout
 * before it reports (a mutable get or any put). With one identity, the node they keep is the one-shot
 * that is running — answering (`--serve`) — whenever a libtorrent lookup runs.
 */
let ltOnceIdentity: Promise<string[]> | undefined;

/** `lt_dht.py <args>` (a one-shot); asserts it sent nothing outside 127/8. */
export async function ltOnce(args: readonly string[], timeoutMs = 60_000): Promise<OneShot> {
  ltOnceIdentity ??= freePort(true).then((port) => ['--port', String(port), '--id', randomBytes(20).toString('hex'), '--serve']);
  const identity = await ltOnceIdentity;
  const r = await runOnce(`libtorrent ${args[0] ?? ''}`, PYTHON, [LT_DHT, ...args, ...identity], { timeoutMs });
  assertNoForeign(r.events, r.describe);
  return r;
}

export function assertNoForeign(events: readonly JsonEvent[], context: string): void {
  const foreign = events.filter((e) => e.event === 'foreign');
  assert.equal(foreign.length, 0, `libtorrent sent DHT packets outside 127.0.0.0/8: ${JSON.stringify(foreign.slice(0, 5))}\n${context}`);
}

/** The single JSON object a `shoal … --json` one-shot printed. */
export function shoalJson(r: OneShot): JsonEvent {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `expected one JSON line\n${r.describe}`);
  return JSON.parse(lines[0]!) as JsonEvent;
}

// ---------------------------------------------------------------------------------------------
// Long-running nodes

export interface DhtNodeInfo {
  name: string;
  proc: Proc;
  id: string;
  port: number;
}

export interface ShoalNode extends DhtNodeInfo {
  home: string;
}

/** `shoal dht node --port P [--bootstrap H:P] --json` with its own SHOAL_HOME; resolves once "ready". */
export async function startShoalNode(name: string, home: string, o: { port?: number; bootstrap?: readonly string[] } = {}): Promise<ShoalNode> {
  await mkdir(home, { recursive: true });
  const port = o.port ?? (await freePort(true));
  const args = [SHOAL_BIN, 'dht', 'node', '--port', String(port), '--json'];
  for (const b of o.bootstrap ?? []) args.push('--bootstrap', b);
  const proc = await startProc(name, process.execPath, args, { env: { SHOAL_HOME: home } });
  const ready = await proc.waitForEvent('ready', 20_000);
  assert.equal(ready.port, port, `${name} listens on the port it was given\n${proc.describe()}`);
  assert.match(String(ready.id), /^[0-9a-f]{40}$/, `${name} has a node id`);
  return { name, proc, id: String(ready.id), port, home };
}

/** The stats events a shoal node printed (one every 5 s). */
export const shoalStats = (n: DhtNodeInfo): JsonEvent[] => n.proc.events.filter((e) => e.event === 'stats');

/** Waits for a shoal node's stats event that satisfies `pred` (they come every 5 s). */
export function waitShoalStats(n: DhtNodeInfo, pred: (s: JsonEvent) => boolean, timeoutMs: number, what: string): Promise<JsonEvent> {
  return n.proc.waitFor((e) => e.event === 'stats' && pred(e), timeoutMs, `${n.name}: ${what}`);
}

/** Stops a shoal node the way a user does (SIGINT: it saves its routing table), by its PID. */
export async function stopShoalNode(n: ShoalNode): Promise<void> {
  const exit = await n.proc.kill('SIGINT', 10_000);
  assert.equal(exit.code, 0, `${n.name} exits 0 on SIGINT\n${n.proc.describe()}`);
}

export interface SavedTable {
  id: string;
  nodes: { id: string; host: string; port: number }[];
}

export async function readSavedTable(path: string): Promise<SavedTable> {
  return JSON.parse(await readFile(path, 'utf8')) as SavedTable;
}

export interface LtLive {
  id: string;
  host: string;
  port: number;
}

/** `lt_dht.py node --bootstrap H:P`; resolves once it listens. Its "stats" lines list its routing table. */
export async function startLtNode(name: string, bootstrap: readonly string[]): Promise<DhtNodeInfo> {
  const args = [LT_DHT, 'node'];
  for (const b of bootstrap) args.push('--bootstrap', b);
  const proc = await startProc(name, PYTHON, args);
  const ready = await proc.waitForEvent('ready', 20_000);
  const port = Number(ready.port);
  if (!(port > 0)) throw new Error(`${name} did not listen\n${proc.describe()}`);
  return { name, proc, id: String(ready.id), port };
}

/** The routing table libtorrent reported last (dht_live_nodes). */
export function ltLive(n: DhtNodeInfo): LtLive[] {
  const last = n.proc.events.filter((e) => e.event === 'stats').at(-1);
  return (last?.live as LtLive[] | undefined) ?? [];
}

// ---------------------------------------------------------------------------------------------
// BEP 44 helpers

/** bencode of a string value (what both sides store for a text value). */
export const bencodedString = (s: string): Buffer => Buffer.concat([Buffer.from(`${Buffer.byteLength(s)}:`), Buffer.from(s)]);

/** BEP 44 immutable target: SHA-1 of the bencoded value. */
export const immutableTarget = (s: string): string => createHash('sha1').update(bencodedString(s)).digest('hex');

/** BEP 44 mutable target: SHA-1 of the public key followed by the salt. */
export const mutableTarget = (publicKeyHex: string, salt = ''): string =>
  createHash('sha1').update(Buffer.concat([Buffer.from(publicKeyHex, 'hex'), Buffer.from(salt, 'utf8')])).digest('hex');

/**
 * An ed25519 key made with Node's own crypto (independent of shoal), written in the key-file format
 * both `shoal dht put --key` and lt_dht.py read: {"seed": hex, "publicKey": hex}.
 */
export async function writeKeyFile(path: string): Promise<{ seed: string; publicKey: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const d = privateKey.export({ format: 'jwk' }).d;
  const x = publicKey.export({ format: 'jwk' }).x;
  if (!d || !x) throw new Error('ed25519 JWK export gave no key material');
  const key = { seed: Buffer.from(d, 'base64url').toString('hex'), publicKey: Buffer.from(x, 'base64url').toString('hex') };
  await writeFile(path, `${JSON.stringify(key)}\n`, { mode: 0o600 });
  return key;
}

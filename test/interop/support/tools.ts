/**
 * The external tools the interop suite drives (libtorrent through lt.py, mktorrent,
 * transmission-create) and typed wrappers around `shoal info|verify|create --json`.
 *
 * Nothing is ever skipped: a missing tool is a failure whose message says what `.ci/run` must install.
 */
import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run, shoal } from '../../helpers/cli.js';
import type { RunResult } from '../../helpers/cli.js';

export const PYTHON = '/usr/bin/python3';
export const LT_PY = join(REPO_ROOT, 'test', 'interop', 'tools', 'lt.py');

const INSTALL_HINT: Record<string, string> = {
  [PYTHON]: 'python3 and python3-libtorrent (apt-get install -y python3 python3-libtorrent)',
  mktorrent: 'mktorrent (apt-get install -y mktorrent)',
  'transmission-create': 'transmission-cli (apt-get install -y transmission-cli), which provides transmission-create',
};

function missingTool(cmd: string, why: string): Error {
  const what = INSTALL_HINT[cmd] ?? cmd;
  return new Error(`interop tool missing: ${cmd} ${why}. The interop tests skip nothing: .ci/run should install ${what}.`);
}

/** Runs an external tool; a tool that is not installed is a failure with an install hint. */
export async function runTool(cmd: string, args: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  try {
    return await run(cmd, args, opts);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missingTool(cmd, 'is not installed (not found on PATH)');
    throw e;
  }
}

function describeRun(cmd: string, args: readonly string[], r: RunResult): string {
  return `${cmd} ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}`;
}

let toolsChecked: Promise<void> | undefined;

/** Checks once per process that every tool is there; rejects with a clear message otherwise. */
export function requireTools(): Promise<void> {
  toolsChecked ??= (async () => {
    await access(PYTHON, constants.X_OK).catch(() => {
      throw missingTool(PYTHON, 'is not installed (Debian\'s interpreter, which python3-libtorrent is built for)');
    });
    await access(LT_PY, constants.R_OK).catch(() => {
      throw new Error(`interop helper ${LT_PY} is missing from the repository`);
    });
    const py = await runTool(PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)']);
    if (py.code !== 0) throw missingTool(PYTHON, `cannot import libtorrent (${py.stderr.trim().split('\n').pop() ?? ''})`);
    const mk = await runTool('mktorrent', ['-h']);
    if (!mk.stdout.includes('mktorrent')) throw missingTool('mktorrent', `does not look like mktorrent (${describeRun('mktorrent', ['-h'], mk)})`);
    const tr = await runTool('transmission-create', ['-V']);
    if (!`${tr.stdout}${tr.stderr}`.includes('transmission-create')) {
      throw missingTool('transmission-create', `does not look like transmission-create (${describeRun('transmission-create', ['-V'], tr)})`);
    }
  })();
  return toolsChecked;
}

// ---------------------------------------------------------------------------------------------
// libtorrent (lt.py)

export interface LtFile {
  path: string;
  relPath: string;
  length: number;
  pad: boolean;
}

export interface LtInfo {
  infoHash: string | null;
  infoHashV2: string | null;
  name: string;
  length: number;
  pieceLength: number;
  pieceCount: number;
  files: LtFile[];
}

export interface LtRecheck {
  ok: boolean;
  numPieces: number;
  havePieces: number;
  missing: number[];
  errors: string | null;
}

export interface LtCreate {
  infoHash: string | null;
  infoHashV2: string | null;
}

async function ltJson<T>(args: readonly string[]): Promise<T> {
  await requireTools();
  const all = [LT_PY, ...args];
  const r = await runTool(PYTHON, all, { timeoutMs: 150_000 });
  if (r.code !== 0) throw new Error(`libtorrent helper failed: ${describeRun(PYTHON, all, r)}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`libtorrent helper printed no JSON: ${describeRun(PYTHON, all, r)}`);
  }
}

export const ltInfo = (torrent: string): Promise<LtInfo> => ltJson<LtInfo>(['info', torrent]);
export const ltRecheck = (torrent: string, saveDir: string): Promise<LtRecheck> => ltJson<LtRecheck>(['recheck', torrent, saveDir]);

export type Version = 'v1' | 'v2' | 'hybrid';

/** libtorrent's own torrent of `path` (pieceLength 0/undefined: libtorrent chooses). */
export function ltCreate(path: string, out: string, version: Version, pieceLength?: number): Promise<LtCreate> {
  const args = ['create', path, out, `--${version}`];
  if (pieceLength) args.push('--piece-length', String(pieceLength));
  return ltJson<LtCreate>(args);
}

// ---------------------------------------------------------------------------------------------
// mktorrent and transmission-create (v1 only)

/** mktorrent 1.1: `-l` is log2 of the piece length (15..28); `-d` leaves out the date. */
export async function mktorrent(path: string, out: string, log2PieceLength: number): Promise<void> {
  await requireTools();
  const args = ['-l', String(log2PieceLength), '-t', '2', '-d', '-o', out, path];
  const r = await runTool('mktorrent', args);
  if (r.code !== 0) throw new Error(`mktorrent failed: ${describeRun('mktorrent', args, r)}`);
}

/** transmission-create 3.00: `-s` is the piece size in KiB. Skips dotfiles and empty files. */
export async function transmissionCreate(path: string, out: string, pieceKiB: number): Promise<void> {
  await requireTools();
  const args = ['-o', out, '-s', String(pieceKiB), path];
  const r = await runTool('transmission-create', args);
  if (r.code !== 0) throw new Error(`transmission-create failed: ${describeRun('transmission-create', args, r)}`);
}

// ---------------------------------------------------------------------------------------------
// shoal

export interface ShoalInfo {
  type: 'torrent';
  version: Version;
  name: string;
  infoHash: string | null;
  infoHashV2: string | null;
  length: number;
  pieceLength: number;
  pieceCount: number;
  fileCount: number;
  files: { path: string; length: number }[];
  padFiles: number;
}

export interface ShoalVerify {
  complete: boolean;
  pieceCount: number;
  piecesGood: number;
  piecesBad: number;
  piecesMissing: number;
  badPieces: number[];
  missingPieces: number[];
  files: { path: string; length: number; complete: boolean }[];
}

function parseShoal<T>(args: readonly string[], r: RunResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`shoal printed no JSON: ${describeRun('shoal', args, r)}`);
  }
}

export async function shoalInfo(torrent: string): Promise<ShoalInfo> {
  const args = ['info', '--json', torrent];
  const r = await shoal(args);
  if (r.code !== 0) throw new Error(`shoal info failed: ${describeRun('shoal', args, r)}`);
  return parseShoal<ShoalInfo>(args, r);
}

/** `shoal verify --json`; resolves with the exit code too (0 complete, 1 incomplete). */
export async function shoalVerify(torrent: string, dir: string): Promise<{ code: number; report: ShoalVerify; stderr: string }> {
  const args = ['verify', '--json', torrent, dir];
  const r = await shoal(args);
  if (r.code !== 0 && r.code !== 1) throw new Error(`shoal verify failed: ${describeRun('shoal', args, r)}`);
  return { code: r.code, report: parseShoal<ShoalVerify>(args, r), stderr: r.stderr };
}

/** `shoal create --json -q`; `pieceLength` as the CLI takes it ("16K", "65536"), or undefined for auto. */
export async function shoalCreate(path: string, out: string, version: Version, pieceLength?: string): Promise<ShoalInfo & { torrent: string }> {
  const args = ['create', path, '-o', out, '-f', '--json', '-q', `--${version}`];
  if (pieceLength !== undefined) args.push('--piece-length', pieceLength);
  const r = await shoal(args);
  if (r.code !== 0) throw new Error(`shoal create failed: ${describeRun('shoal', args, r)}`);
  return parseShoal<ShoalInfo & { torrent: string }>(args, r);
}

export async function ensureDir(p: string): Promise<string> {
  await mkdir(p, { recursive: true });
  return p;
}

/** Memoises an async step so several tests can share it (and all fail with its error if it fails). */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/**
 * What `get` and `seed` show while they run: one live status line on a terminal, or one JSON
 * object per line (`--json`) for scripts.
 */
import type cliProgressType from 'cli-progress';
import { loadCliProgress } from './progress.js';
import type { Torrent, TorrentStats } from '../torrent/torrent.js';
import { formatBytes } from './format.js';

export interface SwarmUi {
  event(name: string, fields: Record<string, unknown>): void;
  start(t: Torrent, label: string): void;
  stop(): void;
  note(text: string): void;
}

function eta(s: TorrentStats): string {
  const left = s.wantedBytes - s.haveBytes;
  if (left <= 0) return '0s';
  if (s.downRate < 1) return '∞';
  const secs = Math.round(left / s.downRate);
  return secs >= 3600 ? `${Math.floor(secs / 3600)}h${Math.floor((secs % 3600) / 60)}m` : secs >= 60 ? `${Math.floor(secs / 60)}m${secs % 60}s` : `${secs}s`;
}

export function progressFields(s: TorrentStats): Record<string, unknown> {
  return {
    percent: s.wantedBytes > 0 ? Math.floor((s.haveBytes / s.wantedBytes) * 1000) / 10 : 0,
    haveBytes: s.haveBytes,
    wantedBytes: s.wantedBytes,
    downloaded: s.downloadedBytes,
    uploaded: s.uploadedBytes,
    downRate: Math.round(s.downRate),
    upRate: Math.round(s.upRate),
    peers: s.peers,
    seeds: s.seeds,
    knownPeers: s.knownPeers,
    pieces: s.havePieces,
    pieceCount: s.pieceCount,
  };
}

export function makeUi(json: boolean, quiet: boolean): SwarmUi {
  let timer: NodeJS.Timeout | undefined;
  let bar: cliProgressType.SingleBar | undefined;
  const tty = process.stderr.isTTY && !quiet && !json;
  return {
    event(name, fields) {
      if (json) process.stdout.write(`${JSON.stringify({ event: name, ...fields })}\n`);
    },
    note(text) {
      if (json || quiet) return;
      if (bar) bar.stop();
      process.stderr.write(`${text}\n`);
      bar = undefined;
    },
    start(t, label) {
      if (json) {
        timer = setInterval(() => this.event('progress', progressFields(t.stats())), 1000);
        return;
      }
      if (!tty) return;
      const render = (): void => {
        const s = t.stats();
        const payload = {
          have: formatBytes(s.haveBytes),
          want: formatBytes(s.wantedBytes),
          down: formatBytes(Math.round(s.downRate)),
          up: formatBytes(Math.round(s.upRate)),
          peers: `${s.peers}/${s.knownPeers}`,
          seeds: s.seeds,
          eta: eta(s),
          pieces: `${s.havePieces}/${s.pieceCount}`,
        };
        if (!bar) {
          const cliProgress = loadCliProgress();
          bar = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: `${label} [{bar}] {percentage}% {have}/{want} | ↓ {down}/s ↑ {up}/s | peers {peers} seeds {seeds} | ETA {eta} | pieces {pieces}`,
              hideCursor: true,
              barsize: 24,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.max(1, s.wantedBytes), s.haveBytes, payload);
        } else {
          bar.setTotal(Math.max(1, s.wantedBytes));
          bar.update(s.haveBytes, payload);
        }
      };
      render();
      timer = setInterval(render, 500);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      bar?.stop();
      bar = undefined;
    },
  };
}

/**
 * The end of `get` and `seed`: waits for the outcome (or Ctrl-C / SIGTERM, answered by `onSignal`),
 * then closes the session. A failure is reported as one line and exit code 1.
 */
export async function finishRun(
  finished: Promise<number>,
  onSignal: () => void,
  ui: SwarmUi,
  close: () => Promise<void>,
  failure: () => Error | undefined,
): Promise<number> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await finished;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  ui.stop();
  await close();
  const err = failure();
  if (err) {
    process.stderr.write(`shoal: ${err.message}\n`);
    return 1;
  }
  return code;
}

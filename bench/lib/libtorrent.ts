/**
 * python3-libtorrent as a reference: test/interop/tools/lt.py for create/info/recheck, plus a one-pass
 * check script. `lt.py recheck` waits for the check libtorrent does when a torrent is added without
 * resume data and then forces a second one, so it hashes the data twice (and starts a session); the
 * one-pass script below stops after the first check and also reports libtorrent's own check time.
 */
import { runPlain } from './measure.js';
import type { BenchContext } from './types.js';

export interface LtInfo {
  infoHash: string | null;
  infoHashV2: string | null;
}

/** Info-hashes of a .torrent as libtorrent reads them (an independent parser), or an error text. */
export async function ltInfo(ctx: BenchContext, torrent: string): Promise<LtInfo | string> {
  const py = ctx.tools.python;
  if (py === null) return 'python3-libtorrent not available';
  const r = await runPlain(py, [ctx.tools.ltPy, 'info', torrent]);
  try {
    const j = JSON.parse(r.stdout) as Partial<LtInfo> & { error?: string };
    if (j.error !== undefined) return j.error;
    return { infoHash: j.infoHash ?? null, infoHashV2: j.infoHashV2 ?? null };
  } catch {
    return `lt.py info exited ${r.code}: ${r.stderr.trim()}`;
  }
}

/**
 * One libtorrent check: a local-only session (same settings as lt.py), add the torrent in upload mode
 * without resume data, wait for torrent_checked_alert. argv: torrent save_dir [hashing_threads].
 * Prints {"ok", "checkS" (add -> checked), "startS" (import + session start), "have", "pieces", "errors"}.
 */
export const LT_CHECK_ONCE_PY = String.raw`
import json, os, sys, time
t0 = time.monotonic()
import libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
settings = {
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "listen_interfaces": "127.0.0.1:0",
    "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
                  | lt.alert.category_t.storage_notification,
}
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
if threads > 0:
    settings["hashing_threads"] = threads
ses = lt.session(settings)
atp = lt.add_torrent_params()
atp.ti = ti
atp.save_path = os.path.abspath(sys.argv[2])
atp.flags = lt.torrent_flags.upload_mode | lt.torrent_flags.disable_dht \
    | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
t1 = time.monotonic()
h = ses.add_torrent(atp)
errors, done = [], False
while not done and not errors and time.monotonic() < t1 + 1800:
    ses.wait_for_alert(100)
    for a in ses.pop_alerts():
        if isinstance(a, lt.torrent_checked_alert):
            done = True
        elif isinstance(a, (lt.file_error_alert, lt.torrent_error_alert)):
            errors.append(str(a.message()))
t2 = time.monotonic()
st = h.status()
print(json.dumps({"ok": done and not errors and st.num_pieces == ti.num_pieces(), "checkS": t2 - t1,
                  "startS": t1 - t0, "have": st.num_pieces, "pieces": ti.num_pieces(), "errors": errors}))
`;

/** The libtorrent hashing_threads to ask for in the one-pass check (env BENCH_LT_HASHING_THREADS; 0 = libtorrent's default). */
export function ltHashingThreads(): number {
  const v = Number(process.env.BENCH_LT_HASHING_THREADS ?? '0');
  return Number.isInteger(v) && v > 0 ? v : 0;
}

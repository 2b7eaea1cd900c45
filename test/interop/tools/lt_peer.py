#!/usr/bin/python3
"""A libtorrent peer for shoal's swarm interop tests and benchmarks (Debian's python3-libtorrent).

  lt_peer.py seed <file.torrent> <save_dir> [--port N]
  lt_peer.py get  <file.torrent | magnet> <save_dir> [--port N] [--peer HOST:PORT]... [--timeout S]

Prints one JSON object per line: {"event":"ready","port":N} once listening, {"event":"progress",...}
every second, {"event":"done","seconds":S} when a `get` has every piece (then exits 0). `seed` runs
until killed. DHT, LSD, UPnP, NAT-PMP are off; it listens on 127.0.0.1 only; several connections from
one IP are allowed (everything is 127.0.0.1 here).
"""
import json
import sys
import time

import libtorrent as lt


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(argv):
    if len(argv) < 3 or argv[0] not in ("seed", "get"):
        sys.stderr.write(__doc__)
        return 2
    mode, source, save = argv[0], argv[1], argv[2]
    port, peers, timeout, trackers = 0, [], 600.0, []
    i = 3
    while i < len(argv):
        if argv[i] == "--port":
            port = int(argv[i + 1]); i += 2
        elif argv[i] == "--peer":
            h, p = argv[i + 1].rsplit(":", 1); peers.append((h, int(p))); i += 2
        elif argv[i] == "--timeout":
            timeout = float(argv[i + 1]); i += 2
        elif argv[i] == "--tracker":
            trackers.append(argv[i + 1]); i += 2
        else:
            sys.stderr.write("unknown argument %s\n" % argv[i]); return 2
    settings = {
        "listen_interfaces": "127.0.0.1:%d" % port,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
        "user_agent": "libtorrent-interop",
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
    }
    ses = lt.session(settings)
    params = lt.parse_magnet_uri(source) if source.startswith("magnet:") else lt.add_torrent_params()
    if not source.startswith("magnet:"):
        params.ti = lt.torrent_info(source)
    params.save_path = save
    for t in trackers:
        params.trackers.append(t)
    if mode == "seed":
        params.flags |= lt.torrent_flags.seed_mode if False else 0
    h = ses.add_torrent(params)
    # wait for listen
    deadline = time.time() + 10
    while ses.listen_port() == 0 and time.time() < deadline:
        time.sleep(0.05)
    out({"event": "ready", "port": ses.listen_port()})
    for hp in peers:
        h.connect_peer(hp)
    start = time.time()
    last = 0
    while True:
        s = h.status()
        for a in ses.pop_alerts():
            if isinstance(a, lt.torrent_error_alert) or isinstance(a, lt.file_error_alert):
                out({"event": "error", "message": a.message()})
        now = time.time()
        if mode == "get" and s.is_seeding and s.state in (lt.torrent_status.seeding, lt.torrent_status.finished):
            out({"event": "done", "seconds": now - start, "downloaded": s.total_payload_download})
            return 0
        if now - last >= 1:
            last = now
            out({"event": "progress", "state": str(s.state), "progress": s.progress, "peers": s.num_peers,
                 "down": s.download_payload_rate, "up": s.upload_payload_rate, "uploaded": s.total_payload_upload})
            # keep (re)connecting to given peers until one sticks
            if s.num_peers == 0:
                for hp in peers:
                    h.connect_peer(hp)
        if mode == "get" and now - start > timeout:
            out({"event": "timeout", "progress": s.progress})
            return 1
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

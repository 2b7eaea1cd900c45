#!/usr/bin/python3
"""A libtorrent peer for shoal's swarm interop tests and benchmarks (Debian's python3-libtorrent).

  lt_peer2.py seed <file.torrent> <save_dir> [--port N] [--peer HOST:PORT]... [--tracker URL]...
                   [--upload-limit BYTES_PER_S]
  lt_peer2.py get  <file.torrent | magnet> <save_dir> [--port N] [--peer HOST:PORT]... [--tracker URL]...
                   [--timeout S] [--download-limit BYTES_PER_S]

Prints one JSON object per line: "ready" once listening, "progress" every second (with "pieces"
verified and "total_download"), "seeding" once a `seed` has checked its data and serves every piece,
"done" when a `get` has every piece, "timeout", "error". --upload-limit / --download-limit are rate
limits in bytes/s (0 = none), e.g. to make a transfer last long enough to interrupt it.
DHT, LSD, UPnP, NAT-PMP and uTP are off; it listens on 127.0.0.1 only; several connections from one
IP are allowed (everything is 127.0.0.1 here). `seed` runs until killed.
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
    port, peers, timeout, trackers, up_limit, down_limit = 0, [], 600.0, [], 0, 0
    i = 3
    try:
        while i < len(argv):
            a = argv[i]
            v = argv[i + 1] if i + 1 < len(argv) else None
            if v is None:
                raise ValueError("%s needs a value" % a)
            if a == "--port":
                port = int(v)
            elif a == "--peer":
                h, p = v.rsplit(":", 1)
                peers.append((h, int(p)))
            elif a == "--timeout":
                timeout = float(v)
            elif a == "--tracker":
                trackers.append(v)
            elif a == "--upload-limit":
                up_limit = int(v)
            elif a == "--download-limit":
                down_limit = int(v)
            else:
                raise ValueError("unknown argument %s" % a)
            i += 2
    except ValueError as e:
        sys.stderr.write("%s\n" % e)
        return 2
    settings = {
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
        "user_agent": "libtorrent-interop",
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "upload_rate_limit": up_limit, "download_rate_limit": down_limit,
    }
    ses = lt.session(settings)
    if up_limit or down_limit:
        # libtorrent puts 127.0.0.0/8 in its unlimited "local" peer class: make every address global,
        # so the limits apply on loopback too
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    if source.startswith("magnet:"):
        params = lt.parse_magnet_uri(source)
    else:
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(source)
    params.save_path = save
    params.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
    if trackers:
        # (the binding's params.trackers is a copy: appending to it, as lt_peer.py does, is lost)
        params.trackers = list(params.trackers) + trackers
        params.tracker_tiers = list(range(len(params.trackers)))
    h = ses.add_torrent(params)
    deadline = time.time() + 10
    while ses.listen_port() == 0 and time.time() < deadline:
        time.sleep(0.05)
    out({"event": "ready", "port": ses.listen_port()})
    for hp in peers:
        h.connect_peer(hp)
    start = time.time()
    last = 0
    said_seeding = False
    while True:
        s = h.status()
        for a in ses.pop_alerts():
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                out({"event": "error", "message": a.message()})
        now = time.time()
        seeding = s.is_seeding and s.state in (lt.torrent_status.seeding, lt.torrent_status.finished)
        if mode == "get" and seeding:
            out({"event": "done", "seconds": now - start, "downloaded": s.total_payload_download})
            return 0
        if mode == "seed" and seeding and not said_seeding:
            said_seeding = True
            out({"event": "seeding", "pieces": s.num_pieces})
        if now - last >= 1:
            last = now
            out({"event": "progress", "state": str(s.state), "progress": s.progress, "pieces": s.num_pieces,
                 "peers": s.num_peers, "down": s.download_payload_rate, "up": s.upload_payload_rate,
                 "uploaded": s.total_payload_upload, "total_download": s.total_payload_download})
            if s.num_peers == 0:  # keep (re)connecting to the given peers until one sticks
                for hp in peers:
                    h.connect_peer(hp)
        if mode == "get" and now - start > timeout:
            out({"event": "timeout", "progress": s.progress})
            return 1
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

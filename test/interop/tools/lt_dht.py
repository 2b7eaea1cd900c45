#!/usr/bin/python3
"""A libtorrent DHT peer for shoal's DHT interop tests (Debian's python3-libtorrent 2.0).

  lt_dht.py node                              --bootstrap H:P [--port N] [--id HEX]
  lt_dht.py seed <file.torrent> <save_dir>    --bootstrap H:P [--port N] [--id HEX]
  lt_dht.py get  <magnet> <save_dir>          --bootstrap H:P [--port N] [--id HEX] [--timeout S]
  lt_dht.py get-peers <hex info-hash>         --bootstrap H:P [--timeout S]
  lt_dht.py put-immutable <string>            --bootstrap H:P [--timeout S]
  lt_dht.py get-immutable <hex target>        --bootstrap H:P [--timeout S]
  lt_dht.py put-mutable <string> --key FILE [--salt S] --bootstrap H:P [--timeout S]
  lt_dht.py get-mutable --pubkey HEX [--salt S] [--min-seq N] --bootstrap H:P [--timeout S]

One-shots (get-peers, put-*, get-*) are BEP 43 read-only unless --serve; --port/--id fix their identity.

A session with ONLY the DHT on (no LSD, UPnP, NAT-PMP, uTP), listening (TCP and the DHT's UDP) on
127.0.0.1:PORT, `dht_bootstrap_nodes` = the given local node(s) only (never libtorrent's default
router), and the loopback-hostile DHT checks off (dht_restrict_routing_ips, dht_restrict_search_ips,
dht_enforce_node_id, dht_prefer_verified_node_ids, dht_ignore_dark_internet); a node that fails to
answer once leaves the routing table (dht_max_fail_count 1: nodes here come and go). The node id is fixed
for 127.0.0.1 at start (random, or --id), so libtorrent does not switch ids after its first answer.
Every DHT packet is watched (dht_pkt_alert): one sent anywhere but 127.0.0.0/8 is printed as a
{"event":"foreign"} line (and counted in "stats").

Prints one JSON object per line:
  {"event":"ready","port":N,"id":HEX}                once listening
  {"event":"bootstrapped"}                           when the DHT bootstrap finished
  {"event":"stats","nodes":N,"live":[{"id","host","port"}],"foreign":N,...}   every second (node/seed/get)
  seed: {"event":"seeding"} once its data is checked; the torrent is announced to the DHT every 3 s
  get:  {"event":"done","seconds":S} once complete, then exit 0 ({"event":"timeout"} and 1 at --timeout);
        the "stats" lines of seed/get carry the torrent's state, progress, peers and upload
  get-peers:     {"event":"peers","peers":["H:P",...]} once peers came (0.5 s after the first answer
                 with peers, or at --timeout); exit 0 if any
  put-immutable: {"event":"put","target":HEX,"stored":N}                 exit 0 if stored on >= 1 node
  get-immutable: {"event":"item","found":bool,"target":HEX,"value":STR}  exit 0 if found
  put-mutable:   {"event":"put","target":HEX,"publicKey":HEX,"salt":S,"seq":N,"stored":N}
  get-mutable:   {"event":"item","found":bool,"publicKey":HEX,"salt":S,"seq":N,"value":STR}, once the
                 lookup ended (libtorrent's "authoritative" answer) or an item with seq >= --min-seq came

The key file is JSON {"seed": 64 hex, "publicKey": 64 hex} (the format of `shoal dht keygen`);
libtorrent signs with the seed expanded the way its ed25519 code keeps secret keys.
"""
import hashlib
import json
import os
import re
import sys
import time
import warnings

import libtorrent as lt

warnings.simplefilter("ignore", DeprecationWarning)  # dht_state(): the only way to read our node id

DEBUG = os.environ.get("LT_DHT_DEBUG") == "1"
PKT_RE = re.compile(r"^(==>|<==) \[([^\]]+)\]")


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def parse_args(argv):
    o = {"serve": False, "pos": [], "port": 0, "bootstrap": [], "id": None, "timeout": 60.0, "key": None, "salt": "", "pubkey": None,
         "min_seq": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--serve":
            o["serve"] = True
            i += 1
            continue
        if a in ("--port", "--bootstrap", "--id", "--timeout", "--key", "--salt", "--pubkey", "--min-seq"):
            if i + 1 >= len(argv):
                raise SystemExit("%s needs a value" % a)
            v = argv[i + 1]
            i += 2
            if a == "--port":
                o["port"] = int(v)
            elif a == "--bootstrap":
                o["bootstrap"].append(v)
            elif a == "--timeout":
                o["timeout"] = float(v)
            elif a == "--min-seq":
                o["min_seq"] = int(v)
            else:
                o[a[2:]] = v
        else:
            o["pos"].append(a)
            i += 1
    return o


def host_of(endpoint):
    return endpoint.rsplit(":", 1)[0].strip("[]")


def is_loopback(host):
    return host.startswith("127.")


class Dht:
    def __init__(self, o):
        for b in o["bootstrap"]:
            if not is_loopback(host_of(b)):
                raise SystemExit("refusing bootstrap %s: only 127.0.0.0/8 here" % b)
        if not o["bootstrap"]:
            raise SystemExit("--bootstrap H:P is required (the default public router is never used)")
        self.nid = bytes.fromhex(o["id"]) if o["id"] else os.urandom(20)
        # Our id for 127.0.0.1 from the start: libtorrent then keeps it (it would otherwise pick a new
        # one once the first answer tells it its address, leaving a stale id in everyone's table).
        params = lt.read_session_params(lt.bencode({b"dht state": {b"node-id": [self.nid + bytes([127, 0, 0, 1])]}}))
        params.settings = {
            "listen_interfaces": "127.0.0.1:%d" % o["port"],
            "outgoing_interfaces": "",
            "enable_dht": True,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_incoming_utp": False,
            "enable_outgoing_utp": False,
            "dht_bootstrap_nodes": ",".join(o["bootstrap"]),
            "dht_restrict_routing_ips": False,
            "dht_restrict_search_ips": False,
            "dht_enforce_node_id": False,
            "dht_prefer_verified_node_ids": False,
            "dht_ignore_dark_internet": False,
            # a node that failed to answer once is dropped: nodes come and go by the second here
            "dht_max_fail_count": 1,
            # one-shot item commands are gone in a moment: BEP 43 read-only, so nobody keeps them
            "dht_read_only": o["read_only"],
            "allow_multiple_connections_per_ip": True,
            "user_agent": "libtorrent-dht-interop",
            "alert_mask": lt.alert.category_t.error_notification
            | lt.alert.category_t.status_notification
            | lt.alert.category_t.dht_notification
            | lt.alert.category_t.dht_operation_notification
            | lt.alert.category_t.dht_log_notification,
        }
        self.ses = lt.session(params)
        self.foreign = 0
        self.bootstrapped = False
        self.live = []
        self.table_nodes = 0
        self.handlers = []
        deadline = time.time() + 10
        while self.ses.listen_port() == 0 and time.time() < deadline:
            time.sleep(0.05)
        self.port = self.ses.listen_port()

    def node_id(self):
        try:
            ids = self.ses.dht_state().get(b"node-id") or []
            if ids:
                return ids[0][:20].hex()
        except Exception:  # noqa: BLE001 - best effort
            pass
        return self.nid.hex()

    def pump(self, seconds, want=None):
        """Handles alerts for up to `seconds`; returns the first alert `want` accepts (or None)."""
        end = time.time() + seconds
        while True:
            for a in self.ses.pop_alerts():
                if isinstance(a, lt.dht_pkt_alert):
                    if DEBUG:
                        sys.stderr.write("%.3f %s\n" % (time.time(), a.message()))
                    m = PKT_RE.match(a.message())
                    if m and not is_loopback(host_of(m.group(2))):
                        self.foreign += 1
                        out({"event": "foreign", "direction": m.group(1), "endpoint": m.group(2)})
                    continue
                if isinstance(a, lt.dht_log_alert):
                    if DEBUG:
                        sys.stderr.write("%.3f %s\n" % (time.time(), a.message()))
                    continue
                if isinstance(a, lt.dht_bootstrap_alert) and not self.bootstrapped:
                    self.bootstrapped = True
                    out({"event": "bootstrapped"})
                elif isinstance(a, lt.dht_live_nodes_alert):
                    self.live = [{"id": str(n["nid"]), "host": n["endpoint"][0], "port": n["endpoint"][1]} for n in a.nodes]
                elif isinstance(a, lt.dht_stats_alert):
                    self.table_nodes = sum(b["num_nodes"] for b in a.routing_table)
                elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert, lt.listen_failed_alert)):
                    out({"event": "error", "message": a.message()})
                if want is not None and want(a):
                    return a
            if time.time() >= end:
                return None
            time.sleep(0.05)

    def refresh_stats(self):
        try:
            self.ses.dht_live_nodes(lt.sha1_hash(bytes.fromhex(self.node_id())))
        except Exception as e:  # noqa: BLE001
            out({"event": "warning", "message": "dht_live_nodes: %s" % e})
        self.ses.post_dht_stats()

    def stats(self, extra=None):
        obj = {"event": "stats", "id": self.node_id(), "nodes": self.table_nodes, "live": self.live, "foreign": self.foreign}
        if extra:
            obj.update(extra)
        out(obj)

    def wait_bootstrap(self, seconds=15.0):
        """Until the bootstrap finished or the routing table holds a node (a bootstrap lookup that
        meets a dead node waits out libtorrent's 15 s timeout before it reports: no need to wait)."""
        end = time.time() + seconds
        while not self.bootstrapped and self.table_nodes == 0 and time.time() < end:
            self.ses.post_dht_stats()
            self.pump(0.2)


def text_of(entry):
    if isinstance(entry, dict) and "value" in entry:  # the binding hands items over as {"key", "value"}
        entry = entry["value"]
    if isinstance(entry, bytes):
        return entry.decode("utf-8", "replace")
    if isinstance(entry, str):
        return entry
    return json.dumps(entry, default=lambda x: x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x))


def keys_from_file(path):
    with open(path, "r", encoding="utf-8") as f:
        k = json.load(f)
    seed = bytes.fromhex(k["seed"])
    pk = bytes.fromhex(k["publicKey"])
    if len(seed) != 32 or len(pk) != 32:
        raise SystemExit("%s: seed and publicKey must be 32 bytes each" % path)
    # libtorrent's ed25519 (orlp) secret key: SHA-512 of the seed, first half clamped.
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    return bytes(h), pk


def mutable_target(pk, salt):
    return hashlib.sha1(pk + salt).hexdigest()


def run_node(d, _o):
    last = 0.0
    while True:
        d.pump(0.2)
        if time.time() - last >= 1:
            last = time.time()
            d.stats()
            d.refresh_stats()


def run_torrent(d, o, mode):
    if len(o["pos"]) < 2:
        raise SystemExit("%s needs a source and a folder" % mode)
    source, save = o["pos"][0], o["pos"][1]
    if source.startswith("magnet:"):
        params = lt.parse_magnet_uri(source)
    else:
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(source)
    params.save_path = save
    params.trackers = []
    params.dht_nodes = []
    h = d.ses.add_torrent(params)
    try:
        h.replace_trackers([])
    except Exception:  # noqa: BLE001
        pass
    start = time.time()
    last_stats = 0.0
    last_announce = 0.0
    seeding_said = False
    while True:
        d.pump(0.1)
        s = h.status()
        now = time.time()
        if mode == "seed" and not seeding_said and s.is_seeding:
            seeding_said = True
            out({"event": "seeding"})
        if mode == "get" and s.is_seeding:
            out({"event": "done", "seconds": now - start, "downloaded": s.total_payload_download})
            return 0
        if now - last_announce >= 3 and (d.bootstrapped or d.table_nodes > 0):
            last_announce = now
            h.force_dht_announce()
        if now - last_stats >= 1:
            last_stats = now
            d.stats({"state": str(s.state), "progress": s.progress, "peers": s.num_peers,
                     "uploaded": s.total_payload_upload, "hasMetadata": s.has_metadata})
            d.refresh_stats()
        if mode == "get" and now - start > o["timeout"]:
            out({"event": "timeout", "progress": s.progress})
            return 1


def run_get_peers(d, o):
    ih = o["pos"][0]
    d.wait_bootstrap()
    d.ses.dht_get_peers(lt.sha1_hash(bytes.fromhex(ih)))
    peers = set()
    end = time.time() + o["timeout"]
    while time.time() < end:
        a = d.pump(end - time.time(), lambda a: isinstance(a, lt.dht_get_peers_reply_alert))
        if a is None:
            break
        for p in a.peers():
            peers.add("%s:%d" % (p[0], p[1]))
        if peers:
            end = min(end, time.time() + 0.5)
    out({"event": "peers", "infoHash": ih, "peers": sorted(peers), "foreign": d.foreign})
    return 0 if peers else 1


def run_put_immutable(d, o):
    value = o["pos"][0]
    d.wait_bootstrap()
    target = d.ses.dht_put_immutable_item(value)
    a = d.pump(o["timeout"], lambda a: isinstance(a, lt.dht_put_alert))
    stored = a.num_success if a else 0
    out({"event": "put", "target": str(target), "stored": stored, "foreign": d.foreign})
    return 0 if stored > 0 else 1


def run_get_immutable(d, o):
    target = o["pos"][0]
    d.wait_bootstrap()
    d.ses.dht_get_immutable_item(lt.sha1_hash(bytes.fromhex(target)))
    a = d.pump(o["timeout"], lambda a: isinstance(a, lt.dht_immutable_item_alert))
    item = a.item if a else None
    found = item is not None and item != {} and item != b"" and item != ""
    obj = {"event": "item", "found": found, "target": target, "foreign": d.foreign}
    if found:
        obj["value"] = text_of(item)
    out(obj)
    return 0 if found else 1


def run_put_mutable(d, o):
    value = o["pos"][0]
    if not o["key"]:
        raise SystemExit("put-mutable needs --key FILE")
    sk, pk = keys_from_file(o["key"])
    salt = o["salt"].encode("utf-8")
    d.wait_bootstrap()
    d.ses.dht_put_mutable_item(sk, pk, value, salt)
    a = d.pump(o["timeout"], lambda a: isinstance(a, lt.dht_put_alert))
    stored = a.num_success if a else 0
    out({"event": "put", "target": mutable_target(pk, salt), "publicKey": pk.hex(), "salt": o["salt"],
         "seq": a.seq if a else None, "stored": stored, "foreign": d.foreign})
    return 0 if stored > 0 else 1


def run_get_mutable(d, o):
    if not o["pubkey"]:
        raise SystemExit("get-mutable needs --pubkey HEX")
    pk = bytes.fromhex(o["pubkey"])
    salt = o["salt"].encode("utf-8")
    d.wait_bootstrap()
    d.ses.dht_get_mutable_item(pk, salt)
    best = None
    end = time.time() + o["timeout"]
    while time.time() < end:
        a = d.pump(end - time.time(), lambda a: isinstance(a, lt.dht_mutable_item_alert))
        if a is None:
            break
        if a.item is not None and a.item != {} and (best is None or a.seq >= best["seq"]):
            best = {"seq": a.seq, "value": text_of(a.item), "salt": text_of(a.salt)}
        if a.authoritative:
            break
        # the caller knows the seq it expects: no need to wait for the lookup's end (which waits out
        # libtorrent's 15 s timeout for every dead node it met) once that one is in
        if o["min_seq"] is not None and best is not None and best["seq"] >= o["min_seq"]:
            break
    obj = {"event": "item", "found": best is not None, "publicKey": pk.hex(), "salt": o["salt"],
           "target": mutable_target(pk, salt), "foreign": d.foreign}
    if best:
        obj.update(best)
        obj["salt"] = best["salt"]
    out(obj)
    return 0 if best else 1


def main(argv):
    if not argv or argv[0] not in ("node", "seed", "get", "get-peers", "put-immutable", "get-immutable", "put-mutable", "get-mutable"):
        sys.stderr.write(__doc__)
        return 2
    mode = argv[0]
    o = parse_args(argv[1:])
    o["read_only"] = mode not in ("node", "seed", "get") and not o["serve"]
    if mode in ("get-peers", "put-immutable", "get-immutable", "put-mutable") and not o["pos"]:
        sys.stderr.write(__doc__)
        return 2
    d = Dht(o)
    out({"event": "ready", "port": d.port, "id": d.nid.hex()})
    if d.port == 0:
        out({"event": "error", "message": "did not listen"})
        return 1
    if mode == "node":
        return run_node(d, o)
    if mode in ("seed", "get"):
        return run_torrent(d, o, mode)
    return {
        "get-peers": run_get_peers,
        "put-immutable": run_put_immutable,
        "get-immutable": run_get_immutable,
        "put-mutable": run_put_mutable,
        "get-mutable": run_get_mutable,
    }[mode](d, o)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

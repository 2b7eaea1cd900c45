#!/usr/bin/python3
"""lt.py - tiny CLI around python3-libtorrent (2.0.x) used by shoal's interop tests.

Run with Debian's interpreter (the binding lives in /usr/lib/python3/dist-packages):

    /usr/bin/python3 test/interop/tools/lt.py create <path> <out.torrent> [--v1|--v2|--hybrid] [--piece-length N]
    /usr/bin/python3 test/interop/tools/lt.py info <file.torrent>
    /usr/bin/python3 test/interop/tools/lt.py recheck <file.torrent> <save_dir>

Every invocation prints exactly one JSON object on stdout.
  create  -> {"infoHash": v1 hex|null, "infoHashV2": v2 64-hex|null}
             Hybrid is libtorrent's default. The outer "creation date" key is removed so the
             output is byte-for-byte deterministic; no "created by" is written.
  info    -> {"infoHash", "infoHashV2", "name", "length" (sum of non-pad files), "pieceLength",
              "pieceCount", "files": [{"path", "relPath", "length", "pad"}]}
             "path" is libtorrent's file_path() (multi-file torrents: starts with "<name>/");
             "relPath" is the same path relative to the torrent root. Pad files are listed
             (pad: true); note libtorrent also synthesises pad files for v2-only torrents.
  recheck -> {"ok", "numPieces", "havePieces", "missing": [piece indices], "errors": str|null}
             Adds the torrent to a local-only session (no DHT/LSD/UPnP/NAT-PMP, listening on
             127.0.0.1) in upload mode, forces a recheck, waits (<= 120 s) for it to finish.
Exit codes: 0 success, 1 other failure, 2 usage error, 3 .torrent could not be loaded.
Failures still print one JSON object: {"error": "..."}.
"""
import json
import os
import sys
import time

try:
    import libtorrent as lt
except ImportError as e:  # pragma: no cover - environment problem
    print(json.dumps({"error": "cannot import libtorrent: %s (use /usr/bin/python3)" % e}))
    sys.exit(1)

CHECK_TIMEOUT = 120.0


class Fail(Exception):
    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.code = code


def text(v):
    """bytes|str -> str (invalid UTF-8 is escaped rather than crashing)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape").encode("utf-8", "backslashreplace").decode()
    return str(v)


def hashes(ih):
    """libtorrent info_hash_t -> (v1 hex | None, v2 hex | None)."""
    v1 = ih.v1.to_bytes().hex() if ih.has_v1() else None
    v2 = ih.v2.to_bytes().hex() if ih.has_v2() else None
    return v1, v2


def load(path):
    try:
        return lt.torrent_info(path)
    except Exception as e:  # RuntimeError / bdecode errors from the binding
        raise Fail("cannot load %s: %s" % (path, text(e)), 3)


def cmd_create(args):
    if len(args) < 2:
        raise Fail("usage: create <path> <out.torrent> [--v1|--v2|--hybrid] [--piece-length N]", 2)
    src, out, rest = os.path.abspath(args[0]), args[1], args[2:]
    flags, piece_length = 0, 0  # 0 = hybrid (lt 2.0 default), 0 = automatic piece size
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--v1":
            flags = lt.create_torrent.v1_only
        elif a == "--v2":
            flags = lt.create_torrent.v2_only
        elif a == "--hybrid":
            flags = 0
        elif a == "--piece-length" and i + 1 < len(rest):
            i += 1
            if not rest[i].isdigit():
                raise Fail("--piece-length needs a number", 2)
            piece_length = int(rest[i])
        else:
            raise Fail("unknown create option: %s" % a, 2)
        i += 1
    if not os.path.exists(src):
        raise Fail("no such file or directory: %s" % src)
    fs = lt.file_storage()
    lt.add_files(fs, src)
    if fs.num_files() == 0:
        raise Fail("no files found under %s" % src)
    ct = lt.create_torrent(fs, piece_length, flags=flags)
    lt.set_piece_hashes(ct, os.path.dirname(src))
    meta = ct.generate()
    meta.pop(b"creation date", None)  # the binding has no set_creation_date(); keep output stable
    with open(out, "wb") as f:
        f.write(lt.bencode(meta))
    ti = load(out)
    if piece_length and ti.piece_length() != piece_length:  # libtorrent silently adjusts bad sizes
        os.remove(out)
        raise Fail("piece length %d not usable (libtorrent chose %d; v2/hybrid need a power of two >= 16384)"
                   % (piece_length, ti.piece_length()), 2)
    v1, v2 = hashes(ti.info_hashes())
    return {"infoHash": v1, "infoHashV2": v2}


def cmd_info(args):
    if len(args) != 1:
        raise Fail("usage: info <file.torrent>", 2)
    ti = load(args[0])
    v1, v2 = hashes(ti.info_hashes())
    fs = ti.files()
    name = text(ti.name())
    files, total = [], 0
    for i in range(fs.num_files()):
        path = text(fs.file_path(i)).replace(os.sep, "/")
        rel = path[len(name) + 1:] if path.startswith(name + "/") else path
        pad = bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)
        size = fs.file_size(i)
        if not pad:
            total += size
        files.append({"path": path, "relPath": rel, "length": size, "pad": pad})
    return {
        "infoHash": v1,
        "infoHashV2": v2,
        "name": name,
        "length": total,
        "pieceLength": ti.piece_length(),
        "pieceCount": ti.num_pieces(),
        "files": files,
    }


def wait_checked(ses, h, deadline, errors):
    """Pump alerts until the check finishes (True) or the torrent hits an error (False)."""
    while time.time() < deadline:
        ses.wait_for_alert(500)
        for a in ses.pop_alerts():
            if isinstance(a, lt.torrent_checked_alert):
                return True
            if isinstance(a, (lt.file_error_alert, lt.torrent_error_alert, lt.fastresume_rejected_alert)):
                errors.append(text(a.message()))
        if errors or h.status().errc.value() != 0:  # a failed check never posts torrent_checked
            return False
    raise Fail("timeout (%ds) waiting for the check to finish" % CHECK_TIMEOUT)


def cmd_recheck(args):
    if len(args) != 2:
        raise Fail("usage: recheck <file.torrent> <save_dir>", 2)
    ti = load(args[0])
    ses = lt.session({
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "listen_interfaces": "127.0.0.1:0",
        "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
                      | lt.alert.category_t.storage_notification,
    })
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = os.path.abspath(args[1])
    # upload_mode: never requests pieces; not auto-managed so the queue can't pause it.
    atp.flags = lt.torrent_flags.upload_mode | lt.torrent_flags.disable_dht \
        | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
    deadline = time.time() + CHECK_TIMEOUT
    errors = []
    h = ses.add_torrent(atp)
    # Adding without resume data triggers an initial check; wait for it, then force a fresh one.
    if wait_checked(ses, h, deadline, errors):
        h.force_recheck()
        wait_checked(ses, h, deadline, errors)
    st = h.status(lt.status_flags_t.query_pieces)
    if st.errc.value() != 0 and not errors:
        errors.append("%s%s" % (text(st.errc.message()), (" (file %d)" % st.error_file) if st.error_file >= 0 else ""))
    pieces = list(st.pieces)
    missing = [i for i, have in enumerate(pieces) if not have]
    return {
        "ok": not missing and not errors,
        "numPieces": ti.num_pieces(),
        "havePieces": len(pieces) - len(missing),
        "missing": missing,
        "errors": "; ".join(errors) if errors else None,
    }


COMMANDS = {"create": cmd_create, "info": cmd_info, "recheck": cmd_recheck}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(json.dumps({"error": "usage: lt.py {create|info|recheck} ..."}))
        return 2
    try:
        result = COMMANDS[argv[1]](argv[2:])
    except Fail as e:
        print(json.dumps({"error": str(e)}))
        return e.code
    except Exception as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, text(e))}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env bash
# IPv6 on real sockets (BEP 32), inside a network namespace of its own so nothing leaves the machine:
#  1. three `shoal dht --ipv6` nodes, then announce (as a seed), get-peers, scrape and a BEP 44
#     put/get through them;
#  2. dual stack: a seeder that runs both DHTs (it sees a global IPv6 address on a veth, so IPv6 is on
#     by default) and a leecher allowed to use IPv6 only, which finds the seeder through the IPv6 DHT
#     from a magnet link and downloads over IPv6.
# Needs root (ip netns) and a build (npm run build). Usage: sudo scripts/ipv6-dht-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NS=shoal-ipv6-check-$$
W=$(mktemp -d)
ip netns add "$NS"
trap 'ip netns del "$NS"; rm -rf "$W"' EXIT
ip netns exec "$NS" env W="$W" bash -euo pipefail -c '
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip link set v1 up
  ip -6 addr add 2001:db8::1/64 dev v0 nodad
  ip link set v0 up
  S=bin/shoal.js
  pids=()
  # Stop the nodes and wait for them: they save their tables as they exit, into $W.
  trap "kill \${pids[*]} 2>/dev/null; wait 2>/dev/null || true" EXIT

  echo "== 1. the IPv6 DHT"
  export SHOAL_NET_ALLOW=::1/128
  B=(--ipv6 --host ::1 --bootstrap "[::1]:7001" --json)
  SHOAL_HOME=$W/a node $S dht --ipv6 --host ::1 --port 7001 --json > $W/a.log & pids+=($!)
  sleep 0.5
  SHOAL_HOME=$W/b node $S dht --port 7002 "${B[@]}" > $W/b.log & pids+=($!)
  SHOAL_HOME=$W/c node $S dht --port 7003 "${B[@]}" > $W/c.log & pids+=($!)
  sleep 2
  IH=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d " \n")
  SHOAL_HOME=$W/o node $S dht announce $IH --seed --peer-port 51413 "${B[@]}"
  SHOAL_HOME=$W/o node $S dht get-peers $IH "${B[@]}" | tee $W/gp.json
  grep -q "\[::1\]:51413" $W/gp.json
  SHOAL_HOME=$W/o node $S dht scrape $IH "${B[@]}"
  T=$(SHOAL_HOME=$W/o node $S dht put "hello over ipv6" "${B[@]}" | sed "s/.*\"target\":\"\([0-9a-f]*\)\".*/\1/")
  SHOAL_HOME=$W/o node $S dht get $T "${B[@]}" | tee $W/get.json
  grep -q "hello over ipv6" $W/get.json

  echo "== 2. dual stack: an IPv6-only leecher finds a dual-stack seeder through the IPv6 DHT"
  export SHOAL_NET_ALLOW=127.0.0.0/8,2001:db8::/64
  head -c 20000000 /dev/urandom > $W/file.bin
  node $S create $W/file.bin -o $W/file.torrent > /dev/null
  MAG=$(node $S info $W/file.torrent --json | sed "s/.*\"magnet\":\"\([^\"]*\)\".*/\1/")
  SHOAL_HOME=$W/b4 node $S dht --port 7100 --host 127.0.0.1 --json > $W/b4.log & pids+=($!)
  SHOAL_HOME=$W/b6 node $S dht --ipv6 --port 7101 --host 2001:db8::1 --json > $W/b6.log & pids+=($!)
  sleep 0.5
  SHOAL_HOME=$W/seed node $S seed $W/file.torrent -d $W --bootstrap 127.0.0.1:7100 --bootstrap "[2001:db8::1]:7101" --json > $W/seed.log 2>&1 & pids+=($!)
  sleep 2
  SHOAL_NET_ALLOW=2001:db8::/64 SHOAL_HOME=$W/get timeout 60 node $S get "$MAG" -o $W/out --bootstrap "[2001:db8::1]:7101" --json > $W/dl.log
  grep "\"event\":\"peer\"" $W/dl.log | head -1
  cmp $W/file.bin $W/out/file.bin
  echo "identical: downloaded over IPv6 from a peer found in the IPv6 DHT"
'

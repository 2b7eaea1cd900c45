#!/usr/bin/env bash
# The IPv6 DHT (BEP 32) on real sockets, inside a network namespace of its own (so nothing leaves the
# machine and the host's loopback rules do not apply): three `shoal dht --ipv6` nodes on [::1], then
# announce (as a seed), get-peers, scrape and a BEP 44 put/get through them. Needs root (ip netns).
# Usage: sudo scripts/ipv6-dht-check.sh   (after npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
NS=shoal-ipv6-check-$$
ip netns add "$NS"
trap 'ip netns del "$NS"' EXIT
ip netns exec "$NS" ip link set lo up
W=$(mktemp -d)
ip netns exec "$NS" env SHOAL_NET_ALLOW=::1/128 W="$W" bash -euo pipefail -c '
  S=bin/shoal.js
  B=(--ipv6 --host ::1 --bootstrap "[::1]:7001" --json)
  SHOAL_HOME=$W/a node $S dht --ipv6 --host ::1 --port 7001 --json > $W/a.log & A=$!
  sleep 0.5
  SHOAL_HOME=$W/b node $S dht --port 7002 "${B[@]}" > $W/b.log & P2=$!
  SHOAL_HOME=$W/c node $S dht --port 7003 "${B[@]}" > $W/c.log & P3=$!
  sleep 2
  IH=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d " \n")
  SHOAL_HOME=$W/o node $S dht announce $IH --seed --peer-port 51413 "${B[@]}"
  SHOAL_HOME=$W/o node $S dht get-peers $IH "${B[@]}"
  SHOAL_HOME=$W/o node $S dht scrape $IH "${B[@]}"
  T=$(SHOAL_HOME=$W/o node $S dht put "hello over ipv6" "${B[@]}" | sed "s/.*\"target\":\"\([0-9a-f]*\)\".*/\1/")
  SHOAL_HOME=$W/o node $S dht get $T "${B[@]}"
  kill $A $P2 $P3
'
rm -rf "$W"

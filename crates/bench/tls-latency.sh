#!/usr/bin/env bash
# Workload 2 of compare-ngircd.sh alone (1,000 clients in one room, one
# sender at 1,000 msg/s), alternating TLS and plain TCP four times, each run
# against a fresh server pinned to core 0 (generator on core 1): the spread
# of what TLS costs in latency, side by side on the same machine.
#
# usage: crates/bench/tls-latency.sh   (builds the release binaries first)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p huddle-chat-server -p huddle-chat-bench >&2
ulimit -n "$(ulimit -Hn)"
for round in 1 2 3 4; do
for mode in tls plain; do
  taskset -c 0 target/release/huddle-server --bind 127.0.0.1:17007 --no-discovery --ephemeral --no-rate-limit --insecure-plaintext \
    --max-clients 100000 --max-clients-per-ip 100000 --max-pending-handshakes-per-ip 100000 --log warn >/dev/null 2>&1 &
  pid=$!
  sleep 1
  extra=""; [ $mode = plain ] && extra="--insecure-plaintext"
  taskset -c 1 target/release/huddle-bench --server 127.0.0.1:17007 --pid $pid --connect-parallel 8 --clients 1000 --rooms 1 --senders 1 --size 64 --rate 1000 --duration 5 --json $extra 2>/dev/null | python3 -c "import json,sys; r=json.load(sys.stdin); print('$round $mode p50', r['latency_us_p50'], 'p99', r['latency_us_p99'], 'lost', r['lost'])"
  kill $pid; wait $pid 2>/dev/null || true
done
done

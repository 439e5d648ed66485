#!/usr/bin/env bash
# Runs the same four workloads against Debian's ngircd and against
# huddle-server, one after the other, on loopback, and prints each figure
# side by side with the ratio. Server pinned to core 0, generator to core 1.
# huddle runs twice per workload, each against a fresh server: over TLS
# (what users run) and over plain TCP (--insecure-plaintext), so the last
# column is what TLS costs; and a fourth time through its IRC gateway
# (--irc-bind), with the same IRC generator as ngircd.
# Then what users run: the durable store (redb, the default) against the
# in-memory one, both over TLS without the rate limit, for workload 1 and
# for many writers (workload 5: 1,000 clients in 100 rooms, every client
# sending as fast as acknowledged); the durable server's commit latency
# histogram (from its /metrics) follows the table.
#
# usage: crates/bench/compare-ngircd.sh [--quick]
#   --quick  shorter runs and 2,000 idle connections instead of 10,000
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=${1:-}
duration=5
idle_clients=10000
[ "$quick" = "--quick" ] && { duration=2; idle_clients=2000; }

if ! command -v ngircd >/dev/null 2>&1; then
    echo "installing ngircd" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ngircd >/dev/null
fi
# The ngircd package starts a system instance on 6667; ours uses its own port.
systemctl stop ngircd 2>/dev/null || service ngircd stop 2>/dev/null || true

cargo build --release -p huddle-chat-server -p huddle-chat-bench >&2
bench=target/release/huddle-bench
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
# Room for 10,000 connections on each side (the hard limit permitting).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

source crates/bench/ngircd.sh
ngircd_conf bench 16667 >"$work/ngircd.conf"

start_servers() {
    taskset -c 0 ngircd -n -f "$work/ngircd.conf" >"$work/ngircd.log" 2>&1 &
    ngircd_pid=$!
    pids+=("$ngircd_pid")
    taskset -c 0 target/release/huddle-server --bind 127.0.0.1:17007 --irc-bind 127.0.0.1:16668 --no-discovery --ephemeral --no-rate-limit --insecure-plaintext \
        --max-clients 100000 --max-clients-per-ip 100000 --max-pending-handshakes-per-ip 100000 --log warn >"$work/huddle.log" 2>&1 &
    huddle_pid=$!
    pids+=("$huddle_pid")
    sleep 1
}

stop_servers() {
    kill "$ngircd_pid" "$huddle_pid" 2>/dev/null || true
    # ngircd can spend minutes closing 10,000 connections: give each server
    # 5 s to exit, then kill it.
    for _ in $(seq 50); do
        kill -0 "$ngircd_pid" 2>/dev/null || kill -0 "$huddle_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$ngircd_pid" "$huddle_pid" 2>/dev/null || true
    wait "$ngircd_pid" "$huddle_pid" 2>/dev/null || true
}

# start_huddle_only KIND: one huddle-server over TLS on 17009, KIND
# ephemeral or durable (its store in $work/store, /metrics on 17080).
start_huddle_only() {
    local store=(--ephemeral)
    [ "$1" = durable ] && { rm -rf "$work/store"; store=(--data-dir "$work/store" --http 127.0.0.1:17080); }
    taskset -c 0 target/release/huddle-server --bind 127.0.0.1:17009 --no-discovery "${store[@]}" --no-rate-limit \
        --max-clients 100000 --max-clients-per-ip 100000 --max-pending-handshakes-per-ip 100000 --log warn >"$work/store.log" 2>&1 &
    huddle_pid=$!
    ngircd_pid=$huddle_pid
    pids+=("$huddle_pid")
    sleep 1
}

# run_stores NAME ARGS...: the workload against an ephemeral and then a
# durable server (fresh ones); the durable one's /metrics kept.
run_stores() {
    local name=$1 kind
    shift
    for kind in ephemeral durable; do
        start_huddle_only "$kind"
        taskset -c 1 "$bench" --protocol huddle --server 127.0.0.1:17009 --pid "$huddle_pid" --connect-parallel 8 \
            --label "$name" --json "$@" >"$work/$name.$kind.json" 2>"$work/$name.$kind.err" \
            || { cat "$work/$name.$kind.err" >&2; echo '{}' >"$work/$name.$kind.json"; }
        [ "$kind" = durable ] && { curl -fsS http://127.0.0.1:17080/metrics >"$work/$name.metrics" 2>/dev/null || true; }
        stop_servers
    done
}

# run NAME ARGS...: runs the workload against both servers (fresh ones, so
# memory figures are not polluted by earlier runs).
run() {
    local name=$1
    shift
    start_servers
    taskset -c 1 "$bench" --protocol irc --server 127.0.0.1:16667 --pid "$ngircd_pid" --connect-parallel 8 \
        --label "$name" --json "$@" >"$work/$name.irc.json" 2>"$work/$name.irc.err" \
        || { cat "$work/$name.irc.err" >&2; echo '{}' >"$work/$name.irc.json"; }
    taskset -c 1 "$bench" --protocol huddle --server 127.0.0.1:17007 --pid "$huddle_pid" --connect-parallel 8 \
        --label "$name" --json "$@" >"$work/$name.huddle.json" 2>"$work/$name.huddle.err" \
        || { cat "$work/$name.huddle.err" >&2; echo '{}' >"$work/$name.huddle.json"; }
    stop_servers
    start_servers
    taskset -c 1 "$bench" --protocol huddle --server 127.0.0.1:17007 --pid "$huddle_pid" --connect-parallel 8 \
        --insecure-plaintext --label "$name" --json "$@" >"$work/$name.plain.json" 2>"$work/$name.plain.err" \
        || { cat "$work/$name.plain.err" >&2; echo '{}' >"$work/$name.plain.json"; }
    stop_servers
    # The same server's IRC gateway, with the same IRC generator as ngircd.
    start_servers
    taskset -c 1 "$bench" --protocol irc --server 127.0.0.1:16668 --pid "$huddle_pid" --connect-parallel 8 \
        --label "$name" --json "$@" >"$work/$name.gw.json" 2>"$work/$name.gw.err" \
        || { cat "$work/$name.gw.err" >&2; echo '{}' >"$work/$name.gw.json"; }
    stop_servers
}

echo "workload 1: 1,000 clients, one room, one sender as fast as delivered, 64 B" >&2
run w1 --clients 1000 --rooms 1 --senders 1 --size 64 --window 1024 --duration "$duration"
echo "workload 2: the same at a fixed 1,000 msg/s" >&2
run w2 --clients 1000 --rooms 1 --senders 1 --size 64 --rate 1000 --duration "$duration"
echo "workload 3: 100 rooms of 10, every client sending 1 msg/s" >&2
run w3 --clients 1000 --rooms 100 --senders 1000 --size 64 --rate 1 --duration "$((duration * 2))"
echo "workload 4: $idle_clients idle connections" >&2
run w4 --clients "$idle_clients" --rooms "$((idle_clients / 10))" --idle --duration 2 --source-ips 8
echo "workload 1 and 5 against the in-memory and the durable store" >&2
run_stores s1 --clients 1000 --rooms 1 --senders 1 --size 64 --window 1024 --duration "$duration"
run_stores s5 --clients 1000 --rooms 100 --senders 1000 --size 64 --window 4 --duration "$duration"

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
rows = [
    ("w1", "deliveries_per_second", "1: deliveries/s (1,000 clients, max rate)", True),
    ("w1", "lost", "1: lost", False),
    ("w1", "connects_per_second", "1: connects/s (TCP+TLS+Hello+Join)", True),
    ("w2", "latency_us_p50", "2: latency p50 µs (1,000 msg/s)", False),
    ("w2", "latency_us_p99", "2: latency p99 µs", False),
    ("w2", "latency_us_p999", "2: latency p99.9 µs", False),
    ("w3", "latency_us_p99", "3: latency p99 µs (100 rooms × 10)", False),
    ("w3", "server_cpu_percent", "3: server CPU % of one core", False),
    ("w4", "server_bytes_per_connection", "4: server bytes per idle connection", False),
]
def ratio(a, b):
    ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and b
    return f"{a / b:.2f}" if ok else "-"
fmt = lambda v: "-" if v is None else (f"{v:,.0f}" if isinstance(v, (int, float)) else str(v))
print(f"{'figure':<42} {'ngircd':>12} {'huddle TLS':>12} {'huddle plain':>12} {'IRC gateway':>12} {'TLS/ngircd':>11} {'TLS/plain':>10} {'gw/ngircd':>10}")
for workload, key, title, _ in rows:
    irc = json.load(open(f"{work}/{workload}.irc.json")).get(key)
    tls = json.load(open(f"{work}/{workload}.huddle.json")).get(key)
    plain = json.load(open(f"{work}/{workload}.plain.json")).get(key)
    gw = json.load(open(f"{work}/{workload}.gw.json")).get(key)
    print(f"{title:<42} {fmt(irc):>12} {fmt(tls):>12} {fmt(plain):>12} {fmt(gw):>12} {ratio(tls, irc):>11} {ratio(tls, plain):>10} {ratio(gw, irc):>10}")

print()
print("huddle over TLS, no rate limit: the in-memory store against the durable one (the default)")
print(f"{'figure':<52} {'in memory':>12} {'durable':>12} {'durable/mem':>12}")
stores = [
    ("s1", "deliveries_per_second", "1: deliveries/s (1,000 clients, max rate)"),
    ("s1", "latency_us_p99", "1: latency p99 µs"),
    ("s5", "messages_per_second", "5: messages accepted/s (100 rooms, all send)"),
    ("s5", "latency_us_p99", "5: latency p99 µs (send to delivery)"),
]
for workload, key, title in stores:
    mem = json.load(open(f"{work}/{workload}.ephemeral.json")).get(key)
    disk = json.load(open(f"{work}/{workload}.durable.json")).get(key)
    print(f"{title:<52} {fmt(mem):>12} {fmt(disk):>12} {ratio(disk, mem):>12}")

# The durable server's group commits during workload 5, from /metrics.
buckets, total, count = [], 0.0, 0
try:
    for line in open(f"{work}/s5.metrics"):
        if line.startswith("huddle_store_commit_seconds_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            buckets.append((bound, int(float(line.split()[-1]))))
        elif line.startswith("huddle_store_commit_seconds_sum"):
            total = float(line.split()[-1])
        elif line.startswith("huddle_store_commit_seconds_count"):
            count = int(float(line.split()[-1]))
except OSError:
    pass
if count:
    print()
    print(f"commit latency, workload 5, durable: {count:,} group commits, mean {total / count * 1e3:.2f} ms")
    previous = 0
    for bound, cumulative in buckets:
        if cumulative > previous:
            print(f"  ≤ {bound:>8} s: {cumulative - previous:>8,} commits ({cumulative / count:6.1%} cumulative)")
        previous = cumulative
PY

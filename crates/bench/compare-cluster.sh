#!/usr/bin/env bash
# What the broker hop costs: the same workloads against one huddle-server
# (its default durable store, no broker), a one-node cluster and a
# three-node cluster (clients spread over the nodes), all through a real
# nats-server with JetStream on loopback, over TLS. Every server (and
# nats-server) on core 0, the generator on core 1; the configurations run
# in turn, each against fresh servers, ROUNDS times, so the spread shows.
# Beside them, IRC's answer to the same question: one ngircd, and two
# ngircd servers linked to each other on loopback (clients spread over
# both), loaded by the same generator speaking IRC (no TLS, no broker).
#
# usage: crates/bench/compare-cluster.sh [ROUNDS]   (default 3)
#   CONFIGS="cluster3 ngircd2" runs only those configurations;
#   HUDDLE_SERVER=PATH runs that huddle-server binary (an older build, to
#   compare two builds in one sitting).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
source tests/lib.sh
ensure_command nats-server nats-server || { echo "SKIPPED: nats-server cannot be installed here"; exit 0; }
nats_server=$(command -v nats-server)
ensure_command ngircd ngircd || { echo "SKIPPED: ngircd cannot be installed here"; exit 0; }
# The package starts a system instance on 6667; ours use their own ports.
systemctl stop ngircd 2>/dev/null || service ngircd stop 2>/dev/null || true

cargo build --release -p huddle-chat-server -p huddle-chat-bench >&2
bench=target/release/huddle-bench
server=${HUDDLE_SERVER:-target/release/huddle-server}
configs=${CONFIGS:-single cluster1 cluster3 ngircd1 ngircd2}
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
source crates/bench/ngircd.sh

limits=(--no-discovery --no-rate-limit --max-clients 100000 --max-clients-per-ip 100000
    --max-pending-handshakes-per-ip 100000 --log warn)

# start CONFIG: starts the servers of CONFIG, sets $addrs.
start() {
    rm -rf "$work/nats" "$work/data"
    case $1 in
    single)
        taskset -c 0 "$server" --bind 127.0.0.1:17301 --data-dir "$work/data" "${limits[@]}" >"$work/single.log" 2>&1 &
        pids+=($!)
        addrs=127.0.0.1:17301
        ;;
    cluster1 | cluster3)
        taskset -c 0 "$nats_server" -js -sd "$work/nats" -a 127.0.0.1 -p 14222 >"$work/nats.log" 2>&1 &
        pids+=($!)
        sleep 0.5
        local count=${1#cluster}
        addrs=
        for i in $(seq "$count"); do
            taskset -c 0 "$server" --bind "127.0.0.1:1731$i" --cluster nats://127.0.0.1:14222 "${limits[@]}" >"$work/node$i.log" 2>&1 &
            pids+=($!)
            addrs=${addrs:+$addrs,}127.0.0.1:1731$i
        done
        ;;
    ngircd1 | ngircd2)
        ngircd_conf a 16671 b 16672 >"$work/a.conf"
        ngircd_conf b 16672 a >"$work/b.conf"
        taskset -c 0 ngircd -n -f "$work/a.conf" >"$work/a.log" 2>&1 &
        pids+=($!)
        addrs=127.0.0.1:16671
        if [ "$1" = ngircd2 ]; then
            taskset -c 0 ngircd -n -f "$work/b.conf" >"$work/b.log" 2>&1 &
            pids+=($!)
            addrs=$addrs,127.0.0.1:16672
            wait_until "grep -q 'Synchronization with \"b.irc\" done' '$work/a.log'" 20 \
                || { echo "the two ngircd servers did not link" >&2; cat "$work/a.log" >&2; exit 1; }
        fi
        ;;
    esac
    for addr in ${addrs//,/ }; do
        wait_until "(exec 3<>/dev/tcp/${addr%:*}/${addr#*:}) 2>/dev/null" 20 || { echo "$1 did not start" >&2; exit 1; }
    done
}

stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}

# run CONFIG ROUND NAME ARGS...
run() {
    local config=$1 round=$2 name=$3
    shift 3
    start "$config"
    local protocol=(--protocol huddle)
    [[ $config == ngircd* ]] && protocol=(--protocol irc)
    taskset -c 1 "$bench" "${protocol[@]}" --server "$addrs" --connect-parallel 8 --label "$name" --json "$@" \
        >"$work/$name.$config.$round.json" 2>"$work/$name.$config.$round.err" \
        || { cat "$work/$name.$config.$round.err" >&2; echo '{}' >"$work/$name.$config.$round.json"; }
    stop
}

for round in $(seq "$rounds"); do
    for config in $configs; do
        echo "round $round: $config" >&2
        run "$config" "$round" w1 --clients 1000 --rooms 1 --senders 1 --size 64 --window 1024 --duration 5
        run "$config" "$round" w2 --clients 1000 --rooms 1 --senders 1 --size 64 --rate 1000 --duration 5
        run "$config" "$round" w3 --clients 1000 --rooms 100 --senders 1000 --size 64 --window 8 --duration 5
    done
done

python3 - "$work" "$rounds" <<'PY'
import json, sys, statistics
work, rounds = sys.argv[1], int(sys.argv[2])
rows = [
    ("w1", "deliveries_per_second", "1: deliveries/s (1,000 clients, 1 room)"),
    ("w1", "lost", "1: lost"),
    ("w1", "duplicated", "1: duplicated"),
    ("w1", "disconnected", "1: clients dropped by a server (slow)"),
    ("w2", "latency_us_p50", "2: latency p50 µs (1,000 msg/s)"),
    ("w2", "latency_us_p99", "2: latency p99 µs"),
    ("w3", "messages_per_second", "3: messages accepted/s (100 rooms, all send)"),
    ("w3", "latency_us_p99", "3: latency p99 µs"),
]
def values(workload, config, key):
    out = []
    for r in range(1, rounds + 1):
        try:
            v = json.load(open(f"{work}/{workload}.{config}.{r}.json")).get(key)
        except OSError:
            continue
        if isinstance(v, (int, float)):
            out.append(v)
    return out
def cell(vs):
    if not vs:
        return "-"
    m = statistics.median(vs)
    return f"{m:,.0f} ({min(vs):,.0f}–{max(vs):,.0f})" if len(vs) > 1 else f"{m:,.0f}"
print(f"median (min–max) of {rounds} rounds")
configs = ("single", "cluster1", "cluster3", "ngircd1", "ngircd2")
heads = ("one server", "1-node cluster", "3-node cluster", "one ngircd", "2 linked ngircd")
print(f"{'figure':<46}" + "".join(f" {h:>26}" for h in heads))
for workload, key, title in rows:
    cells = [cell(values(workload, c, key)) for c in configs]
    print(f"{title:<46}" + "".join(f" {c:>26}" for c in cells))
PY

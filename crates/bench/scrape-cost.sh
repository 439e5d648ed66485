#!/usr/bin/env bash
# What scraping /metrics costs the relay: workload 1 of compare-ngircd.sh
# (1,000 clients over TLS in one room, one sender as fast as delivered,
# 64 B) against a server with --http, alternating "nobody scrapes" and
# "/metrics scraped 100 times a second" ROUNDS times, each against a fresh
# server pinned to core 0 (generator and scraper on core 1).
#
# usage: crates/bench/scrape-cost.sh [ROUNDS] [SECONDS]   (builds the release binaries first)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3} seconds=${2:-5}
cargo build --release -p huddle-chat-server -p huddle-chat-bench >&2
ulimit -n "$(ulimit -Hn)"

# 100 GETs of /metrics a second on one kept-alive connection; prints how
# many were answered when stopped.
scraper=$(mktemp)
trap 'rm -f "$scraper" "$scraper.out"' EXIT
cat >"$scraper" <<'PY'
import http.client, signal, sys, time
port = int(sys.argv[1])
done, start = 0, time.monotonic()
def stop(*_):
    print(done, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
while time.monotonic() - start < 600:
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        response.read()
        done += response.status == 200
    except (OSError, http.client.HTTPException):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    time.sleep(max(0.0, start + (done + 1) / 100 - time.monotonic()))
stop()
PY

for round in $(seq "$rounds"); do
    for mode in quiet scraped; do
        taskset -c 0 target/release/huddle-server --bind 127.0.0.1:17007 --http 127.0.0.1:17080 --no-discovery \
            --ephemeral --no-rate-limit --max-clients 100000 --max-clients-per-ip 100000 \
            --max-pending-handshakes-per-ip 100000 --log warn >/dev/null 2>&1 &
        pid=$!
        sleep 1
        scrapes=-
        if [ "$mode" = scraped ]; then
            # Connecting 1,000 clients takes a few seconds: scrape all along.
            started=$(date +%s.%N)
            taskset -c 1 python3 "$scraper" 17080 >"$scraper.out" &
            scraper_pid=$!
        fi
        result=$(taskset -c 1 target/release/huddle-bench --server 127.0.0.1:17007 --pid "$pid" --connect-parallel 8 \
            --clients 1000 --rooms 1 --senders 1 --size 64 --window 1024 --duration "$seconds" --json 2>/dev/null)
        if [ "$mode" = scraped ]; then
            kill "$scraper_pid" 2>/dev/null || true
            wait "$scraper_pid" 2>/dev/null || true
            scrapes=$(python3 -c "import time; print(f'{$(cat "$scraper.out") / (time.time() - $started):.0f}')")
        fi
        echo "$result" | python3 -c "import json,sys; r=json.load(sys.stdin); print(f'round $round $mode: deliveries/s {r[\"deliveries_per_second\"]:,.0f}  scrapes/s $scrapes  server CPU {r.get(\"server_cpu_percent\", 0):.0f}%  lost {r[\"lost\"]}')"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
    done
done

# The cost of one scrape in server CPU time, with 1,000 clients connected
# (idle, in 100 rooms): 2,000 scrapes back to back, the server's CPU time
# (utime + stime from /proc) read before and after.
taskset -c 0 target/release/huddle-server --bind 127.0.0.1:17007 --http 127.0.0.1:17080 --no-discovery \
    --ephemeral --no-rate-limit --max-clients 100000 --max-clients-per-ip 100000 \
    --max-pending-handshakes-per-ip 100000 --log warn >/dev/null 2>&1 &
pid=$!
sleep 1
taskset -c 1 target/release/huddle-bench --server 127.0.0.1:17007 --pid "$pid" --connect-parallel 8 \
    --clients 1000 --rooms 100 --idle --duration 20 --json >/dev/null 2>&1 &
bench_pid=$!
until curl -s 127.0.0.1:17080/metrics | grep -q '^huddle_clients 1000$'; do sleep 0.5; done
taskset -c 1 python3 - "$pid" <<'PY'
import http.client, os, sys
pid = sys.argv[1]
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
conn = http.client.HTTPConnection("127.0.0.1", 17080)
before, n, size = cpu(), 2000, 0
for _ in range(n):
    conn.request("GET", "/metrics")
    size = len(conn.getresponse().read())
spent = cpu() - before
print(f"one scrape of {size:,} bytes with 1,000 clients: {spent / n * 1e6:.0f} µs of server CPU; "
      f"100 scrapes/s = {spent / n * 100 * 100:.2f} % of one core")
PY
kill "$bench_pid" "$pid" 2>/dev/null || true
wait "$bench_pid" "$pid" 2>/dev/null || true

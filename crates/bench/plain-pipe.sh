#!/usr/bin/env bash
# A piped log through plain mode, as users run it: a default huddle-server
# (durable, rate-limited: 20 messages a second, a burst of 100, TLS), a
# reader `huddle --plain` in the room, and `seq 1 LINES | huddle --plain`.
# With KILL_AFTER=S the server is SIGKILLed S seconds in and started again
# on the same port and data. Checks that the reader printed 1..LINES once
# each, in order, and that the writer exited 0; prints the time taken.
# Lines that come faster than the rate are batched into messages of several
# lines (crates/client/src/core/batching.rs); tests/plain_binary.rs pipes
# 10,000 lines the same way in .ci/run.
#
# usage: [KILL_AFTER=S] [BIN_DIR=target/debug] crates/bench/plain-pipe.sh [LINES]
# (builds the release binaries first unless BIN_DIR names others)
set -euo pipefail
cd "$(dirname "$0")/../.."
lines=${1:-10000}
if [ -n "${BIN_DIR:-}" ]; then
    bin=$(cd "$BIN_DIR" && pwd)
else
    cargo build --release -p huddle-chat-server -p huddle-chat >&2
    bin=$PWD/target/release
fi
work=$(mktemp -d)
server_pid='' reader_pid='' killer_pid=''
cleanup() {
    [ -n "$killer_pid" ] && kill "$killer_pid" 2>/dev/null || true
    [ -n "$reader_pid" ] && kill "$reader_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_server() {
    "$bin/huddle-server" --bind "127.0.0.1:$port" --no-discovery --data-dir "$work/data" \
        --log warn 2>>"$work/server.log" &
    server_pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "the server did not start" >&2
    exit 1
}
client() { # HOME per client: its own key, config and known servers
    local who=$1
    shift
    mkdir -p "$work/$who"
    HOME=$work/$who XDG_CONFIG_HOME=$work/$who/config XDG_DATA_HOME=$work/$who/data \
        "$bin/huddle" --plain --connect "127.0.0.1:$port" --nick "$who" --room '#pipe' "$@"
}
start_server
# The reader's input stays open as long as this script runs (opened for
# writing after the reader started, so no child inherits the write end).
mkfifo "$work/reader.in"
client reader <"$work/reader.in" >"$work/reader.out" 2>"$work/reader.err" &
reader_pid=$!
exec 7>"$work/reader.in"
for _ in $(seq 100); do
    grep -q "joined" "$work/reader.out" 2>/dev/null && break
    sleep 0.1
done
if [ -n "${KILL_AFTER:-}" ]; then
    (
        sleep "$KILL_AFTER"
        kill -9 "$server_pid"
        sleep 0.5
        start_server
        echo "$server_pid" >"$work/restarted"
        wait
    ) &
    killer_pid=$!
fi
started=$(date +%s.%N)
set +e
seq 1 "$lines" | client writer >"$work/writer.out" 2>"$work/writer.err"
status=$?
set -e
elapsed=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
[ -f "$work/restarted" ] && server_pid=$(cat "$work/restarted")
# The reader has until 30 s after the writer to print the last line.
for _ in $(seq 300); do
    grep -q "<writer> $lines\$" "$work/reader.out" && break
    sleep 0.1
done
received=$(grep -c '<writer> ' "$work/reader.out" || true)
expected=$(seq 1 "$lines" | sed 's/^/[#pipe] <writer> /')
if [ "$status" -ne 0 ] || [ "$(grep '<writer> ' "$work/reader.out")" != "$expected" ]; then
    echo "FAILED: writer exit $status; the reader printed $received line(s) of $lines" >&2
    tail -n 5 "$work/writer.err" "$work/writer.out" >&2
    exit 1
fi
reconnects=$(grep -c 'reconnected' "$work/writer.out" || true)
killed=''
if [ -n "${KILL_AFTER:-}" ]; then
    if [ "$reconnects" -gt 0 ]; then
        killed=", server SIGKILLed at ${KILL_AFTER} s"
    else
        killed=", the writer finished before the kill at ${KILL_AFTER} s (use longer lines or a shorter KILL_AFTER)"
    fi
fi
echo "plain-pipe: $lines lines delivered once and in order in ${elapsed} s ($(python3 -c "print(f'{$lines/$elapsed:.1f}')") lines/s), writer exit 0${killed}"
echo "writer reconnects: $reconnects"

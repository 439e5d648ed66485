#!/usr/bin/env bash
# What a TUI costs its user: the real huddle TUI and weechat side by side,
# each in a 200×50 tmux pane, in one room receiving RATE messages a second
# for SECONDS (sent by huddle-bench; weechat reads the same room through
# huddle-server's IRC gateway), then SECONDS/2 of nothing. Reports each
# one's CPU (% of one core, from /proc/PID/stat) while busy and while idle,
# and its resident memory at the end. The server runs with
# --no-rate-limit so one sender can offer RATE a second.
#
# usage: [HUDDLE_BIN=path] crates/bench/tui-cpu.sh [SECONDS] [RATE]
#        (builds the release binaries first; HUDDLE_BIN measures another
#        build of the TUI, an older commit's say)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60} rate=${2:-1000}
. tests/lib.sh
ensure_command tmux tmux || { echo "tmux is needed" >&2; exit 1; }
ensure_command weechat weechat-curses || { echo "weechat is needed" >&2; exit 1; }
cargo build --release -p huddle-chat -p huddle-chat-server -p huddle-chat-bench >&2
bin=$PWD/target/release
tui=${HUDDLE_BIN:-$bin/huddle}
work=$(mktemp -d)
socket="huddle-tui-cpu-$$"
server_pid=''
cleanup() {
    tmux -L "$socket" kill-server 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) irc_port=$(free_port)
"$bin/huddle-server" --bind "127.0.0.1:$port" --irc-bind "127.0.0.1:$irc_port" --no-discovery \
    --ephemeral --no-rate-limit --log warn 2>"$work/server.log" &
server_pid=$!
wait_until "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null" 10 || { echo "no server" >&2; exit 1; }
pane() { tmux -L "$socket" capture-pane -p -t "$1"; }
mkdir -p "$work/home" "$work/weechat"
tmux -L "$socket" new-session -d -s huddle -x 200 -y 50 \
    "HOME='$work/home' XDG_DATA_HOME='$work/home/data' '$tui' --connect 127.0.0.1:$port --nick tui --room '#bench0' --config '$work/huddle.toml'; sleep 600"
tmux -L "$socket" new-session -d -s weechat -x 200 -y 50 \
    "TERM=screen-256color weechat --dir '$work/weechat' -r '/server add lan 127.0.0.1/$irc_port -nicks=wee -autojoin=#bench0;/connect lan'; sleep 600"
wait_until "pane huddle | grep -q 'You joined #bench0'" 20 || { pane huddle; echo "huddle never joined" >&2; exit 1; }
wait_until "pane weechat | grep -q 'wee.*joined\|#bench0'" 20 || { pane weechat; echo "weechat never joined" >&2; exit 1; }
sleep 2
huddle_pid=$(pgrep -f -- "--nick tui --room #bench0" | head -1)
weechat_pid=$(pgrep -f -- "weechat --dir $work/weechat" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
measure() { # PHASE SECONDS COMMAND...: CPU of both while COMMAND runs (or sleeps)
    local phase=$1 span=$2
    shift 2
    local h0 w0 t0 h1 w1 t1
    h0=$(ticks "$huddle_pid") w0=$(ticks "$weechat_pid") t0=$(date +%s.%N)
    "$@"
    h1=$(ticks "$huddle_pid") w1=$(ticks "$weechat_pid") t1=$(date +%s.%N)
    python3 -c "
wall = $t1 - $t0
print(f'$phase ({wall:.0f} s): huddle {100 * ($h1 - $h0) / $hz / wall:.1f} % of a core, weechat {100 * ($w1 - $w0) / $hz / wall:.1f} %')"
}
send() {
    "$bin/huddle-bench" --server "127.0.0.1:$port" --clients 1 --senders 1 --rate "$rate" \
        --duration "$seconds" --drain 1 --label sender >"$work/bench.out" 2>&1
}
measure "receiving $rate msg/s" "$seconds" send
measure "idle" "$((seconds / 2))" sleep "$((seconds / 2))"
echo "resident memory after: huddle $(( $(rss_kb "$huddle_pid") / 1024 )) MiB, weechat $(( $(rss_kb "$weechat_pid") / 1024 )) MiB"
grep -E "messages sent" "$work/bench.out" || true

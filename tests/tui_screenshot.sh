#!/usr/bin/env bash
# A picture of the real TUI for the README: two huddle TUIs in tmux chat
# through a real huddle-server; alice's screen is captured with its colours
# (tmux capture-pane -e), turned into HTML by aha and photographed by
# headless Chromium. Checks the picture was made (and what it shows, in the
# captured text).
#
# usage: tui_screenshot.sh HUDDLE_BIN HUDDLE_SERVER_BIN [OUT_PNG]
#   bash tests/tui_screenshot.sh target/debug/huddle target/debug/huddle-server assets/screenshots/tui.png
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
huddle=$1 server=$2 out=${3:-}

ensure_command tmux tmux || skip "tmux cannot be installed here"
ensure_command aha aha || skip "aha cannot be installed here"
ensure_command chromium chromium || skip "chromium cannot be installed here"

work=$(mktemp -d)
socket="huddle-shot-$$"
server_pid=
cleanup() {
    tmux -L "$socket" kill-server 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

NO_COLOR=1 "$server" --bind 127.0.0.1:0 --no-discovery --ephemeral --name "3rd floor" >"$work/server.log" 2>&1 &
server_pid=$!
port=$(listening_port "$work/server.log")

start_tui() {
    local nick=$1
    mkdir -p "$work/$nick"
    tmux -L "$socket" new-session -d -s "$nick" -x 100 -y 26 \
        "HOME='$work/$nick' XDG_DATA_HOME='$work/$nick/data' '$huddle' --connect 127.0.0.1:$port --nick $nick \
         --room '#lan' --room '#ops' --config '$work/$nick/config.toml'; sleep 60"
}
pane() { tmux -L "$socket" capture-pane -p -t "$1"; }
say() { tmux -L "$socket" send-keys -t "$1" "$2" Enter; }

start_tui alice
wait_until "pane alice | grep -q '3 #ops'" 15 || { pane alice; echo "alice never joined"; exit 1; }
start_tui bob
wait_until "pane alice | grep -q 'bob joined'" 15 || { pane alice; echo "alice never saw bob"; exit 1; }
# Alt+2: the #lan buffer.
tmux -L "$socket" send-keys -t alice M-2
tmux -L "$socket" send-keys -t bob M-2
say alice '/topic Release 2.4 on Thursday — notes in the wiki'
sleep 0.3
say bob 'morning! the build on main is green again'
sleep 0.3
say alice 'great, thanks bob. can you tag it after lunch?'
sleep 0.3
say bob '/me gives a thumbs up'
sleep 0.3
say bob 'sure — tagging v2.4.0-rc1 at 14:00'
wait_until "pane alice | grep -q 'tagging v2.4.0-rc1'" 15 || { pane alice; echo "alice never got bob's last line"; exit 1; }
sleep 0.5
pane alice >"$work/alice.txt"
grep -q 'thumbs up' "$work/alice.txt" || { cat "$work/alice.txt"; echo "the action is not on screen"; exit 1; }
tmux -L "$socket" capture-pane -e -p -t alice >"$work/alice.ansi"

{
    printf '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
    printf 'body{margin:0;background:#1e1e1e;color:#ddd}pre{margin:0;padding:10px;'
    printf 'font:15px/1.25 "DejaVu Sans Mono",monospace}</style></head><body><pre>'
    aha --no-header --black <"$work/alice.ansi"
    printf '</pre></body></html>'
} >"$work/tui.html"
headless_chromium --hide-scrollbars --window-size=950,510 --screenshot="$work/tui.png" "file://$work/tui.html" \
    || { cat "$work/chrome.log"; echo "chromium failed"; exit 1; }
is_png "$work/tui.png" || { echo "no PNG"; exit 1; }
[ -n "$out" ] && cp "$work/tui.png" "$out"
echo "TUI screenshot: $(stat -c %s "$work/tui.png") bytes"

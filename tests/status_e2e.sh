#!/usr/bin/env bash
# The status side door seen by real tools: a real huddle-server with
# --http, two real plain clients chatting in a room whose name and topic are
# HTML; Prometheus's promtool checks /metrics; headless Chromium renders the
# page, its DOM shows the room (escaped: text, not markup) and a screenshot
# is taken.
#
# usage: status_e2e.sh HUDDLE_BIN HUDDLE_SERVER_BIN [SCREENSHOT_PNG]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
huddle=$1 server=$2 screenshot=${3:-}

ensure_command curl curl || skip "curl is not installed and cannot be installed here"
ensure_command promtool prometheus || skip "promtool (Debian's prometheus) cannot be installed here"
ensure_command chromium chromium || skip "chromium cannot be installed here"

work=$(mktemp -d)
pids=()
cleanup() {
    exec 3>&- 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

NO_COLOR=1 "$server" --bind 127.0.0.1:0 --http 127.0.0.1:0 --no-discovery --ephemeral --name 'lab <b>floor 2</b>' \
    >"$work/server.log" 2>&1 &
pids+=($!)
port=$(listening_port "$work/server.log")
wait_until "grep -q 'status page on' '$work/server.log'" 10 || { cat "$work/server.log"; exit 1; }
http=$(sed -n 's|.*status page on \(http://[^ ]*\)/ .*|\1|p' "$work/server.log" | head -1)
room='#<i>design</i>'

# bob stays in the room (his stdin held open); alice says one line and sets
# a topic, then leaves.
mkfifo "$work/bob.in"
HOME="$work/bob" "$huddle" --plain --connect "127.0.0.1:$port" --nick bob --room "$room" \
    --config "$work/bob.toml" <"$work/bob.in" >"$work/bob.out" 2>&1 &
pids+=($!)
exec 3>"$work/bob.in"
wait_until "grep -q 'joined' '$work/bob.out'" 15 || { cat "$work/bob.out"; echo "bob did not join"; exit 1; }
printf '/topic <script>alert(1)</script> plans\nhello from alice\n' | HOME="$work/alice" "$huddle" --plain \
    --connect "127.0.0.1:$port" --nick alice --room "$room" --config "$work/alice.toml" >"$work/alice.out" 2>&1 \
    || { cat "$work/alice.out"; echo "alice's plain client failed"; exit 1; }
wait_until "grep -q 'hello from alice' '$work/bob.out'" 15 || { cat "$work/bob.out"; echo "bob never got it"; exit 1; }

# Prometheus's own checker on the classic text format, and the same
# samples in OpenMetrics (what a Prometheus server asks for).
curl -sf "$http/metrics" >"$work/metrics.txt"
promtool check metrics <"$work/metrics.txt" || { cat "$work/metrics.txt"; echo "promtool rejected /metrics"; exit 1; }
grep -q '^huddle_messages_accepted_total{kind="room"} 1$' "$work/metrics.txt" \
    || { cat "$work/metrics.txt"; echo "the message is not counted"; exit 1; }
curl -sf -H 'Accept: application/openmetrics-text;version=1.0.0' "$http/metrics" >"$work/openmetrics.txt"
tail -1 "$work/openmetrics.txt" | grep -qx '# EOF' || { echo "OpenMetrics without # EOF"; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$http/healthz")" = 200 ] || { echo "not healthy"; exit 1; }

# A real browser: the DOM holds the room's name and topic as text.
headless_chromium --dump-dom "$http/" >"$work/dom.html" || { cat "$work/chrome.log"; echo "chromium failed"; exit 1; }
grep -qF '#&lt;i&gt;design&lt;/i&gt;' "$work/dom.html" || { cat "$work/dom.html"; echo "room not on the page"; exit 1; }
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt; plans' "$work/dom.html" || { cat "$work/dom.html"; echo "topic not on the page"; exit 1; }
grep -qF 'lab &lt;b&gt;floor 2&lt;/b&gt;' "$work/dom.html" || { echo "server name not on the page"; exit 1; }
if grep -qE '<i>design|<script>alert|<b>floor' "$work/dom.html"; then
    echo "user text became markup"; exit 1
fi
grep -qF '<td class="n">1</td>' "$work/dom.html" || { echo "the room should show bob, still in it"; exit 1; }

if [ -n "$screenshot" ]; then
    # For the README's picture: a few seconds of traffic for the sparklines
    # (40 lines, paced by the client to the server's rate).
    for i in $(seq 1 40); do echo "line $i"; sleep 0.15; done | HOME="$work/carol" "$huddle" --plain \
        --connect "127.0.0.1:$port" --nick carol --room "$room" --room '#ops' --config "$work/carol.toml" \
        >"$work/carol.out" 2>&1 || { cat "$work/carol.out"; echo "carol's plain client failed"; exit 1; }
    sleep 1.2
fi
headless_chromium --screenshot="$work/status.png" --window-size=1000,760 --hide-scrollbars "$http/" \
    || { cat "$work/chrome.log"; echo "no screenshot"; exit 1; }
is_png "$work/status.png" || { echo "the screenshot is not a PNG"; exit 1; }
if [ -n "$screenshot" ]; then
    cp "$work/status.png" "$screenshot"
fi
echo "status page: promtool passed, Chromium rendered the rooms, screenshot $(stat -c %s "$work/status.png") bytes"

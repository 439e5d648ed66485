#!/usr/bin/env bash
# Real huddle TUIs in tmux, talking through a real huddle-server on
# loopback: a message typed in one appears in the other, a CR-separated
# paste arrives as three lines, an away reply reaches the sender where they
# typed, a file offered with /send arrives intact; a TUI hosting a server
# asks before quitting while a guest is connected; both quit cleanly and
# leave their terminals restored (no alternate screen, cursor shown,
# canonical mode and echo back on), and so does a third that panics
# mid-session; each kept a log of the room.
#
# usage: tmux_e2e.sh HUDDLE_BIN HUDDLE_SERVER_BIN [CAPTURE_FILE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
huddle=$1 server=$2 capture=${3:-}

ensure_command tmux tmux || skip "tmux is not installed and cannot be installed here"

work=$(mktemp -d)
socket="huddle-e2e-$$"
server_pid=
guest_pid=
cleanup() {
    tmux -L "$socket" kill-server 2>/dev/null || true
    [ -n "$guest_pid" ] && kill "$guest_pid" 2>/dev/null || true
    exec 4>&- 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

NO_COLOR=1 "$server" --bind 127.0.0.1:0 --no-discovery --ephemeral --name e2e >"$work/server.log" 2>&1 &
server_pid=$!
port=$(listening_port "$work/server.log")

# Each TUI runs in its own tmux session; when it exits, the shell records
# its status and the terminal modes it left behind, then waits.
start_tui() {
    local nick=$1 env=${2:-}
    tmux -L "$socket" new-session -d -s "$nick" -x 100 -y 24 \
        "$env '$huddle' --connect 127.0.0.1:$port --nick $nick --room '#e2e' --config '$work/$nick.toml' --downloads '$work/$nick-downloads'; echo EXIT=\$? > '$work/$nick.exit'; stty -a > '$work/$nick.stty'; sleep 60"
}
pane() { tmux -L "$socket" capture-pane -p -t "$1"; }

mkdir -p "$work/alice-home"
start_tui alice "HOME='$work/alice-home' XDG_DATA_HOME='$work/alice-data'"
wait_until "pane alice | grep -q 'You joined #e2e'" 15 || { pane alice; echo "alice never joined"; exit 1; }
start_tui bob "XDG_DATA_HOME='$work/bob-data'"
wait_until "pane alice | grep -q 'bob joined #e2e'" 15 || { pane alice; echo "alice never saw bob join"; exit 1; }

tmux -L "$socket" send-keys -t alice 'hello from alice, bob — 日本語 😀' Enter
if ! wait_until "pane bob | grep -q 'alice: hello from alice, bob'" 15; then
    pane bob
    echo "bob never received alice's message"
    exit 1
fi
tmux -L "$socket" send-keys -t bob '/me waves back' Enter
wait_until "pane alice | grep -q '\* bob waves back'" 15 || { pane alice; echo "alice never saw bob's action"; exit 1; }
# A URL is drawn as an OSC 8 hyperlink; the terminal shows its text, and
# none of the escape sequence.
tmux -L "$socket" send-keys -t bob 'docs at https://example.com/guide, read them' Enter
wait_until "pane alice | grep -q 'bob: docs at https://example.com/guide, read them'" 15 \
    || { pane alice; echo "alice's pane does not show bob's link as its text"; exit 1; }
pane alice | grep -q ']8;;' && { pane alice; echo "the hyperlink's escape sequence shows on screen"; exit 1; }
if [ -n "$capture" ]; then
    pane alice > "$capture"
fi

# A paste whose lines are separated by CR (as tmux's paste-buffer -p and
# many terminals send them) arrives as three lines, not one run-together.
tmux -L "$socket" set-buffer -b crpaste "$(printf 'paste one\rpaste two\rpaste three')"
tmux -L "$socket" paste-buffer -p -b crpaste -t alice
tmux -L "$socket" send-keys -t alice Enter
wait_until "pane bob | grep -q 'paste three'" 15 || { pane bob; echo "bob never saw the paste"; exit 1; }
pane bob | grep -q 'paste onepaste two' && { pane bob; echo "the pasted lines ran together"; exit 1; }
pane bob | grep -q 'paste two' || { pane bob; echo "the paste's second line is missing"; exit 1; }

# /away: the sender of a direct message is told, once, where they typed.
tmux -L "$socket" send-keys -t bob '/away at lunch' Enter
wait_until "pane alice | grep -q 'bob is away: at lunch'" 15 || { pane alice; echo "alice's room never said bob is away"; exit 1; }
tmux -L "$socket" send-keys -t alice '/msg bob are you there?' Enter
wait_until "pane alice | grep -q 'bob is away: at lunch' && pane alice | grep -q 'direct conversation with bob'" 15 \
    || { pane alice; echo "alice never got bob's away reply in the conversation"; exit 1; }
tmux -L "$socket" send-keys -t alice 'M-2' ''
tmux -L "$socket" send-keys -t bob '/away' Enter

# /ignore: bob's message is not shown to alice; his topic change after it
# (not a message, and ordered after it by the room) proves it arrived.
tmux -L "$socket" send-keys -t alice '/ignore bob' Enter
wait_until "pane alice | grep -q 'Ignoring bob'" 15 || { pane alice; echo "alice could not ignore bob"; exit 1; }
tmux -L "$socket" send-keys -t bob 'words alice should not see' Enter
tmux -L "$socket" send-keys -t bob '/topic after the ignored line' Enter
wait_until "pane alice | grep -q 'set the topic: after the ignored line'" 15 || { pane alice; echo "alice never saw bob's topic"; exit 1; }
pane alice | grep -q 'words alice should not see' && { pane alice; echo "an ignored nick's message was shown"; exit 1; }
tmux -L "$socket" send-keys -t alice '/unignore bob' Enter

# A file offered with /send (hashed off the UI thread) and accepted.
# It is in alice's home, named as users write it: ~/photo.bin.
head -c 3000000 /dev/urandom >"$work/alice-home/photo.bin"
tmux -L "$socket" send-keys -t alice '/send ~/photo.bin' Enter
wait_until "pane bob | grep -q 'alice offers photo.bin'" 15 || { pane bob; echo "bob never saw the offer"; exit 1; }
tmux -L "$socket" send-keys -t bob '/accept' Enter
wait_until "cmp -s '$work/alice-home/photo.bin' '$work/bob-downloads/photo.bin'" 20 \
    || { pane alice; pane bob; echo "the file did not arrive intact"; exit 1; }

# /search -all in a TUI started after alice spoke: the server finds her
# message in what it stores (the local search would say "line(s)").
start_tui erin "XDG_DATA_HOME='$work/erin-data'"
wait_until "pane erin | grep -q 'You joined #e2e'" 15 || { pane erin; echo "erin never joined"; exit 1; }
tmux -L "$socket" send-keys -t erin '/search -all HELLO FROM ALICE' Enter
wait_until "pane erin | grep -q 'stored message(s) contain'" 15 || { pane erin; echo "the server never answered erin's search"; exit 1; }
pane erin | grep -q '#e2e: .*<alice> hello from alice' || { pane erin; echo "erin's search did not find alice's message"; exit 1; }

# A TUI that panics mid-session (debug builds honour HUDDLE_DEBUG_PANIC)
# must still leave its terminal restored, with the panic message readable.
start_tui carol "RUST_BACKTRACE=0 HUDDLE_DEBUG_PANIC=1"
wait_until "[ -s '$work/carol.exit' ]" 15 || { pane carol; echo "carol did not exit"; exit 1; }
grep -qx 'EXIT=101' "$work/carol.exit" || { cat "$work/carol.exit"; echo "carol did not exit by panicking"; exit 1; }
pane carol | grep -q 'HUDDLE_DEBUG_PANIC is set' || { pane carol; echo "the panic message is not visible"; exit 1; }

for nick in alice bob erin; do
    tmux -L "$socket" send-keys -t "$nick" '/quit bye' Enter
done
for nick in alice bob carol erin; do
    wait_until "[ -s '$work/$nick.exit' ]" 15 || { pane "$nick"; echo "$nick did not exit"; exit 1; }
    [ "$nick" = carol ] || grep -qx 'EXIT=0' "$work/$nick.exit" || { cat "$work/$nick.exit"; echo "$nick exited with an error"; exit 1; }
    modes=$(tmux -L "$socket" display -p -t "$nick" '#{alternate_on} #{cursor_flag}')
    [ "$modes" = "0 1" ] || { echo "$nick left the terminal in alternate screen/cursor state '$modes'"; exit 1; }
    grep -qw -- '-icanon' "$work/$nick.stty" && { echo "$nick left the terminal in raw mode"; exit 1; }
    grep -qw -- '-echo' "$work/$nick.stty" && { echo "$nick left echo off"; exit 1; }
    pane "$nick" | grep -q 'You joined' && { pane "$nick"; echo "$nick left TUI content on the main screen"; exit 1; }
done
# The host's quit prompt: a TUI hosting a server (not announced on the
# LAN) with a guest connected asks before stopping it; n keeps it, y quits.
host_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tmux -L "$socket" new-session -d -s host -x 100 -y 24 \
    "XDG_DATA_HOME='$work/host-data' '$huddle' --host --no-discovery --port $host_port --nick hoster --room '#h' --config '$work/host.toml'; echo EXIT=\$? > '$work/host.exit'; sleep 60"
wait_until "pane host | grep -q 'You joined #h'" 15 || { pane host; echo "the host never joined"; exit 1; }
# The guest's input stays open (a FIFO held by fd 4) so it stays connected.
mkfifo "$work/guest.in"
"$huddle" --plain --connect "127.0.0.1:$host_port" --nick guest --room '#h' --config "$work/guest.toml" \
    <"$work/guest.in" >"$work/guest.out" 2>&1 &
guest_pid=$!
exec 4>"$work/guest.in"
wait_until "pane host | grep -q 'guest joined #h'" 15 || { pane host; cat "$work/guest.out"; echo "the guest never joined"; exit 1; }
tmux -L "$socket" send-keys -t host C-c
wait_until "pane host | grep -q '1 person is connected to the server you host'" 15 || { pane host; echo "the host did not ask"; exit 1; }
tmux -L "$socket" send-keys -t host n
wait_until "pane host | grep -q 'Still here'" 15 || { pane host; echo "n did not keep the host"; exit 1; }
[ -s "$work/host.exit" ] && { echo "the host quit although told n"; exit 1; }
tmux -L "$socket" send-keys -t host C-c
wait_until "[ \$(pane host | grep -c '1 person is connected to the server you host') -ge 2 ]" 15 \
    || { pane host; echo "the host did not ask again"; exit 1; }
tmux -L "$socket" send-keys -t host y
wait_until "[ -s '$work/host.exit' ]" 15 || { pane host; echo "y did not quit the host"; exit 1; }
grep -qx 'EXIT=0' "$work/host.exit" || { cat "$work/host.exit"; echo "the host exited with an error"; exit 1; }

# A wrong address (the host's port, now closed) returns to the browser with
# the reason instead of retrying forever; q then quits.
tmux -L "$socket" new-session -d -s dave -x 100 -y 24 \
    "'$huddle' --loopback-only --connect 127.0.0.1:$host_port --nick dave --config '$work/dave.toml'; echo EXIT=\$? > '$work/dave.exit'; sleep 60"
wait_until "pane dave | grep -q 'servers on your network'" 20 || { pane dave; echo "a wrong address did not return to the browser"; exit 1; }
pane dave | grep -q "Cannot connect to 127.0.0.1:$host_port" || { pane dave; echo "the browser does not say why"; exit 1; }
tmux -L "$socket" send-keys -t dave q
wait_until "grep -qx 'EXIT=0' '$work/dave.exit'" 15 || { pane dave; echo "q did not quit the browser"; exit 1; }

# Each kept a log of the room (huddle/logs/SERVER/#e2e.log in its data dir).
for nick in alice bob; do
    log=$(find "$work/$nick-data/huddle/logs" -name '#e2e.log' 2>/dev/null | head -1)
    [ -n "$log" ] || { find "$work/$nick-data" 2>/dev/null; echo "$nick kept no log of #e2e"; exit 1; }
    grep -q "$(printf '\talice\thello from alice, bob')" "$log" || { cat "$log"; echo "$nick's log lacks alice's message"; exit 1; }
    [ "$(grep -c 'hello from alice, bob' "$log")" = 1 ] || { cat "$log"; echo "$nick's log has alice's message twice"; exit 1; }
done

# The nick given with --nick is kept in each config file, so the next run
# without it is the same user.
for nick in alice bob dave; do
    grep -q "^nick = \"$nick\"" "$work/$nick.toml" || { cat "$work/$nick.toml"; echo "$nick's --nick was not kept"; exit 1; }
done

echo "tmux e2e: message delivered both ways, a URL shown as its text (an OSC 8 link), a CR-separated paste arrived as three lines, an away reply reached the sender, /ignore hid a nick, the host asked before quitting (n kept it, y quit), erin's /search -all was answered by the server, a wrong address returned to the browser, each kept a log of the room and its --nick in its config, a file sent as ~/photo.bin and received intact, both TUIs quit, a panicking TUI restored its terminal too"

#!/usr/bin/env bash
# weechat and irssi in one huddle room with a native huddle TUI, all under
# tmux, through a real huddle-server with its IRC gateway (durable store,
# default limits; weechat over TLS with the server's fingerprint pinned,
# irssi in plain text): both IRC clients get the room's history on joining,
# messages cross both ways exactly once, and irssi reconnecting is not
# shown the history twice. weechat logs in with SASL PLAIN, and a second
# irssi with SASL EXTERNAL over TLS (its own certificate), each as the key
# of a huddle installation that allowed it (/ircpass, /irccert).
#
# usage: irc_e2e.sh HUDDLE_BIN HUDDLE_SERVER_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
huddle=$1 server=$2

ensure_command tmux tmux || skip "tmux cannot be installed here"
ensure_command irssi irssi || skip "irssi cannot be installed here"
ensure_command weechat weechat-curses || skip "weechat cannot be installed here"
ensure_command openssl openssl || skip "openssl cannot be installed here"

work=$(mktemp -d)
socket="huddle-irc-$$"
server_pid=
cleanup() {
    tmux -L "$socket" kill-server 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    # The IRC clients may still be writing their configs as they die.
    sleep 0.3
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# The identity first, so weechat can pin its fingerprint.
fingerprint=$("$server" --fingerprint --data-dir "$work/data" | sed -n 1p)
NO_COLOR=1 "$server" --bind 127.0.0.1:0 --irc-bind 127.0.0.1:0 --irc-tls-bind 127.0.0.1:0 --no-discovery \
    --data-dir "$work/data" --name "irc e2e" >"$work/server.log" 2>&1 &
server_pid=$!
port=$(listening_port "$work/server.log")
wait_until "grep -q 'IRC gateway listening' '$work/server.log'" 10 || { cat "$work/server.log"; exit 1; }
wait_until "[ \$(grep -c 'IRC gateway listening' '$work/server.log') = 2 ]" 10 || { cat "$work/server.log"; exit 1; }
irc_port=$(sed -n 's/.*IRC gateway listening.*addr=[^ ]*:\([0-9]*\) tls=false.*/\1/p' "$work/server.log" | head -1)
tls_port=$(sed -n 's/.*IRC gateway listening.*addr=[^ ]*:\([0-9]*\) tls=true.*/\1/p' "$work/server.log" | head -1)

tmuxc() { tmux -L "$socket" "$@"; }
# Whole scrollback, so counts see every line ever shown.
pane() { tmuxc capture-pane -p -J -S - -t "$1"; }
count() { pane "$1" | grep -c -- "$2" || true; }
fail() { echo "$1"; for p in alice irssi weechat; do echo "--- $p"; pane "$p" 2>/dev/null | tail -25; done; exit 1; }

mkdir -p "$work/alice" "$work/irssi" "$work/weechat"
tmuxc new-session -d -s alice -x 110 -y 30 \
    "HOME='$work/alice' XDG_DATA_HOME='$work/alice/data' '$huddle' --connect 127.0.0.1:$port --nick alice \
     --room '#lan' --config '$work/alice/config.toml'; sleep 60"
wait_until "pane alice | grep -q 'You joined #lan'" 15 || fail "alice never joined"
tmuxc send-keys -t alice 'said before the irc users came' Enter
sleep 0.5

# irssi: connect, join, see the history.
tmuxc new-session -d -s irssi -x 110 -y 30 \
    "TERM=screen-256color irssi --home='$work/irssi' -n ircbob -c 127.0.0.1 -p $irc_port; sleep 60"
wait_until "pane irssi | grep -q 'Welcome to irc e2e'" 20 || fail "irssi never registered"
tmuxc send-keys -t irssi '/join #lan' Enter
wait_until "pane irssi | grep -q 'said before the irc users came'" 15 || fail "irssi got no history"
wait_until "pane alice | grep -q 'ircbob joined #lan'" 15 || fail "alice never saw ircbob join"

# wcarol's nick belongs to the key of a huddle installation, which lets an
# IRC client in as it (/ircpass); weechat logs in with SASL PLAIN below —
# without that, the bound nick would be refused to it (433).
mkdir -p "$work/wcarol"
printf '/ircpass wcarol-irc-secret\n' | HOME="$work/wcarol" XDG_CONFIG_HOME="$work/wcarol/config" \
    XDG_DATA_HOME="$work/wcarol/data" "$huddle" --plain --connect "127.0.0.1:$port" --nick wcarol \
    --room '#lan' >"$work/wcarol/out" 2>&1 || { cat "$work/wcarol/out"; echo "wcarol could not set an IRC password"; exit 1; }
grep -q 'may now log in as wcarol' "$work/wcarol/out" || { cat "$work/wcarol/out"; echo "the server did not confirm the IRC password"; exit 1; }

# weechat: over TLS, the certificate pinned by its fingerprint (weechat
# 3.8 spells the options ssl; 4.x tls), server and autojoin given on the
# command line.
tmuxc new-session -d -s weechat -x 110 -y 30 \
    "TERM=screen-256color weechat --dir '$work/weechat' -r '/server add lan 127.0.0.1/$tls_port -ssl -ssl_fingerprint=${fingerprint#SHA256:} -nicks=wcarol -sasl_username=wcarol -sasl_password=wcarol-irc-secret -autojoin=#lan;/connect lan'; sleep 60"
wait_until "pane weechat | grep -q 'said before the irc users came'" 25 || fail "weechat got no history"
wait_until "pane alice | grep -q 'wcarol joined #lan'" 15 || fail "alice never saw wcarol join"
# weechat holds the bound nick as its key (a keyless IRC user would be
# refused it): alice's /whois shows the key, and that it uses IRC.
tmuxc send-keys -t alice '/whois wcarol' Enter
wait_until "pane alice | grep -q 'using IRC'" 15 || fail "alice's /whois was not answered"
pane alice | grep -q 'wcarol: key [0-9a-f]' || fail "weechat did not log in with SASL as wcarol's key"

# Both ways, each once.
tmuxc send-keys -t irssi 'hello from irssi' Enter
tmuxc send-keys -t weechat 'hello from weechat' Enter
wait_until "pane alice | grep -q 'ircbob: hello from irssi'" 15 || fail "alice never got irssi's message"
wait_until "pane alice | grep -q 'wcarol: hello from weechat'" 15 || fail "alice never got weechat's message"
tmuxc send-keys -t alice 'hello irc people' Enter
wait_until "pane irssi | grep -q 'hello irc people'" 15 || fail "irssi never got alice's message"
wait_until "pane weechat | grep -q 'hello irc people'" 15 || fail "weechat never got alice's message"
wait_until "pane irssi | grep -q 'hello from weechat'" 15 || fail "irssi never got weechat's message"
wait_until "pane weechat | grep -q 'hello from irssi'" 15 || fail "weechat never got irssi's message"
sleep 1
for who in "alice:hello from irssi" "alice:hello from weechat" "irssi:hello irc people" "weechat:hello irc people" \
    "irssi:hello from weechat" "weechat:hello from irssi" "irssi:said before the irc users came"; do
    [ "$(count "${who%%:*}" "${who#*:}")" = 1 ] || fail "${who%%:*} shows '${who#*:}' $(count "${who%%:*}" "${who#*:}") times"
done

# irssi reconnects (and rejoins): nothing shown twice, and it still chats.
tmuxc send-keys -t irssi '/reconnect' Enter
wait_until "[ \$(count alice 'ircbob joined #lan') -ge 2 ]" 30 || fail "irssi did not reconnect and rejoin"
tmuxc send-keys -t alice 'after the reconnect' Enter
wait_until "pane irssi | grep -q 'after the reconnect'" 20 || fail "irssi lost the room after reconnecting"
sleep 1
for line in 'said before the irc users came' 'hello irc people' 'hello from weechat'; do
    [ "$(count irssi "$line")" = 1 ] || fail "irssi shows '$line' $(count irssi "$line") times after reconnecting"
done
# irssi logs in with SASL EXTERNAL over TLS, with its own certificate,
# which the huddle installation holding "isla" named with /irccert.
mkdir -p "$work/isla" "$work/irssi-tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=isla \
    -keyout "$work/irssi-tls/key.pem" -out "$work/irssi-tls/cert.pem" 2>/dev/null
cert_fp=$(openssl x509 -in "$work/irssi-tls/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
printf '/irccert SHA256:%s\n' "$cert_fp" | HOME="$work/isla" XDG_CONFIG_HOME="$work/isla/config" \
    XDG_DATA_HOME="$work/isla/data" "$huddle" --plain --connect "127.0.0.1:$port" --nick isla \
    --room '#lan' >"$work/isla/out" 2>&1 || { cat "$work/isla/out"; echo "isla could not name a certificate"; exit 1; }
grep -q 'may now log in as isla' "$work/isla/out" || { cat "$work/isla/out"; echo "the server did not confirm the certificate"; exit 1; }
cat >"$work/irssi-tls/config" <<CONF
servers = ( { address = "127.0.0.1"; chatnet = "lan"; port = "$tls_port"; use_tls = "yes";
  tls_cert = "$work/irssi-tls/cert.pem"; tls_pkey = "$work/irssi-tls/key.pem"; tls_verify = "no";
  autoconnect = "yes"; } );
chatnets = { lan = { type = "IRC"; sasl_mechanism = "EXTERNAL"; autosendcmd = "/join #lan"; }; };
settings = { core = { nick = "isla"; user_name = "isla"; real_name = "isla"; }; };
CONF
tmuxc new-session -d -s isla -x 110 -y 30 "TERM=screen-256color irssi --home='$work/irssi-tls'; sleep 60"
wait_until "pane alice | grep -q 'isla joined #lan' && [ \$(count alice 'isla joined #lan') -ge 2 ]" 30 \
    || { pane isla; fail "irssi never came in as isla over TLS"; }
tmuxc send-keys -t alice '/whois isla' Enter
wait_until "[ \$(count alice 'using IRC') -ge 2 ]" 15 || { pane isla; fail "alice's /whois isla was not answered"; }
pane alice | grep -q 'isla: key [0-9a-f]' || { pane isla; fail "irssi did not log in with SASL EXTERNAL as isla's key"; }

echo "weechat (logged in with SASL PLAIN as a bound nick) and irssi (and a second irssi with SASL EXTERNAL over TLS) chatted with a huddle TUI: history on join, each message once, reconnect without duplicates"

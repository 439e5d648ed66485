#!/usr/bin/env bash
# Across hosts, for real: three network namespaces joined by a bridge (in a
# fourth), with addresses that exist only inside them. huddle-server runs in
# one, `huddle discover` in another finds it by broadcast, and a message sent
# from the third reaches a client in the second. Then the main command,
# `huddle --host` (a TUI in tmux hosting its own server), runs in the third:
# it is discovered from the second and shows a message sent from there.
#
# usage: netns_e2e.sh HUDDLE_BIN HUDDLE_SERVER_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
huddle=$1 server=$2

[ "$(id -u)" = 0 ] || skip "creating network namespaces needs root"
ensure_command ip iproute2 || skip "iproute2 is not installed and cannot be installed here"

tag="hud$$"
lan="${tag}lan" srv="${tag}srv" cli="${tag}cli" snd="${tag}snd"
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for ns in "$srv" "$cli" "$snd" "$lan"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$lan" 2>/dev/null || skip "this machine does not allow network namespaces"
ip -n "$lan" link add br0 type bridge
ip -n "$lan" link set br0 up
n=1
for ns in "$srv" "$cli" "$snd"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "v$tag$n" netns "$ns" type veth peer name "p$n" netns "$lan"
    ip -n "$ns" link set "v$tag$n" name eth0
    ip -n "$ns" addr add "10.231.0.$n/24" broadcast 10.231.0.255 dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$lan" link set "p$n" master br0
    ip -n "$lan" link set "p$n" up
    n=$((n + 1))
done

NO_COLOR=1 ip netns exec "$srv" "$server" --bind 0.0.0.0:7007 --ephemeral --name "netns box" --announce-every 1 >"$work/server.log" 2>&1 &
pids+=($!)
listening_port "$work/server.log" >/dev/null

# discovered NAME ADDR: `huddle discover` in the client namespace finds the
# server called NAME by broadcast, at ADDR (three tries); the listing stays
# in $work/discover.json.
discovered() {
    local name=$1 addr=$2 out="$work/discover.json"
    for _ in 1 2 3; do
        ip netns exec "$cli" "$huddle" discover --timeout 2 --json --config "$work/cli.toml" >"$out"
        if grep -q "\"name\":\"$name\"" "$out"; then
            grep -q "\"addr\":\"$addr\"" "$out" || { cat "$out"; echo "$name found at the wrong address"; return 1; }
            return 0
        fi
    done
    cat "$out"
    echo "$name was not discovered across namespaces"
    return 1
}

# Discovery by broadcast from another namespace.
discovered "netns box" 10.231.0.1:7007 || exit 1

# Signed discovery: the listing carries the server's fingerprint, new to
# this client.
grep -q '"fingerprint":"SHA256:[0-9a-f]\{64\}"' "$work/discover.json" \
    || { cat "$work/discover.json"; echo "no fingerprint in the listing"; exit 1; }
grep -q '"trust":"new"' "$work/discover.json" \
    || { cat "$work/discover.json"; echo "the server is not marked new"; exit 1; }

# What crosses the LAN, captured on the server's bridge port while the
# message is sent:
# TLS, so neither the text nor the nicks appear in it.
capture=""
if ensure_command tcpdump tcpdump; then
    ip netns exec "$lan" tcpdump -i p1 --immediate-mode -U -w "$work/lan.pcap" >"$work/tcpdump.log" 2>&1 &
    capture=$!
    pids+=("$capture")
    wait_until "grep -q 'listening on' '$work/tcpdump.log'" 10 || { cat "$work/tcpdump.log"; echo "tcpdump did not start"; exit 1; }
fi

# A listener in the client namespace, a sender in the third.
mkfifo "$work/bob.in"
ip netns exec "$cli" "$huddle" --plain --connect 10.231.0.1 --nick bob --room '#lan' --config "$work/bob.toml" \
    <"$work/bob.in" >"$work/bob.out" 2>&1 &
pids+=($!)
exec 3>"$work/bob.in"
wait_until "grep -q 'joined' '$work/bob.out'" 15 || { cat "$work/bob.out"; echo "bob did not join"; exit 1; }
echo "hello across namespaces" | ip netns exec "$snd" "$huddle" --plain --connect 10.231.0.1 --nick alice \
    --room '#lan' --config "$work/alice.toml" >"$work/alice.out" 2>&1 \
    || { cat "$work/alice.out"; echo "alice's plain client failed"; exit 1; }
wait_until "grep -q '<alice> hello across namespaces' '$work/bob.out'" 15 \
    || { cat "$work/bob.out"; echo "the message did not cross namespaces"; exit 1; }
exec 3>&-
if [ -n "$capture" ]; then
    sleep 0.5
    kill -INT "$capture"
    wait "$capture" 2>/dev/null || true
    bytes=$(stat -c %s "$work/lan.pcap")
    segments=$(tcpdump -nn -r "$work/lan.pcap" tcp port 7007 2>/dev/null | wc -l)
    [ "$segments" -gt 10 ] || { cat "$work/tcpdump.log"; tcpdump -nn -r "$work/lan.pcap" 2>&1 | tail -5; echo "the capture holds only $segments chat segments"; exit 1; }
    if grep -a -q -e 'hello across namespaces' -e 'alice' "$work/lan.pcap"; then
        echo "chat crossed the LAN in clear text"
        exit 1
    fi
    wire="; the LAN saw $segments TCP segments of chat, all TLS, no clear text"
else
    wire="; the wire was not checked (tcpdump is not installed and cannot be installed here)"
fi

# The main command, `huddle --host`: a TUI in the third namespace hosts a
# server; it is discovered from the second, and a message sent from there
# shows in the host's TUI.
if ensure_command tmux tmux; then
    tmux_socket="$tag-host"
    pids+=("$(ip netns exec "$snd" sh -c "tmux -L '$tmux_socket' new-session -d -s host -x 100 -y 24 \
        \"XDG_DATA_HOME='$work/data' '$huddle' --host --name 'hosted box' --nick carol --room '#hosted' \
        --config '$work/carol.toml'; sleep 60\"; tmux -L '$tmux_socket' display -p '#{pid}'")")
    host_pane() { ip netns exec "$snd" tmux -L "$tmux_socket" capture-pane -p -t host; }
    wait_until "host_pane | grep -q 'You joined #hosted'" 15 || { host_pane; echo "the hosting TUI never joined"; exit 1; }
    discovered "hosted box" 10.231.0.3:7007 || exit 1
    echo "hello, host" | ip netns exec "$cli" "$huddle" --plain --connect 10.231.0.3 --nick dave \
        --room '#hosted' --config "$work/dave.toml" >"$work/dave.out" 2>&1 \
        || { cat "$work/dave.out"; echo "dave's plain client failed"; exit 1; }
    wait_until "host_pane | grep -q 'dave: hello, host'" 15 || { host_pane; echo "the host's TUI never showed dave's message"; exit 1; }
    ip netns exec "$snd" tmux -L "$tmux_socket" kill-server
    hosted="; huddle --host at 10.231.0.3 discovered and reached"
else
    hosted="; huddle --host not checked (tmux is not installed and cannot be installed here)"
fi
echo "netns e2e: discovered 10.231.0.1:7007 by broadcast (signed, fingerprint shown); a message crossed from 10.231.0.3 to 10.231.0.2$wire$hosted"

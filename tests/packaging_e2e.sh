#!/usr/bin/env bash
# What huddle ships, checked as an installer would see it: the .deb built
# by crates/xtask/build-deb.sh unpacked into a clean directory (dpkg -x)
# holds both binaries (which run), the man pages, the completions and the
# systemd unit, which `systemd-analyze verify` accepts and whose hardening
# `systemd-analyze security` rates; and the crates package for crates.io
# (`cargo publish --dry-run --no-verify`: metadata, versions on path
# dependencies, the files each crate carries).
#
# usage: packaging_e2e.sh HUDDLE_BIN HUDDLE_SERVER_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
huddle=$1 server=$2
root=$(cd "$here/.." && pwd)

ensure_command dpkg-deb dpkg || skip "dpkg-deb is not installed and cannot be installed here"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

deb=$(DEB_COMPRESSION=gzip bash "$root/crates/xtask/build-deb.sh" "$(dirname "$huddle")" "$work/out")
mkdir "$work/root"
dpkg -x "$deb" "$work/root"
for file in usr/bin/huddle usr/bin/huddle-server \
    usr/share/man/man1/huddle.1.gz usr/share/man/man1/huddle-server.1.gz \
    usr/share/bash-completion/completions/huddle usr/share/bash-completion/completions/huddle-server \
    usr/share/zsh/vendor-completions/_huddle usr/share/zsh/vendor-completions/_huddle-server \
    usr/share/fish/vendor_completions.d/huddle.fish usr/share/fish/vendor_completions.d/huddle-server.fish \
    lib/systemd/system/huddle-server.service usr/share/doc/huddle/copyright; do
    [ -s "$work/root/$file" ] || { echo "the .deb lacks $file"; dpkg-deb -c "$deb"; exit 1; }
done
"$work/root/usr/bin/huddle" --version | grep -q '^huddle ' || { echo "huddle from the .deb does not run"; exit 1; }
"$work/root/usr/bin/huddle-server" --version | grep -q '^huddle-server ' || { echo "huddle-server from the .deb does not run"; exit 1; }
zcat "$work/root/usr/share/man/man1/huddle-server.1.gz" | grep -q 'status page' || { echo "the man page lacks --http's text"; exit 1; }
dpkg-deb -f "$deb" Package Version Architecture | grep -q '^Package: huddle$' || { echo "bad control file"; exit 1; }
echo "deb: $(basename "$deb"), $(stat -c %s "$deb") bytes, $(dpkg-deb -c "$deb" | grep -c '^-') files"

if ensure_command systemd-analyze systemd; then
    # Verified as installed: the unit pointing at the unpacked binary, the
    # man page found where the package put it.
    sed "s|/usr/bin/huddle-server|$work/root/usr/bin/huddle-server|" \
        "$work/root/lib/systemd/system/huddle-server.service" >"$work/huddle-server.service"
    MANPATH="$work/root/usr/share/man" systemd-analyze verify "$work/huddle-server.service" \
        || { echo "systemd-analyze verify rejected the unit"; exit 1; }
    exposure=$(systemd-analyze security --offline=yes "$work/huddle-server.service" 2>&1 \
        | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    echo "systemd-analyze security: exposure $exposure (0 best, 10 worst)"
    awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.5) }' || { echo "the unit's exposure $exposure is above 2.5"; exit 1; }
else
    echo "SKIPPED: systemd-analyze cannot be installed here (the .deb was still checked)"
fi

# The crates as crates.io would take them (no build: the workspace's own
# build is the one CI runs; a separate target dir keeps this cargo out of
# the outer one's lock).
cd "$root"
CARGO_TARGET_DIR="$work/target" cargo publish --dry-run --no-verify --allow-dirty --locked \
    -p huddle-chat-protocol -p huddle-chat-server -p huddle-chat -p huddle-chat-bench >"$work/publish.log" 2>&1 \
    || { cat "$work/publish.log"; echo "cargo publish --dry-run failed"; exit 1; }
grep -c "aborting upload due to dry run" "$work/publish.log" | grep -qx 4 || { cat "$work/publish.log"; exit 1; }
echo "cargo publish --dry-run: huddle-chat-protocol, huddle-chat-server, huddle-chat, huddle-chat-bench packaged"

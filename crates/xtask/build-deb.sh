#!/usr/bin/env bash
# Builds huddle's Debian package from built binaries: both binaries, their
# man pages and shell completions, and the hardened systemd unit for the
# server (not enabled: `systemctl enable --now huddle-server`).
#
# usage: crates/xtask/build-deb.sh BIN_DIR OUT_DIR
#   e.g. cargo build --release && bash crates/xtask/build-deb.sh target/release target/deb
# Prints the path of the .deb it wrote.
set -euo pipefail
bins=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT

install -D -m 0755 "$bins/huddle" "$stage/usr/bin/huddle"
install -D -m 0755 "$bins/huddle-server" "$stage/usr/bin/huddle-server"
for name in huddle huddle-server; do
    install -D -m 0644 "assets/man/$name.1" "$stage/usr/share/man/man1/$name.1"
    gzip -9n "$stage/usr/share/man/man1/$name.1"
    install -D -m 0644 "assets/completions/$name.bash" "$stage/usr/share/bash-completion/completions/$name"
    install -D -m 0644 "assets/completions/_$name" "$stage/usr/share/zsh/vendor-completions/_$name"
    install -D -m 0644 "assets/completions/$name.fish" "$stage/usr/share/fish/vendor_completions.d/$name.fish"
done
install -D -m 0644 assets/huddle-server.service "$stage/lib/systemd/system/huddle-server.service"
install -D -m 0644 assets/config.example.toml "$stage/usr/share/doc/huddle/config.example.toml"
install -D -m 0644 README.md "$stage/usr/share/doc/huddle/README.md"
cat >"$stage/usr/share/doc/huddle/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: huddle
Source: https://github.com/huddle-chat/huddle

Files: *
Copyright: the huddle authors
License: MIT or Apache-2.0
COPYRIGHT

mkdir -p "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: huddle
Version: $version
Architecture: $arch
Maintainer: huddle developers <huddle@example.invalid>
Depends: libc6 (>= 2.31)
Section: net
Priority: optional
Homepage: https://github.com/huddle-chat/huddle
Installed-Size: $(du -sk "$stage" | cut -f1)
Description: terminal chat rooms for a LAN
 huddle is a terminal chat (a TUI like weechat's, or a plain line mode for
 scripts) whose servers are found on the LAN without typing an address.
 This package holds the client (huddle) and the server (huddle-server) with
 a hardened systemd unit; chat is encrypted with TLS and servers are pinned
 on first use.
CONTROL
deb="$out/huddle_${version}_${arch}.deb"
# xz by default (what Debian uses); DEB_COMPRESSION=gzip builds faster (tests).
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$stage" "$deb" >/dev/null
echo "$deb"

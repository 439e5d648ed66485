#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) on the stable toolchain,
# then minimises its corpus. The corpus lives in assets/fuzz/<target>/ (seeded
# with the golden vectors of docs/PROTOCOL.md §9); crashes land in
# crates/protocol/fuzz/artifacts/<target>/.
#
# usage: crates/protocol/fuzz/run.sh [SECONDS] [TARGET...]
#
# cargo-fuzz wants nightly for its sanitizer flags; with `--sanitizer none`
# the only unstable flag left is accepted by stable under RUSTC_BOOTSTRAP=1
# (libFuzzer's coverage instrumentation itself is plain LLVM options).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(frame_decoder client_message server_message datagram)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
    corpus=../../../assets/fuzz/$target
    mkdir -p "$corpus"
    echo "== $target for $seconds s"
    cargo fuzz run --sanitizer none -O "$target" "$corpus" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1
    cargo fuzz cmin --sanitizer none -O "$target" "$corpus"
done

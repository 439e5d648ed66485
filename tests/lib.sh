# Shared helpers for the end-to-end scripts. Source it; do not run it.

# Installs Debian packages if their command is missing; returns 1 if that
# is impossible here (the caller then skips, saying why).
ensure_command() {
    local command=$1 package=$2
    command -v "$command" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing $package for this test" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package") >/dev/null 2>&1 || true
    fi
    command -v "$command" >/dev/null 2>&1
}

skip() {
    echo "SKIPPED: $*"
    exit 0
}

# Waits up to $2 seconds for "$1" (a command) to succeed.
wait_until() {
    local check=$1 limit=${2:-10} waited=0
    until eval "$check"; do
        sleep 0.2
        waited=$((waited + 1))
        if [ "$waited" -ge $((limit * 5)) ]; then
            return 1
        fi
    done
}

# Starts huddle-server with the given flags in the background, logging to
# $1; prints the port it listens on.
listening_port() {
    local log=$1
    wait_until "grep -q 'listening' '$log'" 10 || { cat "$log" >&2; return 1; }
    sed -n 's/.*addr=[^ ]*:\([0-9]*\).*/\1/p' "$log" | head -1
}

# Runs headless Chromium with a fresh profile in $work/chrome (the caller's
# temporary directory) and the flags this machine's closed network needs;
# its stderr goes to $work/chrome.log. Bounded to 60 s.
headless_chromium() {
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/chrome" "$@" 2>>"$work/chrome.log"
}

# Succeeds if "$1" starts with the PNG signature.
is_png() {
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
}

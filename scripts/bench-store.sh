#!/usr/bin/env bash
# Compares Mars's store with a real etcd under the same load.
#
# Builds `mars` (release), starts a fresh `mars server` and a fresh etcd, each
# with fsync on (the defaults) and its own new data directory on the same
# disk, on free loopback ports; runs `mars bench store` against both (etcd
# first, so ratios read "mars/etcd"); stops both on exit.
#
#   bash scripts/bench-store.sh                      # the default load
#   bash scripts/bench-store.sh --ops 5000 --workloads put,watch
#
# Extra arguments go to `mars bench store` (see `mars bench store --help`).
# BENCH_DIR picks where the data directories go (default: $TMPDIR or /tmp);
# it must be a real disk, not tmpfs, or fsync costs nothing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

log() { printf '[bench-store] %s\n' "$*" >&2; }

# --- etcd: install it if missing (Debian: etcd-server) ----------------------
if ! command -v etcd >/dev/null 2>&1; then
    log "etcd not found; installing etcd-server with apt-get"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server
    # The package may start a system etcd on 2379; ours uses other ports.
fi
etcd_bin=$(command -v etcd)
log "$("$etcd_bin" --version | head -n 1)"

# --- mars --------------------------------------------------------------------
log "building mars (release)"
cargo build --release -p mars
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
mars_bin="${target_dir:-$repo/target}/release/mars"
# Flush the build's dirty pages now, so their writeback does not slow the
# servers' fsyncs during the measurement.
sync

# --- scratch space -------------------------------------------------------------
base="${BENCH_DIR:-${TMPDIR:-/tmp}}"
mkdir -p "$base"
if [ "$(stat -f -c %T "$base")" = "tmpfs" ]; then
    log "WARNING: $base is tmpfs: fsync is free there; set BENCH_DIR to a real disk"
fi
work=$(mktemp -d "$base/bench-store.XXXXXX")
etcd_pid=""
mars_pid=""

stop() {
    local pid
    for pid in "$mars_pid" "$etcd_pid"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "$mars_pid" "$etcd_pid"; do
        if [ -n "$pid" ]; then
            # Give each 10 s to stop, then insist.
            for _ in $(seq 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True when something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints a free loopback port not in the list of ports already taken ("$@").
free_port() {
    local port taken
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 40000))
        for taken in "$@"; do
            [ "$port" = "$taken" ] && continue 2
        done
        if ! listening "$port"; then
            echo "$port"
            return 0
        fi
    done
    log "no free port found"
    return 1
}

etcd_port=$(free_port)
etcd_peer_port=$(free_port "$etcd_port")
mars_port=$(free_port "$etcd_port" "$etcd_peer_port")

# Waits until $2 (a process id) logs $3 in $4, or fails after $5 seconds.
wait_ready() {
    local name=$1 pid=$2 pattern=$3 logfile=$4 seconds=$5
    for _ in $(seq $((seconds * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited early; its log:"
            cat "$logfile" >&2
            return 1
        fi
        if grep -q "$pattern" "$logfile" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    log "$name not ready after ${seconds}s; its log:"
    tail -n 50 "$logfile" >&2
    return 1
}

log "starting etcd on 127.0.0.1:$etcd_port (data: $work/etcd)"
"$etcd_bin" \
    --name bench \
    --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "bench=http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster-state new \
    >"$work/etcd.log" 2>&1 &
etcd_pid=$!

log "starting mars on 127.0.0.1:$mars_port (data: $work/mars)"
"$mars_bin" server \
    --data-dir "$work/mars" \
    --etcd-listen "127.0.0.1:$mars_port" \
    >"$work/mars.log" 2>&1 &
mars_pid=$!

wait_ready etcd "$etcd_pid" "ready to serve client requests" "$work/etcd.log" 60
wait_ready mars "$mars_pid" "Mars is serving" "$work/mars.log" 60
for port in "$etcd_port" "$mars_port"; do
    listening "$port" || { log "nothing listens on $port"; exit 1; }
done
log "both ready"

# CPU seconds (user + system) a process has used so far, from /proc.
cpu_seconds() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "?"; return 0; }
    # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
    echo "${stat##*) }" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($12 + $13) / hz }'
}
etcd_cpu_before=$(cpu_seconds "$etcd_pid")
mars_cpu_before=$(cpu_seconds "$mars_pid")

echo "+ $mars_bin bench store --endpoints etcd=http://127.0.0.1:$etcd_port,mars=http://127.0.0.1:$mars_port $*"
"$mars_bin" bench store \
    --endpoints "etcd=http://127.0.0.1:$etcd_port,mars=http://127.0.0.1:$mars_port" \
    "$@"

# Each server is idle while the other is measured, so this is its whole load.
echo
echo "server CPU during the run (user+system seconds; the machine has $(nproc) cores):"
awk -v a="$etcd_cpu_before" -v b="$(cpu_seconds "$etcd_pid")" 'BEGIN { printf "  etcd %.1f s\n", b - a }'
awk -v a="$mars_cpu_before" -v b="$(cpu_seconds "$mars_pid")" 'BEGIN { printf "  mars %.1f s\n", b - a }'

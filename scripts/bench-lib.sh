# What the store benchmarks share (sourced by bench-store.sh and
# bench-cluster.sh): etcd installed when missing, `mars` built in release
# mode, a work directory on a real disk, free ports, readiness waits, CPU
# accounting, and every started process stopped on exit.
#
# The sourcing script sets `bench_name` first (used in log lines and the
# work directory's name); it gets `etcd_bin`, `mars_bin` and `work`, and
# registers what it starts with `started PID`.

log() { printf '[%s] %s\n' "$bench_name" "$*" >&2; }

# --- etcd: install it if missing (Debian: etcd-server) ----------------------
if ! command -v etcd >/dev/null 2>&1; then
    log "etcd not found; installing etcd-server with apt-get"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server
    # The package may start a system etcd on 2379; ours use other ports.
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
work=$(mktemp -d "$base/$bench_name.XXXXXX")
pids=()

# Remembers a started process, to stop it on exit.
started() { pids+=("$1"); }

stop() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        # Give each 10 s to stop, then insist.
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True when something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

taken_ports=()
# Prints a free loopback port no earlier call returned.
free_port() {
    local port taken
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 40000))
        for taken in "${taken_ports[@]}"; do
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

# CPU seconds (user + system) a process has used so far, from /proc.
cpu_seconds() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "0"; return 0; }
    # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
    echo "${stat##*) }" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($12 + $13) / hz }'
}

# Sets the variable named $1 to a free port no earlier call took.
take_port() {
    local port
    port=$(free_port) || return 1
    taken_ports+=("$port")
    printf -v "$1" '%s' "$port"
}

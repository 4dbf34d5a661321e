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

bench_name=bench-store
# shellcheck source=scripts/bench-lib.sh
source "$repo/scripts/bench-lib.sh"

take_port etcd_port
take_port etcd_peer_port
take_port mars_port

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
started "$etcd_pid"

log "starting mars on 127.0.0.1:$mars_port (data: $work/mars)"
"$mars_bin" server \
    --data-dir "$work/mars" \
    --etcd-listen "127.0.0.1:$mars_port" \
    >"$work/mars.log" 2>&1 &
mars_pid=$!
started "$mars_pid"

wait_ready etcd "$etcd_pid" "ready to serve client requests" "$work/etcd.log" 60
wait_ready mars "$mars_pid" "Mars is serving" "$work/mars.log" 60
for port in "$etcd_port" "$mars_port"; do
    listening "$port" || { log "nothing listens on $port"; exit 1; }
done
log "both ready"

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

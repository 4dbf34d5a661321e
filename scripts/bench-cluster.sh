#!/usr/bin/env bash
# Compares a three-member Mars cluster with a three-member etcd cluster
# under the same load, then kills each cluster's leader under write load.
#
# Builds `mars` (release); starts three etcd members and three
# `mars server --no-api` members (Raft, LAN timings), every one with fsync on
# and its own data directory on the same disk, on free loopback ports; runs
# `mars bench store` against both clusters with connections spread over the
# members (etcd first, so ratios read "mars/etcd"); then
# `mars bench failover` on each: SIGKILL to the leader, time to the first
# new write acknowledged. Stops everything on exit.
#
#   bash scripts/bench-cluster.sh                    # put at 256 clients
#   bash scripts/bench-cluster.sh --ops 20000 --clients 16,256
#
# Extra arguments go to `mars bench store` (default: --workloads put
# --clients 256 --ops 100000). BENCH_DIR picks where the data directories
# go; it must be a real disk, not tmpfs, or fsync costs nothing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bench_name=bench-cluster
# shellcheck source=scripts/bench-lib.sh
source "$repo/scripts/bench-lib.sh"

members=(1 2 3)
declare -A etcd_client etcd_peer mars_client mars_raft etcd_pid mars_pid
for i in "${members[@]}"; do
    take_port "etcd_client[$i]"
    take_port "etcd_peer[$i]"
    take_port "mars_client[$i]"
    take_port "mars_raft[$i]"
done

initial_cluster=""
mars_peers=""
for i in "${members[@]}"; do
    initial_cluster+="${initial_cluster:+,}e$i=http://127.0.0.1:${etcd_peer[$i]}"
    mars_peers+="${mars_peers:+,}$i=127.0.0.1:${mars_raft[$i]}"
done

for i in "${members[@]}"; do
    "$etcd_bin" \
        --name "e$i" \
        --data-dir "$work/etcd$i" \
        --listen-client-urls "http://127.0.0.1:${etcd_client[$i]}" \
        --advertise-client-urls "http://127.0.0.1:${etcd_client[$i]}" \
        --listen-peer-urls "http://127.0.0.1:${etcd_peer[$i]}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${etcd_peer[$i]}" \
        --initial-cluster "$initial_cluster" \
        --initial-cluster-state new \
        >"$work/etcd$i.log" 2>&1 &
    etcd_pid[$i]=$!
    started "${etcd_pid[$i]}"
    "$mars_bin" server \
        --no-api \
        --name "m$i" \
        --data-dir "$work/mars$i" \
        --etcd-listen "127.0.0.1:${mars_client[$i]}" \
        --node-id "$i" \
        --raft-listen "127.0.0.1:${mars_raft[$i]}" \
        --peers "$mars_peers" \
        >"$work/mars$i.log" 2>&1 &
    mars_pid[$i]=$!
    started "${mars_pid[$i]}"
done
for i in "${members[@]}"; do
    wait_ready "etcd e$i" "${etcd_pid[$i]}" "ready to serve client requests" "$work/etcd$i.log" 60
    wait_ready "mars m$i" "${mars_pid[$i]}" "Mars is serving" "$work/mars$i.log" 60
done
log "both clusters ready"

urls() { # $1: etcd_client or mars_client
    local -n ports=$1
    local out="" i
    for i in "${members[@]}"; do out+="${out:+|}http://127.0.0.1:${ports[$i]}"; done
    echo "$out"
}
pids() { # $1: etcd_pid or mars_pid
    local -n of=$1
    local out="" i
    for i in "${members[@]}"; do out+="${out:+,}${of[$i]}"; done
    echo "$out"
}
cluster_cpu() { # $1: etcd_pid or mars_pid
    local -n of=$1
    local total=0 i
    for i in "${members[@]}"; do total=$(awk -v a="$total" -v b="$(cpu_seconds "${of[$i]}")" 'BEGIN { print a + b }'); done
    echo "$total"
}

args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    args=(--workloads put --clients 256 --ops 100000)
fi
etcd_cpu_before=$(cluster_cpu etcd_pid)
mars_cpu_before=$(cluster_cpu mars_pid)
echo "+ $mars_bin bench store --endpoints etcd=$(urls etcd_client),mars=$(urls mars_client) ${args[*]}"
"$mars_bin" bench store \
    --endpoints "etcd=$(urls etcd_client),mars=$(urls mars_client)" \
    "${args[@]}"
echo
echo "cluster CPU during the run (user+system seconds, three members; the machine has $(nproc) cores):"
awk -v a="$etcd_cpu_before" -v b="$(cluster_cpu etcd_pid)" 'BEGIN { printf "  etcd %.1f s\n", b - a }'
awk -v a="$mars_cpu_before" -v b="$(cluster_cpu mars_pid)" 'BEGIN { printf "  mars %.1f s\n", b - a }'

echo
"$mars_bin" bench failover --endpoint "etcd=$(urls etcd_client)" --pids "$(pids etcd_pid)"
"$mars_bin" bench failover --endpoint "mars=$(urls mars_client)" --pids "$(pids mars_pid)"

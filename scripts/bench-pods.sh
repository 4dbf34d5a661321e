#!/usr/bin/env bash
# Measures the pod pipeline end to end: builds `mars` (release) and runs
# `mars bench pods`, which starts a fresh `mars server` (controllers and
# scheduler, no simulated nodes of its own), simulates 1,000 nodes in the
# benchmark's process (as `mars agent --simulate 1000` would), applies
# 100 Deployments × 100 replicas and times every pod from the watch first
# seeing it to Running and Ready: throughput (first create → last Running),
# p50/p90/p99 startup latency and the stages between (create, schedule,
# start), beside the Kubernetes SLO and kube-scheduler's published figures.
#
#   bash scripts/bench-pods.sh                                  # the default load
#   bash scripts/bench-pods.sh --nodes 100 --deployments 10 --replicas 100
#
# Extra arguments go to `mars bench pods` (see `mars bench pods --help`). To
# drive another cluster run the binary directly:
#   target/release/mars bench pods --kubeconfig ~/.kube/config [--server-pid PID]
# BENCH_DIR picks where the data directory goes (default: $TMPDIR or /tmp).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

log() { printf '[bench-pods] %s\n' "$*" >&2; }

log "building mars (release)"
cargo build --release -p mars
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
built="${target_dir:-$repo/target}/release/mars"

base="${BENCH_DIR:-${TMPDIR:-/tmp}}"
mkdir -p "$base"
work=$(mktemp -d "$base/bench-pods.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A private copy: another build into the shared target directory must not
# swap the binary under a running benchmark.
mars_bin="$work/mars"
cp "$built" "$mars_bin"
sync

echo "+ mars bench pods --spawn-mars $mars_bin --spawn-dir $work $*"
"$mars_bin" bench pods --spawn-mars "$mars_bin" --spawn-dir "$work" "$@"

#!/usr/bin/env bash
# Measures Mars's Kubernetes API: builds `mars` (release) and runs
# `mars bench api --spawn-mars`, which starts a fresh `mars server` on a new
# data directory, times its start to `/readyz`, drives it with ConfigMap
# creates, updates, GETs, LISTs and watches, reads its memory idle and with
# 100,000 objects, restarts it, and stops it.
#
#   bash scripts/bench-api.sh                       # the default load
#   bash scripts/bench-api.sh --http2               # HTTP/2, as client-go speaks
#   bash scripts/bench-api.sh --objects 2000 --phases update,get,list
#
# Extra arguments go to `mars bench api` (see `mars bench api --help`). To
# drive another API server (a kube-apiserver, say) run the binary directly:
#   target/release/mars bench api --kubeconfig ~/.kube/config [--server-pid PID]
# BENCH_DIR picks where the data directory goes (default: $TMPDIR or /tmp);
# it must be a real disk, not tmpfs, or fsync costs nothing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

log() { printf '[bench-api] %s\n' "$*" >&2; }

log "building mars (release)"
cargo build --release -p mars
target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
built="${target_dir:-$repo/target}/release/mars"

base="${BENCH_DIR:-${TMPDIR:-/tmp}}"
mkdir -p "$base"
if [ "$(stat -f -c %T "$base")" = "tmpfs" ]; then
    log "WARNING: $base is tmpfs: fsync is free there; set BENCH_DIR to a real disk"
fi
work=$(mktemp -d "$base/bench-api.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A private copy: another build into the shared target directory must not
# swap the binary under a running benchmark.
mars_bin="$work/mars"
cp "$built" "$mars_bin"
# Flush the build's dirty pages now, so their writeback does not slow the
# server's fsyncs during the measurement.
sync

echo "+ mars bench api --spawn-mars $mars_bin --spawn-dir $work $*"
"$mars_bin" bench api --spawn-mars "$mars_bin" --spawn-dir "$work" "$@"

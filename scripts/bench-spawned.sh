#!/usr/bin/env bash
# What `bench-api.sh` and `bench-pods.sh` share: builds `mars` (release),
# copies the binary to a fresh work directory and runs
# `mars bench SUBCOMMAND --spawn-mars COPY --spawn-dir WORK ARGS…`, which
# starts its own `mars server` there.
#
#   bash scripts/bench-spawned.sh api|pods [ARGS…]
#
# BENCH_DIR picks where the data directory goes (default: $TMPDIR or /tmp);
# it must be a real disk, not tmpfs, or fsync costs nothing.
set -euo pipefail

sub=${1:?usage: bench-spawned.sh api|pods [ARGS…]}
shift

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

log() { printf '[bench-%s] %s\n' "$sub" "$*" >&2; }

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
work=$(mktemp -d "$base/bench-$sub.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A private copy: another build into the shared target directory must not
# swap the binary under a running benchmark.
mars_bin="$work/mars"
cp "$built" "$mars_bin"
# Flush the build's dirty pages now, so their writeback does not slow the
# server's fsyncs during the measurement.
sync

echo "+ mars bench $sub --spawn-mars $mars_bin --spawn-dir $work $*"
"$mars_bin" bench "$sub" --spawn-mars "$mars_bin" --spawn-dir "$work" "$@"

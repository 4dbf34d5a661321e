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
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-spawned.sh" api "$@"

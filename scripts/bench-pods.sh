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
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-spawned.sh" pods "$@"

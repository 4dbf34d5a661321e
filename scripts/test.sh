#!/usr/bin/env bash
# The full test suite, as CI runs it: formatting, lints, then every unit,
# property, conformance and end-to-end test. Installs the real peers the
# tests drive (Debian's etcd-server and etcd-client, kubectl, Python's venv)
# when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${missing[*]} for the tests"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# The end-to-end tests run the real `mars` binary; nextest builds only test
# targets, so build the binaries first.
cargo build --workspace --bins --locked

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

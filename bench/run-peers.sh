#!/usr/bin/env bash
# Runs the shared peer benchmark (../shared/bench/run.sh: W1 transform, W2 load into
# PostgreSQL, W3 aggregate, every output checked by check.py) with Sluice plugged in as the
# `project` peer, beside the peers named, in the same run.
#
#   bench/run-peers.sh [--rhai] [run.sh options...]
#   bench/run-peers.sh --rows 1000000 --only project,duckdb,polars --workloads W1,W3 --repeat 3
#   bench/run-peers.sh --rhai --only project,duckdb --workloads W1     # W1 as one script node
#
# The shared folder is read-only, so it is copied to PEER_DIR (default bench/.peer) and set
# up there once (Python peers in a venv, data generated).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$HERE/.."
PEER_DIR="${PEER_DIR:-$HERE/.peer}"
if [ "${1:-}" = "--rhai" ]; then
  export PROJECT_FLOW_W1="$HERE/flows/W1-rhai.json"; shift
fi
if [ ! -x "$PEER_DIR/.venv/bin/python" ]; then
  rm -rf "$PEER_DIR"; cp -r "$ROOT/../shared/bench" "$PEER_DIR"; chmod -R u+w "$PEER_DIR"
fi
(cd "$ROOT" && cargo build --release --locked -q)
# W1's hash salt is a secret in real flows, so the flow reads it from the environment.
export PROJECT_CMD="env BENCH_SALT=bench $ROOT/target/release/sluice run"
export PROJECT_FLOW_DIR="$HERE/flows"
exec "$PEER_DIR/run.sh" "$@"

#!/usr/bin/env bash
# The project's test command: scripts/test.sh [extra cargo test args]
# Starts the local services, builds/tests the UI (if any), runs the Rust workspace tests,
# then the browser end-to-end test and the desktop smoke test. Fails on the first failing step.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export CARGO_TERM_COLOR=never                         # plain logs in CI
# Honour a caller's CARGO_TARGET_DIR; otherwise pin the usual ./target so later steps
# (e.g. the e2e script) find the binaries in a known place.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# 1. Integration tests talk to PostgreSQL, MariaDB, Redis, RabbitMQ, Mosquitto, NATS.
scripts/start-services.sh

# 2. UI first: Tauri's generate_context! reads ui/dist at compile time, so the UI must be
#    built before cargo compiles the desktop crate. The catalog check fails when a node
#    kind's English messages are stale or the Chinese file lacks a key.
(cd ui && npm ci --no-audit --no-fund && npm run build && npx vitest run && node scripts/catalog-messages.mjs --check)

# 3. The Rust workspace; --locked so CI uses exactly the committed Cargo.lock. The log is
#    kept so the closing line can add up every test binary's counts (cargo prints one line
#    per binary, the last of which may be an empty one).
LOG="$(mktemp)"; trap 'rm -f "$LOG"' EXIT
status=0
# custom-protocol: the desktop app loads the built ui/dist, not a Vite dev server.
cargo test --workspace --locked --no-fail-fast --features sluice-desktop/custom-protocol "$@" 2>&1 | tee "$LOG" || status=$?
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$LOG"
[ "$status" -eq 0 ] || exit "$status"

# 4. Browser end-to-end tests against `sluice serve` (the binary built in step 3): building
#    a flow (browser.mjs), running flows (run.mjs).
node ui/e2e/browser.mjs
node ui/e2e/run.mjs

# 5. Desktop smoke test: the Tauri app on Xvfb through WebKitWebDriver. The screenshot is
#    kept at ui/e2e/out/desktop.png.
cargo build --locked -p sluice-desktop --features sluice-desktop/custom-protocol
scripts/desktop-smoke.sh

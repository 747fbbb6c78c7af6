#!/usr/bin/env bash
# Runs the Sluice designer (desktop app) from a checkout, setting up what is missing first:
# the apt packages (scripts/ensure-apt.sh), the UI's npm packages and build (ui/dist), then
# `cargo run -p sluice-desktop`. The first run compiles for a few minutes; later runs start
# in seconds.
#
# usage: scripts/designer.sh [FLOW_FILE]
#   With no FLOW_FILE the service-report example opens. Relative paths are taken from the
#   folder you run this in, which is also the designer's working folder.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EXAMPLE=$ROOT/flows-examples/service-report/service-report.flow.json

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  cat >&2 <<MSG
designer: the desktop app needs a graphical display, and neither DISPLAY nor WAYLAND_DISPLAY
is set (an SSH session or a container?). Use the designer in a browser instead:
  cargo run --manifest-path $ROOT/Cargo.toml -- serve --open ${1:-$EXAMPLE}
It prints a "Sluice designer: http://127.0.0.1:PORT/?token=..." line; open that address
yourself when no browser starts.
MSG
  exit 1
fi

"$ROOT/scripts/ensure-apt.sh"

for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "designer: $tool is not installed; install Node.js 20+ (with npm) and Rust (https://rustup.rs)" >&2; exit 1; }
done
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "designer: Node.js $(node --version) is too old; the UI build needs Node.js 20 or newer" >&2; exit 1; }

UI=$ROOT/ui
# npm writes node_modules/.package-lock.json on every install; older than package-lock.json
# means the lock file changed since.
if [ ! -f "$UI/node_modules/.package-lock.json" ] || [ "$UI/package-lock.json" -nt "$UI/node_modules/.package-lock.json" ]; then
  echo "designer: installing the UI's npm packages (npm ci)" >&2
  (cd "$UI" && npm ci --no-audit --no-fund)
fi
# The app embeds ui/dist at compile time, so rebuild it whenever a UI source is newer.
if [ ! -f "$UI/dist/index.html" ] || [ -n "$(find "$UI/src" "$UI/index.html" "$UI/package-lock.json" "$UI/vite.config.ts" "$UI"/tsconfig*.json -newer "$UI/dist/index.html" -print -quit 2>/dev/null)" ]; then
  echo "designer: building the UI (npm run build)" >&2
  (cd "$UI" && npm run build)
fi

if [ $# -eq 0 ]; then
  set -- "$EXAMPLE"
fi
# --manifest-path rather than cd: the app's working folder stays the one you ran this in.
exec cargo run --manifest-path "$ROOT/Cargo.toml" -p sluice-desktop --features custom-protocol -- "$@"

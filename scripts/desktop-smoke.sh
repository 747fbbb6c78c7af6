#!/usr/bin/env bash
# Desktop smoke test: the real app (target/debug/sluice-desktop) on a virtual display, driven
# through WebKitWebDriver by ui/e2e/desktop.mjs, which checks that the example flow given on
# the command line is drawn on the canvas. Needs the apt packages of scripts/ensure-apt.sh
# (xvfb, webkit2gtk-driver) and a desktop build made with the custom-protocol feature:
#   (cd ui && npm run build)
#   cargo build -p sluice-desktop --features sluice-desktop/custom-protocol
#
# usage: scripts/desktop-smoke.sh [APP_BINARY] [FLOW_FILE]
# Prints the test's "N passed, N failed" line; the screenshot is ui/e2e/out/desktop.png and
# the driver's and the app's output ui/e2e/out/desktop-driver.log.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
APP=$(realpath -m "${1:-target/debug/sluice-desktop}")
FLOW=$(realpath -m "${2:-flows-examples/service-report/service-report.flow.json}")
OUT=$ROOT/ui/e2e/out
LOG=$OUT/desktop-driver.log

for tool in Xvfb WebKitWebDriver node; do
  command -v "$tool" >/dev/null || { echo "desktop-smoke: $tool is not installed; run scripts/ensure-apt.sh" >&2; exit 2; }
done
[ -x "$APP" ] || { echo "desktop-smoke: no app at $APP; build it with: cargo build -p sluice-desktop --features sluice-desktop/custom-protocol" >&2; exit 2; }
[ -f "$FLOW" ] || { echo "desktop-smoke: no flow file at $FLOW" >&2; exit 2; }

mkdir -p "$OUT"
: >"$LOG"
SCRATCH=$(mktemp -d)
XVFB_PID=""
WD_PID=""
cleanup() {
  # The driver's children are the app instances it launched; end them first, by parent id.
  if [ -n "$WD_PID" ]; then
    pkill -TERM -P "$WD_PID" 2>/dev/null || true
    kill "$WD_PID" 2>/dev/null || true
    wait "$WD_PID" 2>/dev/null || true
  fi
  if [ -n "$XVFB_PID" ]; then
    kill "$XVFB_PID" 2>/dev/null || true
    wait "$XVFB_PID" 2>/dev/null || true
  fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT INT TERM

# -displayfd: Xvfb picks a free display itself and reports its number, so parallel runs
# never collide.
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$SCRATCH/display" >>"$LOG" 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do
  [ -s "$SCRATCH/display" ] && break
  kill -0 "$XVFB_PID" 2>/dev/null || { echo "desktop-smoke: Xvfb did not start; see $LOG" >&2; exit 1; }
  sleep 0.1
done
[ -s "$SCRATCH/display" ] || { echo "desktop-smoke: Xvfb reported no display within 10 s; see $LOG" >&2; exit 1; }
DISPLAY_NUM=$(tr -d '[:space:]' <"$SCRATCH/display")

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

# The app's recent-files list goes to a scratch folder, not the user's.
mkdir -p "$SCRATCH/state"
DISPLAY=":$DISPLAY_NUM" TAURI_WEBVIEW_AUTOMATION=true SLUICE_STATE_DIR="$SCRATCH/state" \
  WebKitWebDriver --host=127.0.0.1 --port="$PORT" >>"$LOG" 2>&1 &
WD_PID=$!

status=0
(cd ui && WEBDRIVER_URL="http://127.0.0.1:$PORT" node e2e/desktop.mjs "$APP" "$FLOW") || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- last lines of $LOG ---" >&2
  tail -n 40 "$LOG" >&2
fi
exit "$status"

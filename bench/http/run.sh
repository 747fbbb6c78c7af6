#!/usr/bin/env bash
# HTTP sink throughput (issue 7): Sluice's http_sink POSTing a tickets CSV to a local row
# counter, at concurrency 1, 8 and 32, batching off (one row per request) and on (a JSON
# array of --batch rows per request), beside curl and wrk sending the same bodies to the
# same endpoint in the same run. Prints a markdown table of rows/s and ratios.
#
#   bench/http/run.sh [--rows 50000] [--batch-total 1000000] [--batch 100]
#                     [--concurrency "1 8 32"] [--duration 5] [--fork-requests 500]
#                     [--repeat 2] [--port 18090] [--no-build]
#
# Every figure is rows the counter received divided by the time between the first and the
# last request it saw (one clock for every peer; `row-counter/src/main.rs`). Sluice's wall
# time (process start to exit: planning, reading the CSV, building requests) is shown too.
# Each Sluice run must deliver exactly its input's rows (checked; the script fails
# otherwise). Best of --repeat runs per cell.
#
# Peers, per concurrency C:
#   wrk        -c C -t min(C,2) -d --duration s -s post.lua (keep-alive, fixed body)
#   curl       one process sending as many requests as Sluice: sequential over one
#              keep-alive connection at C=1, `--parallel --parallel-max C` above
#   curl/fork  one curl process per request (`xargs -P C`), --fork-requests requests: what
#              a shell loop does
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROWS=50000; BATCH_TOTAL=1000000; BATCH=100; CONCURRENCY="1 8 32"; DURATION=5; FORK_REQUESTS=500; REPEAT=2; PORT=18090; BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2;;
    --batch-total) BATCH_TOTAL="$2"; shift 2;;
    --batch) BATCH="$2"; shift 2;;
    --concurrency) CONCURRENCY="$2"; shift 2;;
    --duration) DURATION="$2"; shift 2;;
    --fork-requests) FORK_REQUESTS="$2"; shift 2;;
    --repeat) REPEAT="$2"; shift 2;;
    --port) PORT="$2"; shift 2;;
    --no-build) BUILD=0; shift;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install wrk curl python3)" >&2; exit 2; }
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SLUICE="$CARGO_TARGET_DIR/release/sluice"
COUNTER_TARGET="$CARGO_TARGET_DIR/bench-http"
COUNTER="$COUNTER_TARGET/release/row-counter"
if [ "$BUILD" = 1 ]; then
  echo "building Sluice (release) and the row counter…" >&2
  (cd "$ROOT" && cargo build --release --locked -q)
  CARGO_TARGET_DIR="$COUNTER_TARGET" cargo build --release -q --manifest-path "$HERE/row-counter/Cargo.toml"
fi

OUT="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$OUT"
}
trap cleanup EXIT
# A copy, so that a build started meanwhile (the target folder may be shared) cannot swap
# the binary under the runs.
cp "$SLUICE" "$OUT/sluice"; SLUICE="$OUT/sluice"
# Run history of the bench runs stays out of the user's state file.
export SLUICE_STATE_DIR="$OUT/state"

python3 "$HERE/gen_rows.py" "$ROWS" "$BATCH" "$OUT"
[ "$BATCH_TOTAL" = "$ROWS" ] || python3 "$HERE/gen_rows.py" "$BATCH_TOTAL" "$BATCH" "$OUT"

URL="http://127.0.0.1:$PORT"
"$COUNTER" "127.0.0.1:$PORT" >"$OUT/counter.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do curl -sf "$URL/stats" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$URL/stats" >/dev/null || { echo "the row counter did not start:" >&2; cat "$OUT/counter.log" >&2; exit 1; }

# stat FIELD: a number from the counter's /stats.
stat() { curl -s "$URL/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
now() { date +%s.%N; }

# measure EXPECTED_ROWS CMD… → "rows_per_s rows wall_s" of one run; EXPECTED_ROWS "-" skips the
# exact check (wrk runs for a time, not a count). Fails on a mismatch or a refused body.
measure() {
  local expected="$1"; shift
  curl -s -X POST "$URL/reset" >/dev/null
  local t0 t1 rows bad window
  t0=$(now)
  "$@" >"$OUT/peer.out" 2>&1 || { echo "FAILED: $*" >&2; tail -20 "$OUT/peer.out" >&2; return 1; }
  t1=$(now)
  rows=$(stat rows); bad=$(stat bad_requests); window=$(stat window_s)
  if [ "$bad" != 0 ]; then echo "the counter refused $bad bodies from: $*" >&2; return 1; fi
  if [ "$expected" != "-" ] && [ "$rows" != "$expected" ]; then
    echo "MISMATCH: the counter received $rows rows, expected $expected, from: $*" >&2; return 1
  fi
  awk -v r="$rows" -v w="$window" -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.0f %d %.2f\n", (w > 0 ? r / w : 0), r, b - a }'
}

# best EXPECTED_ROWS CMD… → the fastest of $REPEAT runs ("rows_per_s rows wall_s").
best() {
  local out="" line i
  for i in $(seq "$REPEAT"); do
    line=$(measure "$@") || return 1
    if [ -z "$out" ] || [ "${line%% *}" -gt "${out%% *}" ]; then out="$line"; fi
  done
  echo "$out"
}

curl_config() { # curl_config N → a curl config file with N URLs
  local f="$OUT/urls_$1.cfg"
  [ -s "$f" ] || yes "url = \"$URL/rows\"" | head -n "$1" >"$f"
  echo "$f"
}

curl_one_process() { # curl_one_process C BODY N
  local c="$1" body="$2" n="$3" par=()
  [ "$c" -gt 1 ] && par=(--parallel --parallel-max "$c")
  curl -s --no-progress-meter "${par[@]}" -H 'content-type: application/json' --data-binary "@$body" -K "$(curl_config "$n")" -o /dev/null
}

curl_fork() { # curl_fork C N BODY: one curl process per request, C at a time
  seq "$2" | xargs -P "$1" -n 1 sh -c "curl -s -o /dev/null -H 'content-type: application/json' --data-binary @$3 $URL/rows" _ 2>/dev/null || true
}

fmt() { awk -v x="$1" 'BEGIN{ if (x >= 100000) printf "%.0fk", x / 1000; else if (x >= 10000) printf "%.1fk", x / 1000; else printf "%.0f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else printf "–" }'; }

echo "| batching | C | Sluice rows/s (wall s) | wrk rows/s | curl rows/s | curl/fork rows/s | Sluice / wrk | Sluice / curl |"
echo "|---|---|---|---|---|---|---|---|"
for mode in off on; do
  if [ "$mode" = off ]; then rows_per_req=1; n="$ROWS"; body="$OUT/row.json"; label="off (1 row/request)"
  else rows_per_req="$BATCH"; n="$BATCH_TOTAL"; body="$OUT/batch_$BATCH.json"; label="on ($BATCH rows/request)"; fi
  requests=$(( (n + rows_per_req - 1) / rows_per_req ))
  for c in $CONCURRENCY; do
    line=$(best "$n" "$SLUICE" run "$HERE/http-sink.flow.json" \
      -p "input=$OUT/tickets_$n.csv" -p "target_url=$URL" -p "concurrency=$c" -p "batch_rows=$rows_per_req") || exit 1
    read -r s_rate _ s_wall <<<"$line"
    threads=$(( c < 2 ? c : 2 ))
    line=$(best - env BODY_FILE="$body" wrk -t "$threads" -c "$c" -d "${DURATION}s" -s "$HERE/post.lua" "$URL/rows") || exit 1
    read -r w_rate _ _ <<<"$line"
    line=$(best "$(( requests * rows_per_req ))" curl_one_process "$c" "$body" "$requests") || exit 1
    read -r c_rate _ _ <<<"$line"
    fork_n=$(( FORK_REQUESTS < requests ? FORK_REQUESTS : requests ))
    line=$(best "$(( fork_n * rows_per_req ))" curl_fork "$c" "$fork_n" "$body") || exit 1
    read -r f_rate _ _ <<<"$line"
    echo "| $label | $c | $(fmt "$s_rate") ($s_wall) | $(fmt "$w_rate") | $(fmt "$c_rate") | $(fmt "$f_rate") | $(ratio "$s_rate" "$w_rate") | $(ratio "$s_rate" "$c_rate") |"
  done
done
echo >&2
echo "Sluice runs delivered exactly their input's rows (checked by the counter): $ROWS rows unbatched, $BATCH_TOTAL batched." >&2

#!/usr/bin/env bash
# Times Sluice beside DuckDB, in the same run, on the jobs of the engine-foundation issue:
# CSV → CSV pass-through and the W1 row filter, at the given sizes. Best of R runs; wall
# seconds and peak RSS from /usr/bin/time -v. Prints a markdown table (ratios to DuckDB).
#
#   bench/compare.sh [--rows "1000000 5000000"] [--repeat 3]
#
# Needs a writable copy of ../shared/bench with its set-up done (DuckDB in its .venv, data
# generated): PEER_DIR (default bench/.peer, made and set up on first use).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$HERE/.."
ROWS="1000000"; REPEAT=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2;;
    --repeat) REPEAT="$2"; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
PEER_DIR="${PEER_DIR:-$HERE/.peer}"
if [ ! -x "$PEER_DIR/.venv/bin/python" ]; then
  rm -rf "$PEER_DIR"; cp -r "$ROOT/../shared/bench" "$PEER_DIR"; chmod -R u+w "$PEER_DIR"
  (cd "$PEER_DIR" && ./setup.sh --rows 1000000 >/dev/null)
fi
PY="$PEER_DIR/.venv/bin/python"
(cd "$ROOT" && cargo build --release --locked -q)
SLUICE="$ROOT/target/release/sluice"
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT

# time_best LABEL CMD... → "seconds rss_mb" of the fastest of $REPEAT runs
time_best() {
  local best="" rss="" i t r
  for i in $(seq "$REPEAT"); do
    /usr/bin/time -v -o "$OUT/time" "$@" >/dev/null 2>"$OUT/err" || { cat "$OUT/err" >&2; echo "FAILED: $*" >&2; return 1; }
    t=$(awk -F': ' '/Elapsed \(wall clock\)/ {split($2,a,":"); if (length(a)==3) print a[1]*3600+a[2]*60+a[3]; else print a[1]*60+a[2]}' "$OUT/time")
    r=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$OUT/time")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$r; fi
  done
  echo "$best $rss"
}

echo "| rows | job | Sluice s | Sluice MB | DuckDB s | DuckDB MB | Sluice / DuckDB |"
echo "|---|---|---|---|---|---|---|"
for n in $ROWS; do
  data="$PEER_DIR/data/tickets_$n.csv"
  [ -s "$data" ] || python3 "$PEER_DIR/gen.py" --rows "$n" --out "$data"
  export BENCH_INPUT="$data" BENCH_OUTPUT="$OUT/sluice.csv"
  for job in passthrough filter; do
    read -r st sm < <(time_best "$SLUICE" run "$HERE/flows/$job.flow.json")
    rows_s=$(wc -l < "$OUT/sluice.csv")
    read -r dt dm < <(time_best "$PY" "$HERE/peers/duckdb_extra.py" "$job" "$data" "$OUT/duck.csv")
    rows_d=$(wc -l < "$OUT/duck.csv")
    [ "$rows_s" = "$rows_d" ] || echo "warning: $job wrote $rows_s lines, DuckDB $rows_d" >&2
    echo "| $n | $job | $st | $sm | $dt | $dm | $(awk "BEGIN{printf \"%.2f\", $st/$dt}") |"
  done
  read -r dt dm < <(time_best "$PY" "$HERE/peers/duckdb_extra.py" passthrough_varchar "$data" "$OUT/duck.csv")
  echo "| $n | passthrough (DuckDB all_varchar) | | | $dt | $dm | |"
done

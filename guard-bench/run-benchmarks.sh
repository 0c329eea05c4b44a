#!/usr/bin/env bash
# Runs guard-bench's JMH suite and writes the results table to docs/BENCHMARKS.md.
#
#   guard-bench/run-benchmarks.sh                      # the whole suite, ~10 min on 2 cores
#   guard-bench/run-benchmarks.sh 'ClosedCall1T' -wi 1 -i 2 -w 500ms -r 500ms   # a subset, short iterations
#
# Every argument goes to JMH (a benchmark regex, -wi/-i/-w/-r/-f, ...). SKIP_BUILD=1 reuses the built jar.
# Run it on a quiet machine: anything else running skews the numbers, the 2-thread ones most.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/guard-bench"
JAR="$BENCH/target/benchmarks.jar"
JSON="$BENCH/target/jmh-result.json"
LOG="$BENCH/target/jmh-output.txt"
OUT="$ROOT/docs/BENCHMARKS.md"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

cd "$ROOT"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo ">> building guard-core and guard-bench"
  mvn -B -q -pl guard-core,guard-bench -am package -DskipTests
fi
[[ -f "$JAR" ]] || { echo "missing $JAR: build it first" >&2; exit 1; }

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
COMMAND="guard-bench/run-benchmarks.sh${*:+ $*}"
echo ">> $COMMAND (JMH output also in ${LOG#"$ROOT"/})"
rm -f "$JSON"
"$JAVA" -jar "$JAR" -prof gc -rf json -rff "$JSON" "$@" 2>&1 | tee "$LOG"

[[ -s "$JSON" ]] || { echo "JMH wrote no results to $JSON" >&2; exit 1; }
python3 "$BENCH/report.py" --json "$JSON" --out "$OUT" --command "$COMMAND" --load-before "$LOAD_BEFORE"

#!/usr/bin/env bash
# Runs guard-bench's JMH suite and writes the results table to docs/BENCHMARKS.md.
#
#   guard-bench/run-benchmarks.sh                      # the whole suite, ~31 min on 2 cores (33 with OUTAGE=1)
#   guard-bench/run-benchmarks.sh 'ClosedCall1T' -wi 1 -i 2 -w 500ms -r 500ms   # a subset, short iterations
#
#   OUTAGE=1 guard-bench/run-benchmarks.sh 'JdbcGuard|KafkaSend' -wi 1 -i 3 -w 1s -r 1s
#                                                      # + the Kafka outage latency run (OutageLatency, ~1.5 min)
#
# Every argument goes to JMH (a benchmark regex, -wi/-i/-w/-r/-f, ...). SKIP_BUILD=1 reuses the built jar.
# REPORT_OUT=/tmp/bench.md writes the report there instead of docs/BENCHMARKS.md (for smoke runs).
# With no arguments (or EXTRAS=1) it also runs dev.guard.bench.TopicFootprint (heap per topic, seconds) and
# dev.guard.bench.ReplayDrain (replay of 200 000 buffered records after a restart, REPLAY_ROUNDS=6 rounds, ~3 min).
# OUTAGE=1 also runs dev.guard.bench.OutageLatency after JMH (embedded broker stopped for OUTAGE_SECONDS, default
# 10, then AFTER_SECONDS up, default 30; OUTAGES times in one JVM, default 2: the first with the JIT cold) and adds
# its section to the report. The JdbcGuard* and KafkaSend benchmarks and OutageLatency run from the
# same shaded jar (it carries H2, HikariCP and the embedded Kafka broker of guard-testkit). The JDBC part alone,
# about 9 min with the annotations' settings:   guard-bench/run-benchmarks.sh 'JdbcGuard'
# (JdbcGuardAB* measure guarded/raw interleaved in one JVM; JdbcGuard*T the rejection while OPEN).
# ANCHOR_JAR=/path/benchmarks.jar ANCHOR_COMMIT=e7a3e7d also runs that jar's closed-state rows (~4 min) and the
# report checks the "+2 ns over the anchor" targets against them (same window) instead of the recorded figures.
# Run it on a quiet machine: anything else running skews the numbers, the 2-thread ones most.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/guard-bench"
JAR="$BENCH/target/benchmarks.jar"
JSON="$BENCH/target/jmh-result.json"
LOG="$BENCH/target/jmh-output.txt"
OUT="${REPORT_OUT:-$ROOT/docs/BENCHMARKS.md}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

cd "$ROOT"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo ">> building guard-bench and the modules it benchmarks"
  mvn -B -q -pl guard-bench -am package -DskipTests
fi
[[ -f "$JAR" ]] || { echo "missing $JAR: build it first" >&2; exit 1; }

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
COMMAND="guard-bench/run-benchmarks.sh${*:+ $*}"
echo ">> $COMMAND (JMH output also in ${LOG#"$ROOT"/})"
rm -f "$JSON"
"$JAVA" -jar "$JAR" -prof gc -rf json -rff "$JSON" "$@" 2>&1 | tee "$LOG"

[[ -s "$JSON" ]] || { echo "JMH wrote no results to $JSON" >&2; exit 1; }

REPORT_ARGS=()
if [[ "${OUTAGE:-0}" == 1 ]]; then
  OUTAGE_JSON="$BENCH/target/outage-result.json"
  OUTAGE_LOG="$BENCH/target/outage-output.txt"
  rm -f "$OUTAGE_JSON"
  echo ">> Kafka outage latency (OutageLatency; output also in ${OUTAGE_LOG#"$ROOT"/})"
  # a raw send blocked on metadata returns within max.block.ms (60 s) of the restart at the latest: bound the run.
  # -XX:+AlwaysPreTouch: no first-touch page faults of a young heap inside the timed sends (see OutageLatency).
  timeout 300 "$JAVA" -Xms1g -Xmx1g -XX:+AlwaysPreTouch -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$JAR" \
      dev.guard.bench.OutageLatency --json "$OUTAGE_JSON" --outage-seconds "${OUTAGE_SECONDS:-10}" --after-seconds "${AFTER_SECONDS:-30}" \
      --outages "${OUTAGES:-2}" 2>&1 \
      | grep -v 'NetworkClient' | tee "$OUTAGE_LOG"
  [[ -s "$OUTAGE_JSON" ]] || { echo "OutageLatency wrote no results to $OUTAGE_JSON" >&2; exit 1; }
  REPORT_ARGS+=(--outage "$OUTAGE_JSON")
  COMMAND="OUTAGE=1 $COMMAND"
fi
# ANCHOR_JAR=<benchmarks.jar of the anchor commit> (ANCHOR_COMMIT=<hash>): its closed-state rows run in the same
# window, and the report's "+2 ns over the anchor" checks use them instead of the figures of another day's run.
if [[ -n "${ANCHOR_JAR:-}" ]]; then
  ANCHOR_JSON="$BENCH/target/anchor-result.json"
  rm -f "$ANCHOR_JSON"
  echo ">> anchor rows from $ANCHOR_JAR (${ANCHOR_COMMIT:-commit not given})"
  "$JAVA" -jar "$ANCHOR_JAR" 'ClosedCall[12]T.(baseline|guardCall|guardAsync)$' -prof gc -rf json -rff "$ANCHOR_JSON" \
      2>&1 | grep -E '^(# Benchmark:|ClosedCall)' || true
  [[ -s "$ANCHOR_JSON" ]] || { echo "the anchor jar wrote no results to $ANCHOR_JSON" >&2; exit 1; }
  REPORT_ARGS+=(--anchor-json "$ANCHOR_JSON" --anchor-commit "${ANCHOR_COMMIT:-anchor jar}")
  COMMAND="ANCHOR_JAR=<jar of ${ANCHOR_COMMIT:-the anchor}> $COMMAND"
fi
# The whole suite (no arguments) or EXTRAS=1 also runs the many-topics footprint and the replay after an outage.
if [[ "${EXTRAS:-$([[ $# -eq 0 ]] && echo 1 || echo 0)}" == 1 ]]; then
  FOOTPRINT_JSON="$BENCH/target/footprint-result.json"
  REPLAY_JSON="$BENCH/target/replay-result.json"
  rm -f "$FOOTPRINT_JSON" "$REPLAY_JSON"
  echo ">> heap per topic (TopicFootprint)"
  "$JAVA" -Xms1g -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$JAR" dev.guard.bench.TopicFootprint \
      --topics 10000 --json "$FOOTPRINT_JSON"
  echo ">> replay after an outage (ReplayDrain, ~2 min)"
  timeout 900 "$JAVA" -Xms2g -Xmx2g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$JAR" dev.guard.bench.ReplayDrain \
      --records 200000 --value-bytes 200 --rounds "${REPLAY_ROUNDS:-6}" --json "$REPLAY_JSON" 2>&1 \
      | grep -E '^(round|median)'
  REPORT_ARGS+=(--footprint "$FOOTPRINT_JSON" --replay "$REPLAY_JSON")
fi
python3 "$BENCH/report.py" --json "$JSON" --out "$OUT" --command "$COMMAND" --load-before "$LOAD_BEFORE" \
    ${REPORT_ARGS[@]+"${REPORT_ARGS[@]}"}

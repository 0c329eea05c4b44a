#!/usr/bin/env python3
"""Turns guard-bench's JMH JSON result into docs/BENCHMARKS.md.

Usage: report.py --json target/jmh-result.json --out docs/BENCHMARKS.md --command "..." [--load-before "..."]

Standard library only. Overhead = contender ns/op - baseline ns/op (same scenario, same thread count).
"""

import argparse
import datetime
import json
import math
import os
import platform
import subprocess

PKG = "dev.guard.bench."

# Targets of the performance section.
RATIO_TARGET = {1: 0.25, 2: 0.20}  # guard overhead / Resilience4j overhead, closed-state call
OPEN_TARGET_NS = 10.0  # open-state rejection (guard-core time-limits issue: a single volatile read)
# Closed-state guard overhead (ns over baseline) of the run before the permit tokens (docs/BENCHMARKS.md of
# 2026-11-23, suite on e7a3e7d): the permit-token issue allows at most ANCHOR_SLACK_NS more, same machine.
ANCHOR_COMMIT = "e7a3e7d"
ANCHOR_OVERHEAD_NS = {
    ("guardCall", "0", 1): 4.8, ("guardCall", "0", 2): 4.5, ("guardCall", "10", 1): 14.1, ("guardCall", "10", 2): 26.1,
    ("guardAsync", "0", 1): 4.2, ("guardAsync", "0", 2): 5.6, ("guardAsync", "10", 1): 12.8, ("guardAsync", "10", 2): 24.6,
}
ANCHOR_SLACK_NS = 2.0
JDBC_RATIO_TARGET = 1.02  # guarded / raw ns/op, same run (guard-jdbc issue)
JDBC_REJECT_TARGET_NS = 10_000.0  # getConnection() rejection while OPEN
KAFKA_RATIO_TARGET = 0.98  # guarded / raw send() ops/s, same run (guard-kafka issue)
KAFKA_OPEN_P99_TARGET_NS = 10_000.0  # guarded send() p99 once the breaker is open
ZERO_BYTES = 0.05  # B/op under this counts as 0 (JMH's own per-iteration allocations show as ~0.001 B/op)

CLOSED_ROWS = [
    ("baseline", "Baseline", "the bare work, no breaker"),
    ("guardCall", "guard", "`call(callable)`"),
    ("guardSupplier", "guard", "`decorateSupplier(supplier)`, then `get()`"),
    ("guardAsync", "guard", "`tryAcquire()` + `onSuccess(p, 0)` / `onFailure(p, 0, e)`"),
    ("r4jCall", "Resilience4j 2.4.0", "`executeCallable(callable)` (times every call)"),
    ("r4jAsync", "Resilience4j 2.4.0", "`tryAcquirePermission()` + `onSuccess(0, ns)` / `onError(0, ns, e)`"),
    ("failsafeCall", "Failsafe 3.3.2", "`Failsafe.with(cb).get(supplier)`"),
    ("failsafeAsync", "Failsafe 3.3.2", "`tryAcquirePermit()` + `recordSuccess()` / `recordException(e)`"),
]

OPEN_ROWS = [
    ("guardCall", "guard", "`call(callable)` -> `CallNotPermittedException` (OPEN)"),
    ("guardTryAcquire", "guard", "`tryAcquire()` -> `NO_PERMIT` (OPEN)"),
    ("guardForcedTryAcquire", "guard", "`tryAcquire()` -> `NO_PERMIT` (FORCED_OPEN, no wait to check)"),
    ("r4jCall", "Resilience4j 2.4.0", "`executeCallable(callable)` -> `CallNotPermittedException`"),
    ("r4jTryAcquire", "Resilience4j 2.4.0", "`tryAcquirePermission()` -> false"),
    ("failsafeCall", "Failsafe 3.3.2", "`Failsafe.with(cb).get(supplier)` -> `CircuitBreakerOpenException`"),
    ("failsafeTryAcquire", "Failsafe 3.3.2", "`tryAcquirePermit()` -> false"),
]


def num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


class Result:
    def __init__(self, entry):
        pm = entry["primaryMetric"]
        self.score = num(pm.get("score"))
        self.error = num(pm.get("scoreError"))
        self.unit = pm.get("scoreUnit", "")
        self.threads = entry.get("threads", 1)
        self.forks = entry.get("forks", 1)
        sec = entry.get("secondaryMetrics", {})
        self.secondary = sec
        norm = sec.get("gc.alloc.rate.norm")
        self.bytes = num(norm["score"]) if norm else float("nan")
        # per-iteration values of every secondary metric, all forks pooled (AuxCounters of KafkaSend)
        self.raw = {}
        self.raw_forks = {}
        for name, m in sec.items():
            forks = [[num(v) for v in fork if not math.isnan(num(v))] for fork in (m.get("rawData") or [])]
            self.raw_forks[name] = [f for f in forks if f]
            self.raw[name] = [v for f in forks for v in f]


def load(paths):
    """Reads one or more JMH JSON files; a later file's result replaces an earlier one of the same benchmark."""
    data = []
    for path in paths:
        with open(path) as f:
            data.extend(json.load(f))
    results = {}
    for e in data:
        name = e["benchmark"]
        if name.startswith(PKG):
            name = name[len(PKG):]
        cls, method = name.rsplit(".", 1)
        params = e.get("params") or {}
        if cls == "ManyTopicsSend":
            key = (params.get("policy"), params.get("topics"))
        else:
            key = params.get("failEvery")
        results[(cls, method, key)] = Result(e)
    return data, results


def fmt_ns(r):
    if r is None or math.isnan(r.score):
        return "n/a"
    if math.isnan(r.error) or r.error == 0:
        return "%.1f" % r.score
    return "%.1f ± %.1f" % (r.score, r.error)


def fmt_bytes(r):
    if r is None or math.isnan(r.bytes):
        return "n/a"
    if r.bytes < ZERO_BYTES:
        return "0"
    return "%.1f" % r.bytes


def zero_bytes(r):
    return r is not None and not math.isnan(r.bytes) and r.bytes < ZERO_BYTES


def verdict(ok):
    if ok is None:
        return "n/a"
    return "PASS" if ok else "**FAIL**"


def overhead(r, base):
    if r is None or base is None or math.isnan(r.score) or math.isnan(base.score):
        return None
    return r.score - base.score


def fmt_over(o):
    return "n/a" if o is None else "%+.1f" % o


def ratio(g, r4j):
    """guard overhead / Resilience4j overhead; a guard overhead below the baseline's noise counts as 0."""
    if g is None or r4j is None or r4j <= 0:
        return None
    return max(g, 0.0) / r4j


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        nproc = str(os.cpu_count())
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
                    break
    except OSError:
        pass
    return cpu, nproc, mem


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"



def fmt_ops(r):
    if r is None or math.isnan(r.score):
        return "n/a"
    if math.isnan(r.error) or r.error == 0:
        return "%.0f" % r.score
    return "%.0f ± %.0f" % (r.score, r.error)


def rel_noise(a, b):
    """(error a + error b) / score b: how far the ratio a/b can move within the two 99.9% intervals."""
    if a is None or b is None or math.isnan(a.error) or math.isnan(b.error) or not b.score:
        return None
    return (a.error + b.error) / b.score


def ratio_verdict(q, ok, noise, margin):
    v = verdict(None if q is None else ok)
    if q is not None and noise is not None and noise > margin:
        v += " (inconclusive: ± %.0f%% noise)" % (noise * 100)
    return v


def score_ratio(a, b):
    if a is None or b is None or math.isnan(a.score) or math.isnan(b.score) or b.score == 0:
        return None
    return a.score / b.score


# ------------------------------------------------------------------------------------------------ statistics

def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (Numerical Recipes, modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-12:
            break
    return h


def betai(a, b, x):
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1.0 - x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbeta) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbeta) * _betacf(b, a, 1.0 - x) / b


def t_quantile(p, df):
    """The p-quantile (p > 0.5) of Student's t with df degrees of freedom, by bisection on its CDF."""
    def upper_tail(t):
        return 0.5 * betai(df / 2.0, 0.5, df / (df + t * t))
    lo, hi = 0.0, 1e6
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if upper_tail(mid) > 1.0 - p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def f_survival(f, d1, d2):
    """P(F > f) for Fisher's F with (d1, d2) degrees of freedom."""
    if f <= 0:
        return 1.0
    return betai(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * f))


CONFIDENCE = 0.999  # two-sided, like JMH's own ± errors
FORKS_DISAGREE_P = 0.001  # one-way ANOVA across forks


def forks_anova_p(groups):
    """One-way ANOVA over the forks' per-iteration values: the probability that means this far apart come from forks
    measuring the same thing (None below two forks). A small p means the forks disagree, and an interval that treats
    every iteration as independent would claim too much."""
    k = len(groups)
    n = sum(len(g) for g in groups)
    if k < 2 or n <= k:
        return None
    mean = sum(v for g in groups for v in g) / n
    means = [sum(g) / len(g) for g in groups]
    ss_between = sum(len(g) * (m - mean) ** 2 for g, m in zip(groups, means))
    ss_within = sum((v - m) ** 2 for g, m in zip(groups, means) for v in g)
    if ss_within <= 0:
        return 0.0 if ss_between > 0 else 1.0
    return f_survival((ss_between / (k - 1)) / (ss_within / (n - k)), k - 1, n - k)


class Ratio:
    """guarded/raw from one pair of JdbcGuardAB counters (wall-clock or CPU nanoseconds): one ratio per measurement
    iteration (raw and guarded ns/op of that iteration), Student's t interval over all iterations of all forks, and a
    one-way ANOVA telling whether the forks agree."""

    def __init__(self, sec, raw_key, guarded_key):
        need = (raw_key, "rawOps", guarded_key, "guardedOps")
        self.ok = all(k in sec and sec[k].get("rawData") for k in need)
        if not self.ok:
            return
        rn, ro, gn, go = (sec[k]["rawData"] for k in need)
        self.fork_ratios = []
        tot = [0.0, 0.0, 0.0, 0.0]
        for f in range(len(rn)):
            ratios = []
            for i in range(len(rn[f])):
                if min(rn[f][i], ro[f][i], gn[f][i], go[f][i]) <= 0:
                    continue
                ratios.append((gn[f][i] / go[f][i]) / (rn[f][i] / ro[f][i]))
                for j, v in enumerate((rn[f][i], ro[f][i], gn[f][i], go[f][i])):
                    tot[j] += v
            if ratios:
                self.fork_ratios.append(ratios)
        samples = [q for fr in self.fork_ratios for q in fr]
        self.n = len(samples)
        if self.n < 2:
            self.ok = False
            return
        self.raw_ns, self.guarded_ns = tot[0] / tot[1], tot[2] / tot[3]
        self.mean = sum(samples) / self.n
        sd = math.sqrt(sum((q - self.mean) ** 2 for q in samples) / (self.n - 1))
        self.half = t_quantile(0.5 + CONFIDENCE / 2.0, self.n - 1) * sd / math.sqrt(self.n)
        self.lo, self.hi = self.mean - self.half, self.mean + self.half
        self.fork_means = [sum(fr) / len(fr) for fr in self.fork_ratios]
        self.forks_p = forks_anova_p(self.fork_ratios)

    def forks_disagree(self):
        return self.forks_p is not None and self.forks_p < FORKS_DISAGREE_P

    def verdict(self, target):
        if not self.ok:
            return "n/a"
        if self.forks_disagree():
            return "inconclusive: forks disagree"
        if self.hi <= target:
            return "PASS"
        if self.lo > target:
            return "**FAIL**"
        return "inconclusive"

    def includes(self, value):
        return self.ok and self.lo <= value <= self.hi and not self.forks_disagree()

    def cell(self):
        if not self.ok:
            return "n/a"
        return "%.4f [%.4f, %.4f]" % (self.mean, self.lo, self.hi)

    def forks_cell(self):
        if not self.ok:
            return "n/a"
        p = "" if self.forks_p is None else "; p = %.2g" % self.forks_p
        return "%s%s" % (" ".join("%.3f" % m for m in self.fork_means), p)


def per_op_bytes(sec, bytes_key, ops_key):
    try:
        b = sum(map(sum, sec[bytes_key]["rawData"]))
        o = sum(map(sum, sec[ops_key]["rawData"]))
    except (KeyError, TypeError):
        return float("nan")
    return b / o if o else float("nan")


JDBC_OPERATIONS = [
    ("selectByPk", "primary-key SELECT: `getConnection`, `prepareStatement`, `executeQuery`, `next`, `getString`, close"),
    ("insert", "single-row INSERT (auto-commit): `getConnection`, `prepareStatement`, `executeUpdate`, close"),
]


def fmt_q(v):
    return "n/a" if v is None or math.isnan(v) else "%.3f" % v


def fmt_b(v):
    return "n/a" if v is None or math.isnan(v) else "%.0f" % v


def suite_default(benchmark):
    """(warmup iterations, measurement iterations, forks) a benchmark has when run with its annotations' settings."""
    if ".JdbcGuardAB" in benchmark:
        return (4, 10, 1) if benchmark.endswith("_aa") else (4, 12, 6)
    if ".GuardedSendPath." in benchmark or ".GuardedJdbcPath." in benchmark or ".ManyTopicsSend." in benchmark:
        return (4, 6, 2)
    if ".DurableLogAppend." in benchmark:
        return (2, 3, 1)
    return (5, 8, 1)


def jdbc_outage_section(p, path):
    """Issue 23, point 6: the PostgreSQL pool outage figures, measured by an integration test, not by JMH."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        lines = f.read().splitlines()
    table, targets, measured = [], [], None
    for i, line in enumerate(lines):
        if line.startswith("| fault |"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                table.append(lines[j])
                j += 1
        if line.startswith("Targets (issue 23)"):
            j = i
            while j < len(lines) and lines[j].strip():
                targets.append(lines[j])
                j += 1
        if line.startswith("- Measured on") and measured is None:
            measured = line[2:].strip()
            k = i + 1
            while k < len(lines) and lines[k].startswith("  "):
                measured += " " + lines[k].strip()
                k += 1
    if not table:
        return
    p("## guard-jdbc: a real PostgreSQL outage behind HikariCP")
    p("")
    p("Not a JMH run: `GuardedPostgresPoolOutageTest` (integration-tests) measures it and asserts every target; the")
    p("setup, the re-run command and why the figures are what they are: [jdbc-outage.md](jdbc-outage.md), whose table")
    p("this copies%s." % (" (%s)" % measured.rstrip(".") if measured else ""))
    p("")
    for line in table:
        p(line)
    p("")
    for line in targets:
        p(line)
    p("")


def jdbc_section(p, res, banner):
    paired_keys = [k for k in res if k[0] in ("JdbcGuardAB1T", "JdbcGuardAB2T")]
    reject_keys = [k for k in res if k[0] in ("JdbcGuard1T", "JdbcGuard2T") and k[1] == "rejectWhenOpen"]
    if not paired_keys and not reject_keys:
        return
    p("## guard-jdbc: GuardedDataSource vs raw HikariCP")
    p("")
    p(banner)
    p("")
    p("Issue target: overhead <= %d%% (guarded/raw <= %.2f, same run); `getConnection()` rejection while OPEN <= %.0f"
      " µs." % (round((JDBC_RATIO_TARGET - 1) * 100), JDBC_RATIO_TARGET, JDBC_REJECT_TARGET_NS / 1000))
    p("One HikariCP pool (4 connections) over H2 in-memory (`jdbc:h2:mem:bench`), `item(id bigint primary key,")
    p("name varchar)` with 10 000 rows; the guard is `GuardedDataSource.builder(pool).name(\"bench\")"
      ".registry(BreakerRegistry.create()).build()` (`BreakerConfig.database()`: no clock reading per call).")
    p("")
    if paired_keys:
        p("### Overhead: raw and guarded interleaved in one JVM (`dev.guard.bench.JdbcGuardAB`)")
        p("")
        p("Raw and guarded run **in the same JVM, alternately**, on the same pool, the same table, the same threads:")
        p("time is cut into 2 ms slots shared by all threads, in pairs (one slot each, in a pseudo-random order within")
        p("the pair), and each slot runs blocks of 16 operations of its contender through one compiled copy of the")
        p("benchmark code. Each 1 s measurement iteration gives one paired sample, guarded ns/op / raw ns/op of that same")
        p("second, so whatever drifts (other work on the machine, GC, the database) drifts for both. Why: measured in")
        p("separate JVMs, as before, the two scores moved by up to ±5% from one JVM to the next whatever the code, which")
        p("hid a 2% question. A strict raw/guarded alternation, tried first, aliased with the kernel's 4 ms timer tick")
        p("(3 - 8% to whichever contender shared its phase, identical code included), hence the random order in a pair.")
        p("")
        p("The pool's entry points (`HikariDataSource.getConnection`, the `HikariProxy*` methods, the proxies' `close`)")
        p("are compiled once and called, not inlined, by both contenders (`-XX:CompileCommand=dontinline`): each JVM's JIT")
        p("otherwise inlines the pool and the driver into each path its own way, and two identical, separately compiled")
        p("copies of the raw INSERT came out 0.985 - 1.027 of each other from one JVM to the next, which is no cost of the")
        p("guard. With the pin the only code that differs between the contenders is the guard's. Its price: both paths")
        p("call those small methods instead of inlining them, which made raw about 30 ns slower in development runs and")
        p("shrinks the overhead a ratio shows by as much (a true 1.50% shows as about 1.46%).")
        p("")
        p("JVM `-Xms2g -Xmx2g -XX:+UseParallelGC`: sub-millisecond young pauses here (G1's were 5 ms and more, each on")
        p("one contender's slot); a young collection costs what survives, and the guard's two wrappers per request never")
        p("survive it. The INSERT benchmark deletes each block's rows right after the block, untimed, so every INSERT goes")
        p("into the same 10 000-row table (rows piling up for a whole iteration made 100 ms young pauses). B/op is each")
        p("contender's own allocation (`ThreadMXBean.getCurrentThreadAllocatedBytes()` around its blocks).")
        p("")
        p("guarded/raw is the mean of the per-iteration ratios, with its %.1f%% confidence interval in brackets (Student's t"
          % (CONFIDENCE * 100))
        p("over all measurement iterations of all forks, JMH's convention for its ± errors), from wall-clock time (the")
        p("verdict) and from the thread's CPU time (`ThreadMXBean.getCurrentThreadCpuTime()`: without the time the thread")
        p("was not running, preempted by another process or stopped for GC; the guard only adds work on the calling")
        p("thread, so this is its cost without the machine's noise; its two readings per block add about 15 ns per")
        p("operation to both sides). **PASS** needs the whole wall-clock interval at or under %.2f and **FAIL** the whole"
          % JDBC_RATIO_TARGET)
        p("interval above it; anything else is inconclusive, and so is a result whose forks disagree: when the forks'")
        p("means differ by more than their iterations' scatter explains (one-way ANOVA, p < %g; p in the forks column),"
          % FORKS_DISAGREE_P)
        p("something differed between the JVMs (the JIT's code, the machine) and the iterations are not one population.")
        p("The A/A row runs the raw pool in both contenders' slots and must include 1.")
        p("")
        p("| operation | threads | raw ns/op | guarded ns/op | B/op raw | B/op guarded | guarded/raw, wall-clock [%.1f%%] |"
          " forks: wall-clock ratio | guarded/raw, CPU time [%.1f%%] | target <= %.2f |"
          % (CONFIDENCE * 100, CONFIDENCE * 100, JDBC_RATIO_TARGET))
        p("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |")
        rows = [(op, what, t, "_ab") for op, what in JDBC_OPERATIONS for t in (1, 2)]
        rows.append(("selectByPk", "A/A control: primary-key SELECT, raw pool in both contenders' slots", 1, "_aa"))
        for op, what, t, suffix in rows:
            r = res.get(("JdbcGuardAB%dT" % t, op + suffix, None))
            if r is None:
                continue
            wall = Ratio(r.secondary, "rawNanos", "guardedNanos")
            cpu = Ratio(r.secondary, "rawCpuNanos", "guardedCpuNanos")
            if not wall.ok:
                p("| %s | %d | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a (no paired counters) |" % (what, t))
                continue
            if suffix == "_aa":
                check = "includes 1" if wall.includes(1.0) else "**biased: excludes 1**"
                check_cpu = "" if not cpu.ok else " (CPU: %s)" % ("includes 1" if cpu.includes(1.0) else "excludes 1")
            else:
                check = wall.verdict(JDBC_RATIO_TARGET)
                check_cpu = "" if not cpu.ok else " (CPU time: %s)" % cpu.verdict(JDBC_RATIO_TARGET).replace("*", "")
            p("| %s | %d | %.1f | %.1f | %s | %s | %s | %s | %s | %s%s |"
              % (what, t, wall.raw_ns, wall.guarded_ns,
                 fmt_b(per_op_bytes(r.secondary, "rawBytes", "rawOps")),
                 fmt_b(per_op_bytes(r.secondary, "guardedBytes", "guardedOps")),
                 wall.cell(), wall.forks_cell(), cpu.cell(), check, check_cpu))
        p("")
    if reject_keys:
        p("### Rejection while OPEN (`dev.guard.bench.JdbcGuard`)")
        p("")
        p("A guard on the same pool whose breaker one real failure tripped OPEN for an hour.")
        p("")
        p("| rejection while OPEN | threads | ns/op | B/op | target <= %.0f ns |" % JDBC_REJECT_TARGET_NS)
        p("| --- | ---: | ---: | ---: | --- |")
        for t in (1, 2):
            r = res.get(("JdbcGuard%dT" % t, "rejectWhenOpen", None))
            if r is None:
                continue
            ok = None if math.isnan(r.score) else r.score <= JDBC_REJECT_TARGET_NS
            p("| `getConnection()` -> `DataSourceUnavailableException` | %d | %s | %s | %s |"
              % (t, fmt_ns(r), fmt_bytes(r), verdict(ok)))
        p("")


# Two-sided 99.9% quantiles of Student's t (the confidence JMH reports), by degrees of freedom.
T999 = [(1, 636.62), (2, 31.599), (3, 12.924), (4, 8.610), (5, 6.869), (6, 5.959), (7, 5.408), (8, 5.041),
        (9, 4.781), (10, 4.587), (12, 4.318), (15, 4.073), (20, 3.850), (25, 3.725), (30, 3.646), (40, 3.551),
        (60, 3.460), (120, 3.373), (10 ** 9, 3.291)]


def t999(df):
    """Student's t quantile for a two-sided 99.9% interval; linear in 1/df between table entries."""
    if df < 1:
        return float("nan")
    for (d0, t0), (d1, t1) in zip(T999, T999[1:]):
        if d0 <= df <= d1:
            w = (1.0 / d0 - 1.0 / df) / (1.0 / d0 - 1.0 / d1)
            return t0 + w * (t1 - t0)
    return T999[-1][1]


def mean_ci(values):
    """(mean, 99.9% half-width, n) of per-iteration values; the half-width is nan below two values."""
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), 0
    m = sum(values) / n
    if n < 2:
        return m, float("nan"), n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    return m, t999(n - 1) * sd / math.sqrt(n), n


KAFKA_PAIRED = [
    # (label, throughput ratio counter, send-call ratio counter, ps/send, send-call ps/send, mB/send)
    ("raw `KafkaProducer`", None, None, "rawPsPerSend", "rawSendCallPsPerSend", "rawMilliBytesPerSend"),
    ("`GuardedProducer`, REJECT topic", "rejectThroughputRatioPpm", "rejectSendCallRatioPpm", "rejectPsPerSend",
     "rejectSendCallPsPerSend", "rejectMilliBytesPerSend"),
    ("`GuardedProducer`, BUFFER topic (default policy)", "bufferThroughputRatioPpm", "bufferSendCallRatioPpm",
     "bufferPsPerSend", "bufferSendCallPsPerSend", "bufferMilliBytesPerSend"),
]


def kafka_section(p, res, banner):
    paired = res.get(("KafkaSend", "pairedRound", None))
    if paired is None:
        return
    p("## guard-kafka: GuardedProducer vs raw KafkaProducer, closed state")
    p("")
    p(banner)
    p("")
    p("Issue target: closed-state `send()` throughput of `GuardedProducer` >= %.2fx the raw `KafkaProducer`, same run."
      % KAFKA_RATIO_TARGET)
    p("Measured at saturation (each producer in its own fork, sending as fast as the broker in the same JVM drains it)")
    p("the error was ±55-69%, useless for a 2% margin; so `dev.guard.bench.KafkaSend` measures paired batches at a")
    p("fixed workload below saturation. One fork starts guard-testkit's embedded KRaft broker (3-partition topics), ONE")
    p("`KafkaProducer` (`acks=all`, `linger.ms=5`, default batch size and buffer memory) and a `GuardedProducer` wrapping")
    p("that very producer (a REJECT topic, a BUFFER topic, everything else default): raw is `send()` on the producer")
    p("itself, so the guard is the only difference. One round = a batch of 1000 sends (100-byte values, no key, no")
    p("callback) through raw, REJECT and BUFFER in turn (the order rotates every round), each batch followed by")
    p("`flush()`: each starts with an empty producer buffer and never blocks on it. A batch's time covers its sends")
    p("and its flush, i.e. 1000 records sent and acknowledged. **Throughput ratio** of a round = t(raw batch) /")
    p("t(guarded batch); each 2 s iteration (a few hundred rounds) reports the *median* of its rounds' ratios, which")
    p("ignores the few batches a GC pause or a preemption spoils; the table gives the mean of the per-iteration medians")
    p("with its 99.9%% error (Student's t) over every iteration of every fork (%d here)."
      % len(paired.raw.get("rejectThroughputRatioPpm", [])))
    p("A verdict is inconclusive when that interval contains the target or is wider than the %.0f%% margin. Also shown:"
      % ((1 - KAFKA_RATIO_TARGET) * 100))
    p("the median time per send of each producer (end to end, and for the `send()` calls alone, the calling thread's")
    p("cost), and the bytes the calling thread allocates per send (`ThreadMXBean`; Kafka's I/O thread allocates the")
    p("same for both). The trial fails if a guarded topic's breaker left CLOSED.")
    p("")
    p("| producer | ns/send, end to end | ns/send, `send()` calls | B/send, calling thread | throughput vs raw"
      " (end to end) | `send()` calls vs raw | target >= %.2fx |" % KAFKA_RATIO_TARGET)
    p("| --- | ---: | ---: | ---: | ---: | ---: | --- |")

    def fmt_mean(name, scale, digits):
        m, e, n = mean_ci(paired.raw.get(name, []))
        if n == 0:
            return "n/a", m, e
        if math.isnan(e):
            return ("%%.%df" % digits) % (m / scale), m / scale, e
        return ("%%.%df ± %%.%df" % (digits, digits)) % (m / scale, e / scale), m / scale, e / scale

    fork_notes = []
    for label, ratio, call_ratio, ps, call_ps, mb in KAFKA_PAIRED:
        t_end, _, _ = fmt_mean(ps, 1000.0, 1)
        t_call, _, _ = fmt_mean(call_ps, 1000.0, 1)
        b, _, _ = fmt_mean(mb, 1000.0, 1)
        if ratio is None:
            p("| %s | %s | %s | %s |  |  |  |" % (label, t_end, t_call, b))
            continue
        q_text, q, q_err = fmt_mean(ratio, 1e6, 3)
        c_text, _, _ = fmt_mean(call_ratio, 1e6, 3)
        forks_p = forks_anova_p(paired.raw_forks.get(ratio, []))
        if math.isnan(q):
            v = "n/a"
        else:
            v = verdict(q >= KAFKA_RATIO_TARGET)
            if math.isnan(q_err) or q_err > 1 - KAFKA_RATIO_TARGET or abs(q - KAFKA_RATIO_TARGET) <= q_err:
                v += " (inconclusive: %.3f ± %s)" % (q, "n/a" if math.isnan(q_err) else "%.3f" % q_err)
            elif forks_p is not None and forks_p < FORKS_DISAGREE_P:
                v += " (inconclusive: forks disagree, p = %.2g)" % forks_p
        if forks_p is not None:
            fork_notes.append("%s: p = %.2g" % (label, forks_p))
        p("| %s | %s | %s | %s | %sx | %sx | %s |" % (label, t_end, t_call, b, q_text, c_text, v))
    p("")
    if fork_notes:
        p("Do the forks agree on the throughput ratio? One-way ANOVA over their iterations (a verdict is inconclusive")
        p("below p = %g): %s." % (FORKS_DISAGREE_P, "; ".join(fork_notes)))
        p("")
    p("The primary JMH score of `KafkaSend.pairedRound` (time per send over the three producers) is not used.")
    p("")


def path_section(p, res, banner):
    """The guard's own CPU cost per record / request, over a producer and JDBC objects that do nothing."""
    rows = [("GuardedSendPath", "raw", "reject", "`GuardedProducer.send()`, REJECT topic, acknowledged at once"),
            ("GuardedSendPath", "raw", "buffer", "`GuardedProducer.send()`, BUFFER topic, acknowledged at once"),
            ("GuardedJdbcPath", "raw", "guarded", "`GuardedDataSource`: the primary-key SELECT request")]
    present = [r for r in rows if res.get((r[0], r[2], None)) is not None]
    if not present:
        return
    p("## Where the overhead comes from: the guard alone, without a broker or a database")
    p("")
    p(banner)
    p("")
    p("`dev.guard.bench.GuardedSendPath`: a `GuardedProducer` over a producer that does nothing but acknowledge each")
    p("record at once on the calling thread (the guard's work on the sender's thread and on the I/O thread, together);")
    p("`dev.guard.bench.GuardedJdbcPath`: a `GuardedDataSource` over JDBC proxies that answer every call with a")
    p("constant. **Guard** = guarded - raw: what the guard adds per record or request while everything is hot in the")
    p("caches. The real runs above divide it by the real cost (about 1.2 µs per Kafka record, 1.1 µs per SELECT); there")
    p("the guard measures more than here (about 19 ns per SELECT in JdbcGuardAB), a difference not attributed yet.")
    p("The raw JDBC proxies' own cost depends on whether the JIT's escape analysis removes their argument arrays (0 to")
    p("72 B/op from one fork to the next), which moves the JDBC difference by several ns: compare guarded ns/op across")
    p("runs, not only the difference.")
    p("")
    p("| path | raw ns/op | guarded ns/op | guard ns | B/op raw | B/op guarded |")
    p("| --- | ---: | ---: | ---: | ---: | ---: |")
    for cls, base, key, label in present:
        b = res.get((cls, base, None))
        g = res.get((cls, key, None))
        o = overhead(g, b)
        p("| %s | %s | %s | %s | %s | %s |" % (label, fmt_ns(b), fmt_ns(g), fmt_over(o), fmt_bytes(b), fmt_bytes(g)))
    p("")


def many_topics_section(p, res, banner, footprint_path):
    """Issue 16: send() cost from 1 to 10 000 topics (ManyTopicsSend), heap per topic (TopicFootprint)."""
    counts = ("1", "100", "10000")
    present = any(res.get(("ManyTopicsSend", "guarded", (pol, n))) for pol in ("REJECT", "BUFFER") for n in counts)
    if not present and not footprint_path:
        return
    p("## guard-kafka: many topics")
    p("")
    p(banner)
    p("")
    if present:
        p("`dev.guard.bench.ManyTopicsSend`: `send()` over a producer that acknowledges at once, each operation to the")
        p("next of `topics` distinct topics in turn, every topic's guard created before the first iteration. **Guard** =")
        p("guarded - raw (raw: the same round-robin on the null producer, which keeps nothing per topic). Issue target:")
        p("flat from 1 to 10 000 topics; allocation per closed send as with one topic (REJECT 0 B, BUFFER 32 B).")
        p("")
        p("| policy | topics | raw ns/op | guarded ns/op | guard ns | B/op guarded | guard vs 1 topic |")
        p("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        verdicts = []
        for pol in ("REJECT", "BUFFER"):
            one = None
            for n in counts:
                b = res.get(("ManyTopicsSend", "raw", (pol, n)))
                g = res.get(("ManyTopicsSend", "guarded", (pol, n)))
                if g is None:
                    continue
                o = overhead(g, b)
                if n == "1":
                    one = o
                q = ratio(o, one)
                p("| %s | %s | %s | %s | %s | %s | %s |" % (pol, n, fmt_ns(b), fmt_ns(g), fmt_over(o), fmt_bytes(g),
                                                        "n/a" if q is None else "%.1fx" % q))
                if n == "10000" and q is not None:
                    verdicts.append("%s %.1fx" % (pol, q))
        p("")
        if verdicts:
            p("- Flat from 1 to 10 000 topics: **%s** (guard cost at 10 000 topics over its cost at 1: %s). With one"
              % ("FAIL" if any(float(v.split()[1][:-1]) > 1.5 for v in verdicts) else "PASS", "; ".join(verdicts)))
            p("  topic every send finds the topic's guard, breaker and window in the cache; with 10 000 each send's")
            p("  state was pushed out by the sends to the other topics, and each object the send path touches costs")
            p("  a cache miss: the cost follows the number of per-topic objects on the path, not the number of topics")
            p("  (no lookup grows with them).")
            p("")
    if footprint_path:
        with open(footprint_path) as f:
            fp = json.load(f)
        p("`dev.guard.bench.TopicFootprint`: heap held per topic by a `GuardedProducer` over a producer that keeps")
        p("nothing, one record sent to each of the topics (the records exist before the first reading), then the topics")
        p("left idle until the producer releases them (`topicIdleTimeout(1 s)`). Heap after `System.gc()`. Issue")
        p("target: at most 1 KB per active topic, 0 after the release.")
        p("")
        p("| policy | topics | bytes per active topic | bytes per topic after release | guards / breakers left | release took |")
        p("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in fp.get("results", []):
            p("| %s | %d | %.0f | %.1f | %d / %d | %d ms |" % (r["policy"], r["topics"], r["bytes_per_active_topic"],
                                                           r["bytes_per_released_topic"], r["guards_after_release"],
                                                           r["breakers_after_release"], r["release_ms"]))
        p("")
        worst = max((r["bytes_per_active_topic"] for r in fp.get("results", [])), default=float("nan"))
        p("- At most 1 KB per active topic: **%s** (%.0f B). After the release no guard and no breaker is left; the"
          % ("PASS" if worst <= 1024 else "FAIL", worst))
        p("  bytes that remain per topic are the producer's topic map, whose table does not shrink. Where an active")
        p("  topic's bytes go: `jcmd <pid> GC.class_histogram` on a producer with 10 000 topics.")
        p("")


def replay_section(p, path):
    """Issue 16: replay after an outage (ReplayDrain)."""
    with open(path) as f:
        r = json.load(f)
    p("## guard-kafka: replay after an outage")
    p("")
    p("`dev.guard.bench.ReplayDrain`: %d records of %d B buffered on a BUFFER topic while the embedded broker is"
      % (r["records"], r["value_bytes"]))
    p("stopped (breaker forced open), the broker restarted, one record acknowledged on the wrapped producer (the")
    p("connection is back), then the breaker closed: the time until the last buffered record is acknowledged, against")
    p("a connected raw `KafkaProducer` sending the same number of ready-made records (first send to last")
    p("acknowledgement). Same producer configuration as KafkaSend; rounds alternate which goes first; a warm-up round")
    p("is not counted. Issue targets: drain rate >= 0.9x raw; heap per buffered record beyond its serialized size <= 64 B.")
    p("")
    p("| round | raw records/s | drain records/s | drain / raw | heap per buffered record | of which the guard's own |")
    p("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, x in enumerate(r["rounds"], 1):
        p("| %d | %.0f | %.0f | %.3f | %.1f B | %.1f B |" % (i, x["raw_rate"], x["drain_rate"],
                                                          x["drain_rate"] / x["raw_rate"], x["heap_per_record"],
                                                          x["guard_heap_per_record"]))
    p("")
    med = r["median_ratio"]
    p("- Drain rate >= 0.9x raw: **%s** (median of the rounds' ratios %.3f, range %.3f-%.3f)."
      % ("PASS" if med >= 0.9 else "FAIL", med, r["min_ratio"], r["max_ratio"]))
    own = r["median_guard_heap_per_record"]
    beyond = r["median_heap_beyond_serialized"]
    p("- Heap per buffered record: the guard's own structures %.1f B (**%s** against 64 B); counting the application's"
      % (own, "PASS" if own <= 64 else "FAIL"))
    p("  `ProducerRecord`, its headers object and the value array's header, which the buffer keeps alive, %.1f B beyond"
      % beyond)
    p("  the serialized size (**%s**): the buffer holds records as the application made them, not serialized." % (
        "PASS" if beyond <= 64 else "FAIL"))
    p("")


def fmt_us(ns):
    if ns is None or ns < 0:
        return "n/a"
    if ns >= 1_000_000:
        return "%.0f" % (ns / 1000.0)
    return "%.1f" % (ns / 1000.0)


def outage_section(p, path):
    try:
        with open(path) as f:
            o = json.load(f)
    except (OSError, ValueError) as e:
        p("## guard-kafka: send() latency across a broker outage")
        p("")
        p("No result: cannot read %s (%s)." % (path, e))
        p("")
        return
    p("## guard-kafka: send() latency across a broker outage")
    p("")
    p("> **One run** of `dev.guard.bench.OutageLatency` (not JMH), %s, load average before %s,"
      " after %s." % (o.get("date", "?")[:16].replace("T", " ") + " UTC", o.get("load_before", "n/a"),
                      o.get("load_after", "n/a")))
    p("")
    p("Issue target: p50/p99/max of `send()` across an outage, guarded vs raw producer with default configuration;")
    p("guarded p99 <= %.0f µs once the breaker is open. Embedded KRaft broker (guard-testkit); %d sender threads per"
      % (KAFKA_OPEN_P99_TARGET_NS / 1000, o.get("threads_per_producer", 2)))
    p("producer and topic, each sending one 100-byte record every %d µs without waiting for acknowledgements: a raw"
      % o.get("period_us", 1000))
    p("`KafkaProducer` with the default configuration (`max.block.ms` 60 s) and a `GuardedProducer` from")
    p("`GuardedProducer.builder(props, ser, ser)` (its safer defaults: `max.block.ms` 2 s; `ackTimeout` 1 s) with a")
    p("REJECT topic and a BUFFER topic (default bounds: 10 000 records). After %d s the broker is stopped"
      % o.get("before_s", 5))
    p("(`stopBroker()`, %.0f ms), kept down %d s from that call, restarted (`startBroker()`, %.0f ms), then %d s more."
      % (o.get("stop_broker_ms", float("nan")), o.get("outage_s", 10), o.get("start_broker_ms", float("nan")),
         o.get("after_s", 5)))
    p("**Outage window** = the sends that *started* between the `stopBroker()` and `startBroker()` calls, each with its")
    p("full duration (a raw send blocked in the outage counts when it returns, after the restart). **Once OPEN** =")
    p("the sends that started between the breaker's first OPEN and the restart (it includes the HALF_OPEN probes).")
    if o.get("jvm_args"):
        p("JVM options: `%s`." % o["jvm_args"])
        if "AlwaysPreTouch" in o["jvm_args"]:
            p("The heap is faulted in at start (`-XX:+AlwaysPreTouch`): in a JVM a few seconds old eden is still on its")
            p("first pass and every first write to a 4 KiB page faults (10-20 µs on this VM), which lands on whichever")
            p("`send()` allocates (the BUFFER topic's, one future per buffered record: every ~85 calls); a service that")
            p("has run a few GC cycles has no such faults.")
        else:
            p("**Without `-XX:+AlwaysPreTouch`**: the first write to each 4 KiB page of a young heap faults (10-20 µs on")
            p("this VM) inside whichever `send()` allocates, the BUFFER topic's every ~85 calls; `run-benchmarks.sh` pre-touches.")
    if o.get("open_path_warm_up") is False:
        p("**Open-path warm-up off** (`--no-warm-up`): the first outage's first sends run the open-state paths")
        p("interpreted until the JIT compiles them; they count.")
    elif o.get("open_path_warm_up"):
        p("The guarded producer was built with its default open-path warm-up: the JIT compiled the open-state paths")
        p("on a private producer at start-up, so the first outage runs compiled code (`GuardedProducer.Builder.warmUp`).")
    else:
        p("The first sends of the first outage run interpreted until the JIT compiles the open-state path; they count.")
    p("")
    p("| producer | sends in outage | p50 µs | p99 µs | max µs | p99 µs once OPEN | max µs once OPEN | steady p50 / p99 µs"
      " (before) |")
    p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in o.get("rows", []):
        out = r.get("outage") or {}
        ao = r.get("after_open")
        b = r.get("before") or {}
        p("| %s | %s | %s | %s | %s | %s | %s | %s / %s |"
          % (r.get("label"), out.get("n", "n/a"), fmt_us(out.get("p50_ns")), fmt_us(out.get("p99_ns")),
             fmt_us(out.get("max_ns")), "n/a" if not ao else fmt_us(ao.get("p99_ns")),
             "n/a" if not ao else fmt_us(ao.get("max_ns")), fmt_us(b.get("p50_ns")), fmt_us(b.get("p99_ns"))))
    p("")
    tto = o.get("time_to_open_ms") or {}
    ttc = o.get("time_to_closed_after_restart_ms") or {}

    def ms(v):
        return "never" if v is None else "%.0f ms" % v

    p("- Time from the `stopBroker()` call to the guarded breaker OPEN: REJECT topic %s, BUFFER topic %s."
      % (ms(tto.get("guarded_reject")), ms(tto.get("guarded_buffer"))))
    p("- Time from the `startBroker()` call to the guarded breaker CLOSED again: REJECT topic %s, BUFFER topic %s."
      % (ms(ttc.get("guarded_reject")), ms(ttc.get("guarded_buffer"))))
    for r in o.get("rows", []):
        per = r.get("after_open_per_thread") or []
        if per:
            p("- %s, once OPEN, per sender thread: p99 %s µs (max %s µs)."
              % (r.get("label"), " / ".join(fmt_us(t.get("p99_ns")) for t in per),
                 " / ".join(fmt_us(t.get("max_ns")) for t in per)))
    for key in ("reject_stats", "buffer_stats"):
        if o.get(key):
            p("- `%s` (all outages)" % o[key] if o.get("later_outages") else "- `%s`" % o[key])
    for r in o.get("rows", []):
        if r.get("exceptions"):
            p("- %s: %d `send()` calls threw, first: `%s`" % (r.get("label"), r["exceptions"], r.get("first_exception")))
    later = o.get("later_outages") or []
    if later:
        p("")
        p("**Later outages, same JVM, same senders** (the broker stopped again %d s after the previous restart, kept down"
          % o.get("after_s", 30))
        p("%d s): every path the first outage took has been compiled with the outage's own profile by now."
          % o.get("outage_s", 10))
        if o.get("open_path_warm_up"):
            p("The first outage ran the open-state paths as the start-up warm-up had them compiled; without the warm-up")
            p("(`--no-warm-up`) they run interpreted for its first 100 ms or so, then C1-compiled, and `send()` is")
            p("deoptimised and recompiled as each path is first taken.")
        else:
            p("In the first outage the open-state paths (buffering, the full buffer's refusal, the probes) run interpreted,")
            p("then C1-compiled, and `send()` is deoptimised and recompiled as each path is first taken.")
        p("`--slow-dump` of OutageLatency lists every send over 10 µs once OPEN, with its time after the opening.")
        p("")
        p("| outage | producer | sends in outage | p99 µs | p99 µs once OPEN, per thread | max µs once OPEN |"
          " stopBroker() -> OPEN | startBroker() -> CLOSED |")
        p("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for lo in later:
            tto2 = lo.get("time_to_open_ms") or {}
            ttc2 = lo.get("time_to_closed_after_restart_ms") or {}
            for r in lo.get("rows", []):
                out = r.get("outage") or {}
                ao = r.get("after_open")
                per = r.get("after_open_per_thread") or []
                key = r.get("key", "")
                p("| %d | %s | %s | %s | %s | %s | %s | %s |"
                  % (lo.get("outage", 0), r.get("label"), out.get("n", "n/a"), fmt_us(out.get("p99_ns")),
                     " / ".join(fmt_us(t.get("p99_ns")) for t in per) or "n/a",
                     "n/a" if not ao else fmt_us(ao.get("max_ns")),
                     ms(tto2.get(key)) if key in tto2 else "n/a", ms(ttc2.get(key)) if key in ttc2 else "n/a"))
    p("")
    p("| target | measured | result |")
    p("| --- | --- | --- |")
    outages = [(1, o.get("rows", []))] + [(lo.get("outage", 0), lo.get("rows", [])) for lo in later]
    for number, rows in outages:
        first = " (outage 1)" if o.get("open_path_warm_up") else " (outage 1, JIT cold)"
        p99_rows(p, rows, "" if not later else (first if number == 1 else " (outage %d)" % number))
    p("")


def p99_rows(p, rows, which):
    """The p99-once-OPEN target rows of one outage."""
    for r in rows:
        ao = r.get("after_open")
        if r.get("key", "").startswith("guarded") and ao:
            per = [t.get("p99_ns", -1) for t in (r.get("after_open_per_thread") or [])]
            if per:  # the wording: p99 on every thread, so the worst thread decides
                worst = max(per)
                ok = min(per) >= 0 and worst <= KAFKA_OPEN_P99_TARGET_NS
                p("| %s%s: `send()` p99 <= %.0f µs once OPEN, on every thread | worst thread %s µs (all threads %s µs) | %s |"
                  % (r.get("label"), which, KAFKA_OPEN_P99_TARGET_NS / 1000, fmt_us(worst), fmt_us(ao.get("p99_ns")),
                     verdict(ok)))
            else:
                ok = ao.get("p99_ns", -1) >= 0 and ao["p99_ns"] <= KAFKA_OPEN_P99_TARGET_NS
                p("| %s%s: `send()` p99 <= %.0f µs once OPEN | %s µs | %s |"
                  % (r.get("label"), which, KAFKA_OPEN_P99_TARGET_NS / 1000, fmt_us(ao.get("p99_ns")), verdict(ok)))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True, action="append",
                    help="JMH JSON result; repeat to merge runs (later files win for the same benchmark)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default="guard-bench/run-benchmarks.sh")
    ap.add_argument("--load-before", default="n/a")
    ap.add_argument("--load-after", default=None,
                    help="the load average when the run ended (default: now), for a report made again later")
    ap.add_argument("--note", action="append", default=[],
                    help="an extra row for the \"This run\" table, e.g. how a second merged run was made")
    ap.add_argument("--outage", help="JSON written by dev.guard.bench.OutageLatency (OUTAGE=1)")
    ap.add_argument("--footprint", help="JSON written by dev.guard.bench.TopicFootprint")
    ap.add_argument("--replay", help="JSON written by dev.guard.bench.ReplayDrain")
    ap.add_argument("--anchor-json",
                    help="JMH JSON of the anchor commit's ClosedCall rows run in the same window (ANCHOR_JAR=...): "
                         "the +2 ns checks then compare commits, not days")
    ap.add_argument("--anchor-commit", default=None, help="the commit the --anchor-json jar was built from")
    args = ap.parse_args()
    global ANCHOR_COMMIT
    if args.anchor_json:
        _, anchor_res = load([args.anchor_json])
        same_window = {}
        for (cls, method, fail_every), r in anchor_res.items():
            if cls in ("ClosedCall1T", "ClosedCall2T") and method in ("guardCall", "guardAsync"):
                g = overhead(r, anchor_res.get((cls, "baseline", fail_every)))
                if g is not None:
                    same_window[(method, fail_every, int(cls[len("ClosedCall")]))] = g
        if not same_window:
            raise SystemExit("no ClosedCall guardCall/guardAsync rows with a baseline in " + args.anchor_json)
        ANCHOR_OVERHEAD_NS.clear()
        ANCHOR_OVERHEAD_NS.update(same_window)
        ANCHOR_COMMIT = "%s, run in the same window from its own jar" % (args.anchor_commit or "anchor jar")

    data, res = load(args.json)
    if not data:
        raise SystemExit("no benchmark results in " + args.json)
    first = data[0]
    cpu, nproc, mem = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    wi, w = first.get("warmupIterations"), first.get("warmupTime")
    mi, m = first.get("measurementIterations"), first.get("measurementTime")
    # the suite's defaults: see suite_default (KafkaSend has its own: 20 forks, 5 x 2 s warmup, 10 x 2 s measurement)
    def shorter_than_default(e):
        if ".KafkaSend." in e["benchmark"]:
            return (e.get("forks", 0) < 20 or e.get("measurementIterations", 0) < 10 or e.get("warmupIterations", 0) < 5
                    or e.get("measurementTime") != "2 s" or e.get("warmupTime") != "2 s")
        wi_d, mi_d, forks_d = suite_default(e["benchmark"])
        return (e.get("measurementIterations", 0) < mi_d or e.get("warmupIterations", 0) < wi_d
                or e.get("forks", 0) < forks_d
                or e.get("measurementTime") != "1 s" or e.get("warmupTime") != "1 s")

    smoke = any(shorter_than_default(e) for e in data if ".Clocks." not in e["benchmark"])

    out = []
    p = out.append
    p("# Benchmarks")
    p("")
    p("<!-- Generated by guard-bench/report.py from a JMH run of guard-bench/run-benchmarks.sh; do not edit by hand. -->")
    p("")
    p("JMH benchmarks of guard-core's circuit breaker against Resilience4j 2.4.0 and Failsafe 3.3.2 (benchmark-only")
    p("dependencies of the `guard-bench` module), same run, same machine, side by side; of guard-jdbc's")
    p("`GuardedDataSource` against the raw HikariCP pool it wraps; of guard-kafka's `GuardedProducer` against a raw")
    p("`KafkaProducer` (embedded broker from guard-testkit); and, with `OUTAGE=1`, `send()` latency across a broker")
    p("outage. Every benchmark runs in its own forked JVM on ONE breaker shared by its threads. Mode: average time,")
    p("ns/op (Kafka closed state: paired batches, ratios and times from their own counters); B/op is")
    p("`gc.alloc.rate.norm` from `-prof gc` (\"0\" means under %.2f B/op, i.e. nothing allocated per call)." % ZERO_BYTES)
    p("**Overhead** = contender ns/op - baseline ns/op (the baseline runs the same work with no breaker).")
    p("")
    p("Run it (builds guard-bench and the modules it benchmarks, runs every benchmark, rewrites this file; ~31 min):")
    p("")
    p("```")
    p("guard-bench/run-benchmarks.sh")
    p("```")
    p("")
    p("Extra arguments go to JMH, e.g. a subset with short iterations:")
    p("`guard-bench/run-benchmarks.sh 'ClosedCall1T' -wi 1 -i 2 -w 500ms -r 500ms`. `OUTAGE=1` also runs the")
    p("Kafka outage measurement (`dev.guard.bench.OutageLatency`, two outages, ~1.5 min). Sections without results in the run are")
    p("left out.")
    p("CI compiles the module but never runs it. Numbers are only meaningful on a quiet machine.")
    p("")
    p("## This run")
    p("")
    if smoke:
        p("> **Smoke run**: fewer forks or iterations than the suite's defaults (5 x 1 s warmup, 8 x 1 s measurement;")
        p("> `JdbcGuardAB`: 6 forks of 4 x 1 s warmup, 12 x 1 s measurement, its A/A control 1 fork of 10; KafkaSend:")
        p("> 20 forks, 5 x 2 s warmup, 10 x 2 s measurement; GuardedSendPath and GuardedJdbcPath: 2 forks of 4 x 1 s")
        p("> warmup, 6 x 1 s measurement);")
        p("> the numbers below only show that the pipeline works and hint at the orders of magnitude.")
        p("")
    p("| | |")
    p("| --- | --- |")
    p("| date | %s |" % now)
    p("| command | `%s` |" % args.command.replace("|", "\\|"))
    p("| CPU | %s |" % cpu)
    p("| cores (nproc) | %s |" % nproc)
    if mem:
        p("| memory | %s |" % mem)
    p("| OS | %s %s |" % (platform.system(), platform.release()))
    p("| JDK | %s, %s %s |" % (first.get("jdkVersion", "?"), first.get("vmName", "?"), first.get("vmVersion", "?")))
    jvm = []
    for e in data:
        a = "`%s`" % " ".join(e.get("jvmArgs", []))
        if a not in jvm:
            jvm.append(a)
    p("| JVM options | %s |" % "; ".join(jvm))
    settings = []
    for e in data:
        st = "%s forks, warmup %s x %s, measurement %s x %s" % (e.get("forks", "?"), e.get("warmupIterations"),
                                                               e.get("warmupTime"), e.get("measurementIterations"),
                                                               e.get("measurementTime"))
        if st not in settings:
            settings.append(st)
    p("| JMH | %s, %s |" % (first.get("jmhVersion", "?"), "; ".join(settings)))
    p("| load average (1, 5, 15 min) | before %s; after %s |" % (args.load_before, args.load_after or loadavg()))
    for n in args.note:
        p("| note | %s |" % n.replace("|", "\\|"))
    p("")

    has_core = any(k[0] in ("ClosedCall1T", "ClosedCall2T", "OpenReject1T", "OpenReject2T", "Clocks")
                   for k in res)
    if has_core:
        # ------------------------------------------------------------------------------------------- targets
        p("## Targets")
        p("")
        p("From the issues: on the 2-core machine, closed-state call overhead <= 0.25x Resilience4j's single-threaded and")
        p("<= 0.2x at 2 threads, 0 B/op for every closed API (`decorateSupplier` included) at 1 and 2 threads;")
        p("closed-state overhead at most +%.0f ns over the run before the permit tokens (%s, the anchor);"
          % (ANCHOR_SLACK_NS, ANCHOR_COMMIT))
        p("open-state rejection <= %.0f ns and 0 B/op. The closed-state ratios are checked for `call()` and for the"
          % OPEN_TARGET_NS)
        p("permission API (`tryAcquire()` + `onSuccess(p, ..)`), each against Resilience4j's `executeCallable`, in both")
        p("mixes. Open-state targets are checked single-threaded; 2 threads are shown for information.")
        p("")
        p("| target | measured | result |")
        p("| --- | --- | --- |")
        for fail_every, mix in (("0", "all succeed"), ("10", "10% failures")):
            for t in (1, 2):
                cls = "ClosedCall%dT" % t
                base = res.get((cls, "baseline", fail_every))
                r4j = overhead(res.get((cls, "r4jCall", fail_every)), base)
                for method, api in (("guardCall", "`call()`"), ("guardAsync", "permission API")):
                    r = res.get((cls, method, fail_every))
                    g = overhead(r, base)
                    q = ratio(g, r4j)
                    ok = None if q is None else q <= RATIO_TARGET[t]
                    p("| closed, %s, %d thread%s, guard %s overhead <= %.2fx R4j's | %s ns vs %s ns = %s | %s |"
                      % (mix, t, "s" if t > 1 else "", api, RATIO_TARGET[t], fmt_over(g), fmt_over(r4j),
                         "n/a" if q is None else "%.2fx" % q, verdict(ok)))
                    p("| closed, %s, %d thread%s, guard %s allocates 0 B/op | %s B/op | %s |"
                      % (mix, t, "s" if t > 1 else "", api, fmt_bytes(r),
                         verdict(None if r is None else zero_bytes(r))))
                    anchor = ANCHOR_OVERHEAD_NS.get((method, fail_every, t))
                    if anchor is not None:
                        ok_a = None if g is None else g <= anchor + ANCHOR_SLACK_NS
                        p("| closed, %s, %d thread%s, guard %s overhead <= anchor %+.1f ns + %.0f ns | %s ns | %s |"
                          % (mix, t, "s" if t > 1 else "", api, anchor, ANCHOR_SLACK_NS, fmt_over(g), verdict(ok_a)))
                r = res.get((cls, "guardSupplier", fail_every))
                p("| closed, %s, %d thread%s, guard `decorateSupplier` allocates 0 B/op | %s B/op | %s |"
                  % (mix, t, "s" if t > 1 else "", fmt_bytes(r), verdict(None if r is None else zero_bytes(r))))
        for method, api in (("guardCall", "`call()`"), ("guardTryAcquire", "`tryAcquire()`")):
            r = res.get(("OpenReject1T", method, None))
            ok_t = None if r is None or math.isnan(r.score) else r.score <= OPEN_TARGET_NS
            p("| open rejection via %s <= %.0f ns (1 thread) | %s ns/op | %s |"
              % (api, OPEN_TARGET_NS, fmt_ns(r), verdict(ok_t)))
            p("| open rejection via %s allocates 0 B/op (1 thread) | %s B/op | %s |"
              % (api, fmt_bytes(r), verdict(None if r is None else zero_bytes(r))))
        p("")

        # -------------------------------------------------------------------------------------- closed tables
        for fail_every, title, note in (
                ("0", "Closed state, every call succeeds",
                 "guard: `BreakerConfig.defaults()` (count window 100, no slow-call duration: no clock reading); "
                 "Resilience4j: count window 100, minimum 20 calls, 50%; Failsafe: 50 failures of the last 100."),
                ("10", "Closed state, 10% failures mixed in",
                 "Each thread's every 10th call throws a preallocated stackless exception. Thresholds that 10% can "
                 "never reach, so nothing trips and the recording cost is what is measured: guard "
                 "`failureRateThreshold(100).consecutiveFailures(0)`; Resilience4j count window 100, 100%; Failsafe "
                 "100 failures of the last 100. Each benchmark checks at tear-down that its breaker stayed CLOSED.")):
            p("## %s" % title)
            p("")
            p(note)
            p("")
            p("| contender | API | 1 thread ns/op | overhead | B/op | 2 threads ns/op | overhead | B/op |")
            p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            cells = {}
            for t in (1, 2):
                cls = "ClosedCall%dT" % t
                base = res.get((cls, "baseline", fail_every))
                for method, _, _ in CLOSED_ROWS:
                    r = res.get((cls, method, fail_every))
                    cells[(method, t)] = (r, overhead(r, base) if method != "baseline" else None)
            for method, who, api in CLOSED_ROWS:
                row = ["| %s | %s" % (who, api)]
                for t in (1, 2):
                    r, o = cells[(method, t)]
                    row.append("%s | %s | %s" % (fmt_ns(r), "" if method == "baseline" else fmt_over(o), fmt_bytes(r)))
                p(" | ".join(row) + " |")
            p("")
            for t in (1, 2):
                r4j = cells[("r4jCall", t)][1]
                parts = []
                for method, label in (("guardCall", "guard `call()`"), ("guardAsync", "guard permission API"),
                                      ("r4jAsync", "R4j permission API"), ("failsafeCall", "Failsafe `get`")):
                    q = ratio(cells[(method, t)][1], r4j)
                    parts.append("%s %s" % (label, "n/a" if q is None else "%.2fx" % q))
                p("- %d thread%s, overhead relative to Resilience4j `executeCallable`: %s."
                  % (t, "s" if t > 1 else "", "; ".join(parts)))
            p("")

        # ----------------------------------------------------------------------------------------- open table
        p("## Open state, rejection")
        p("")
        p("Each breaker is OPEN with a one-hour wait (guard's tripped by a real failure; Resilience4j via")
        p("`transitionToOpenState()`, stackless exceptions like guard's default; Failsafe via `open()`).")
        p("The FORCED_OPEN row isolates the cost of checking whether the open wait has elapsed.")
        p("")
        p("| contender | API | 1 thread ns/op | B/op | 2 threads ns/op | B/op |")
        p("| --- | --- | ---: | ---: | ---: | ---: |")
        for method, who, api in OPEN_ROWS:
            r1 = res.get(("OpenReject1T", method, None))
            r2 = res.get(("OpenReject2T", method, None))
            p("| %s | %s | %s | %s | %s | %s |" % (who, api, fmt_ns(r1), fmt_bytes(r1), fmt_ns(r2), fmt_bytes(r2)))
        p("")

        clocks = [(m, res.get(("Clocks", m, None))) for m in ("nanoTime", "currentTimeMillis")]
        if any(r is not None for _, r in clocks):
            p("## Clock readings")
            p("")
            p("What one reading costs here (a call that is timed reads `nanoTime()` twice).")
            p("")
            p("| call | ns/op |")
            p("| --- | ---: |")
            for m, r in clocks:
                p("| `System.%s()` | %s |" % (m, fmt_ns(r)))
            p("")

    banner = ("> **%s on the 2-core machine**, %s; date, JMH settings and load average (the only sign of other"
              " work on the machine) in \"This run\" above." % ("Smoke run" if smoke else "Run", now))
    jdbc_section(p, res, banner)
    jdbc_outage_section(p, os.path.join(os.path.dirname(os.path.abspath(args.out)), "jdbc-outage.md"))
    kafka_section(p, res, banner)
    path_section(p, res, banner)
    many_topics_section(p, res, banner, args.footprint)
    if args.replay:
        replay_section(p, args.replay)
    if args.outage:
        outage_section(p, args.outage)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(out))
    print("wrote " + args.out)


if __name__ == "__main__":
    main()

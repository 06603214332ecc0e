#!/usr/bin/env bash
# Exec sensor overhead, Sysmon-for-Linux style: /bin/true at fixed rates,
# runs with and without the agent interleaved, ROUNDS rounds (default 3),
# BENCH_SECONDS (5) per run.  Needs root.  See docs/performance.md for how
# to read the output.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/bench_exec.py "$@"

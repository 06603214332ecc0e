#!/usr/bin/env bash
# What recognising Wine's execs costs the execs that are not Wine's: the
# test's nanoseconds per exec against the agent's whole CPU time per exec,
# measured in the same run, ROUNDS rounds (default 3).  Needs root.  See
# docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/wine_check.py "$@"

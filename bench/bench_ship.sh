#!/usr/bin/env bash
# Shipping never slows capture: the exec path with no, a dead, a hung and a
# live collector (bench/bench_ship.py).  Needs root.  See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/bench_ship.py "$@"

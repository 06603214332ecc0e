#!/usr/bin/env bash
# `rmmhunt inspect` against python3-pefile and exiftool on the wine64 PE
# corpus, ROUNDS rounds (default 3), interleaved, each timed run at least
# MIN_SECONDS; see bench/bench_inspect.py and docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/bench_inspect.py "$@"

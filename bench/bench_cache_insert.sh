#!/usr/bin/env bash
# Sustained insert rate of the local cache against plain SQLite, same rows,
# same run, ROUNDS rounds (default 3), interleaved.  COUNT records per run
# (default 300000: about 3 s a run on the 2-core VM).  See
# bench/bench_cache_insert.py and docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/bench_cache_insert.py "${COUNT:-300000}"

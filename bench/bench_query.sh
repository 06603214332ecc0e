#!/usr/bin/env bash
# `rmmhunt query` against hand-written SQL run by sqlite3, same cache file,
# same run.  Builds a cache of COUNT realistic records (default 200000; the
# issue's size is COUNT=1000000) with tests/tools/gen_records.py and
# build/bench/cache_load (lib/store's writer, as the agent writes), then
# times the RPort rule, a `has 'curl'` count and a count by FileName:
# ROUNDS rounds (default 3), interleaved, each timed run at least
# MIN_SECONDS; see bench/bench_query.py and docs/performance.md.  The same
# queries also run over a copy in the first (flat) cache layout
# (bench/flat_cache.py): compact/flat is the gain of the compact layout.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/state"
/usr/bin/python3 tests/tools/gen_records.py --count "$count" --quiet \
	--output "$work/records.ndjson"
build/bench/cache_load "$work/records.ndjson" "$work/state/cache.db"
rm -f "$work/records.ndjson"
echo "cache: $count records, $(du -m "$work/state/cache.db" | cut -f1) MiB"
# the same records in the first, flat layout: rmmhunt over it is timed too
mkdir -p "$work/flat"
/usr/bin/python3 bench/flat_cache.py "$work/state/cache.db" "$work/flat/cache.db"
echo "flat layout copy: $(du -m "$work/flat/cache.db" | cut -f1) MiB"
FLAT_STATE_DIR="$work/flat" /usr/bin/python3 bench/bench_query.py "$work/state"

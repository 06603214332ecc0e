#!/usr/bin/env bash
# Bytes per record on disk (file and WAL, after the writer's closing
# checkpoint: tables, dictionaries, indexes, everything), the compact layout
# against the first, flat layout, on the same records in the same run:
#   - COUNT (default 200000) records of tests/tools/gen_records.py;
#   - this machine's own records: REAL_RECORDS=FILE (the agent's --events
#     NDJSON), or, as root, captured now by build/rmmhunt-agent for
#     CAPTURE_SECONDS (default 120) of whatever runs here (run it while
#     `make test` runs); skipped with a message otherwise.
# Each stream is loaded by build/bench/cache_load (lib/store's writer) and
# copied to the flat layout by bench/flat_cache.py.  Sizes do not vary
# between runs: one run each.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

size_of() { # DIR: bytes of cache.db and its WAL
	local total=0 file
	for file in "$1/cache.db" "$1/cache.db-wal"; do
		[ -e "$file" ] && total=$((total + $(stat -c %s "$file")))
	done
	echo "$total"
}

measure() { # NAME RECORDS.ndjson
	local records
	records=$(wc -l < "$2")
	mkdir -p "$work/compact" "$work/flat"
	rm -f "$work"/compact/* "$work"/flat/*
	build/bench/cache_load "$2" "$work/compact/cache.db" > /dev/null
	/usr/bin/python3 bench/flat_cache.py "$work/compact/cache.db" "$work/flat/cache.db"
	local compact flat
	compact=$(size_of "$work/compact")
	flat=$(size_of "$work/flat")
	printf '%-28s %9d records  flat %7.1f B/record  compact %6.1f B/record  (%.1fx smaller; target <= 100)\n' \
		"$1" "$records" "$(echo "$flat / $records" | bc -l)" \
		"$(echo "$compact / $records" | bc -l)" "$(echo "$flat / $compact" | bc -l)"
}

echo "== cache size: bytes per record on disk, flat (schema 1) vs compact (the current schema)"
/usr/bin/python3 tests/tools/gen_records.py --count "$count" --quiet --output "$work/gen.ndjson"
measure "gen_records.py" "$work/gen.ndjson"
rm -f "$work/gen.ndjson"

real=${REAL_RECORDS:-}
if [ -z "$real" ] && [ "$(id -u)" = 0 ] && [ -x build/rmmhunt-agent ]; then
	mkdir -p "$work/agent" "$work/rules"
	echo "capturing this machine's execs for ${CAPTURE_SECONDS:-120} s (build/rmmhunt-agent)"
	timeout -s INT "${CAPTURE_SECONDS:-120}" build/rmmhunt-agent --state-dir "$work/agent" \
		--rules "$work/rules" --events "$work/real.ndjson" --log-level warning || true
	real="$work/real.ndjson"
fi
if [ -n "$real" ] && [ -s "$real" ]; then
	measure "this machine (replayed)" "$real"
else
	echo "this machine: skipped (set REAL_RECORDS=FILE, or run as root to capture)"
fi

#!/usr/bin/env bash
# Collector ingestion: records per second stored by a real rmmhunt-collector
# (TLS, gzip'd batches of BATCH records, one enrolled device per agent) with
# 1, 4 and 16 concurrent agents on loopback, against the ceiling measured in
# the same rounds: the same rows, already parsed, inserted into SQLite with
# one prepared statement in transactions of BATCH rows (same schema and
# indexes).  COUNT records (default 100000, realistic:
# tests/tools/gen_records.py); ROUNDS rounds (default 3), each run repeated
# to last MIN_SECONDS; median and spread (bench/stats.py).  See
# bench/bench_collector.py and docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tests/tools/gen_records.py --count "${COUNT:-100000}" --devices 16 --quiet \
	--output "$work/records.ndjson"
/usr/bin/python3 bench/bench_collector.py "$work/records.ndjson" "${BATCH:-1000}"

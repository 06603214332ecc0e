#!/usr/bin/env bash
# The collector's PostgreSQL store (issue 13): ingest through two collectors
# and the fleet RPort query, beside the SQLite store and hand-written SQL;
# bench/bench_collector_postgres.py says what and how.  COUNT (ingest,
# default 100000), QUERY_COUNT (default 500000; the issue's size is
# QUERY_COUNT=5000000), DEVICES (default 10000), ROUNDS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
. bench/collector_common.sh
collector_credentials
/usr/bin/python3 bench/bench_collector_postgres.py "$work"

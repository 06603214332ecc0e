#!/usr/bin/env bash
# The fleet query: Sentinel's RPort rule (and the other cases of
# bench/bench_query.py) run by rmmhunt-collector over its store, through
# `rmmhunt query --collector` (HTTPS, analyst token), against the
# hand-written SQL run by sqlite3 on the same file, same run.  The store
# holds COUNT realistic records (default 500000; the issue's size is
# COUNT=5000000) of DEVICES devices (default 10000) from
# tests/tools/gen_records.py, stored by build/bench/collector_load fill (the
# collector's own store code).  ROUNDS runs per case (default 3): median
# and spread.  Target: within 1.5x of sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-500000}
devices=${DEVICES:-10000}
work=$(mktemp -d)
. bench/collector_common.sh
/usr/bin/python3 tests/tools/gen_records.py --count "$count" --devices "$devices" --quiet \
	--output "$work/records.ndjson"
build/bench/collector_load fill "$work/collector.db" "$work/records.ndjson" >/dev/null
rm -f "$work/records.ndjson"
collector_credentials
collector_start "$work/collector.db" --retention-max-age 3650d
echo "fleet store: $count records of $devices devices, $(du -m "$work/collector.db" | cut -f1) MiB"
/usr/bin/python3 bench/bench_query.py --collector "https://127.0.0.1:$(cat "$work/port")" \
	"$work/tokens" "$work/cert.pem" "$work/collector.db"

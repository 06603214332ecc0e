#!/usr/bin/env bash
# Collector ingestion: records per second stored by a real rmmhunt-collector
# (TLS, gzip'd batches of BATCH records, one enrolled device per agent) with
# 1, 4 and 16 concurrent agents on loopback, against the ceiling measured in
# the same run: the same rows, already parsed, inserted into SQLite with one
# prepared statement in transactions of BATCH rows (same schema and indexes).
# COUNT records (default 100000, realistic: tests/tools/gen_records.py),
# ROUNDS runs per case (default 3), each on a fresh store; prints median and
# spread (min..max).  Targets (issue 8): >= 50% of the ceiling and
# >= 30,000 records/s.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-100000}
rounds=${ROUNDS:-3}
batch=${BATCH:-1000}
work=$(mktemp -d)
. bench/collector_common.sh
/usr/bin/python3 tests/tools/gen_records.py --count "$count" --devices 16 --quiet \
	--output "$work/records.ndjson"
collector_credentials
echo "collector ingestion: $count records, batches of $batch, $rounds rounds per case"

median_spread() { # RATES... -> "median (min..max)"
	printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%d (%d..%d)", a[int((NR+1)/2)], a[1], a[NR]}'
}

ceiling=()
for _ in $(seq "$rounds"); do
	rm -f "$work"/ceiling.db*
	ceiling+=("$(build/bench/collector_load sqlite "$work/ceiling.db" "$work/records.ndjson" "$batch" | cut -d' ' -f3)")
done
ceiling_median=$(printf '%s\n' "${ceiling[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf '%-28s %s records/s\n' "SQLite batched insert" "$(median_spread "${ceiling[@]}")"

for agents in 1 4 16; do
	rates=()
	for _ in $(seq "$rounds"); do
		rm -f "$work"/collector.db*
		collector_start "$work/collector.db"
		rates+=("$(build/bench/collector_load agents "https://127.0.0.1:$(cat "$work/port")" \
			"$work/cert.pem" "$work/secret" "$work/records.ndjson" "$agents" "$batch" | cut -d' ' -f3)")
		collector_stop
	done
	median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '%-28s %s records/s  %.0f%% of the ceiling\n' "collector, $agents agent(s)" \
		"$(median_spread "${rates[@]}")" "$(echo "100 * $median / $ceiling_median" | bc -l)"
done

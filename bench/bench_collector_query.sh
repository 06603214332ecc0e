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
collector_pid=
cleanup() {
	[ -n "$collector_pid" ] && kill "$collector_pid" 2>/dev/null && wait "$collector_pid" || true
	rm -rf "$work"
}
trap cleanup EXIT
/usr/bin/python3 tests/tools/gen_records.py --count "$count" --devices "$devices" --quiet \
	--output "$work/records.ndjson"
build/bench/collector_load fill "$work/collector.db" "$work/records.ndjson" >/dev/null
rm -f "$work/records.ndjson"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
head -c 32 /dev/urandom | base64 | tr -d '\n/+=' > "$work/secret"
head -c 32 /dev/urandom | base64 | tr -d '\n/+=' > "$work/tokens"
build/rmmhunt-collector --listen 127.0.0.1:0 --db "$work/collector.db" \
	--tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
	--enroll-secret-file "$work/secret" --analyst-token-file "$work/tokens" \
	--retention-max-age 3650d --port-file "$work/port" --log-level warning &
collector_pid=$!
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
echo "fleet store: $count records of $devices devices, $(du -m "$work/collector.db" | cut -f1) MiB"
/usr/bin/python3 bench/bench_query.py --collector "https://127.0.0.1:$(cat "$work/port")" \
	"$work/tokens" "$work/cert.pem" "$work/collector.db" "${ROUNDS:-3}"

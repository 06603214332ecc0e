#!/usr/bin/env bash
# The rule pack on every record: KQL row matching against a strcasestr floor,
# same records, same run, ROUNDS rounds (default 3), each timed run at least
# MIN_SECONDS; see bench/bench_rules.py and docs/performance.md.  COUNT
# records (default 200000; the issue's figure is COUNT=1000000, which needs
# about 4 GB of RAM and a minute to generate).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tests/tools/gen_records.py --count "${COUNT:-200000}" --seed 1 \
	--rmm-fraction 0.002 --quiet --output "$work/records.ndjson"
/usr/bin/python3 bench/bench_rules.py rules "$work/records.ndjson"

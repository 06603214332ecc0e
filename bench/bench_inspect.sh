#!/usr/bin/env bash
# bench_inspect.sh - `rmmhunt inspect` against python3-pefile and exiftool
# on the wine64 PE corpus (tests/e2e/pecorpus.py), in the same run.
#
# Each reader goes over every file of the corpus in one process (start-up
# included), three times; the median wall time counts.  Printed: files per
# second of each, the ratios, and whether all three saw identical strings.
#   rmmhunt (version info)  --no-hashes --no-packages: the same work as the
#                           baselines (find and decode the version resource)
#   rmmhunt (everything)    what `rmmhunt inspect --json` does by default:
#                           also SHA-1/SHA-256/MD5 of every byte and the
#                           dpkg lookup (no baseline does that work)
#   pefile                  resource directory only (fast_load), the least
#                           work pefile can do for version info
#   exiftool                -EXE:all
# Target: rmmhunt (version info) at least 50x faster than either baseline.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=/usr/bin/python3
RMMHUNT=build/rmmhunt
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mapfile -t files < <($PYTHON -c 'import sys; sys.path.insert(0, "tests/e2e"); import pecorpus; print("\n".join(pecorpus.corpus()))')
count=${#files[@]}
if [ "$count" -lt 100 ]; then
	echo "bench_inspect: the wine64 PE corpus is not installed ($count files); run make test-deps" >&2
	exit 1
fi
bytes=$(cat "${files[@]}" | wc -c)

# median_seconds NAME OUTPUT COMMAND...: run ROUNDS times, print the median.
median_seconds() {
	local output=$1
	shift
	local times=()
	for _ in $(seq "$ROUNDS"); do
		local start end
		start=$EPOCHREALTIME
		"$@" > "$output" 2> "$output.err" || true
		end=$EPOCHREALTIME
		times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')")
	done
	printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((ROUNDS + 1) / 2))p"
}

# Warm the page cache so that every reader starts equal.
cat "${files[@]}" > /dev/null

t_version=$(median_seconds "$work/rmmhunt.json" "$RMMHUNT" inspect --json --no-hashes --no-packages "${files[@]}")
t_full=$(median_seconds "$work/rmmhunt-full.json" "$RMMHUNT" inspect --json "${files[@]}")
t_pefile=$(median_seconds "$work/pefile.json" "$PYTHON" bench/pefile_tables.py "${files[@]}")
t_exiftool=$(median_seconds "$work/exiftool.json" exiftool -j -q -EXE:all "${files[@]}")

rate() { awk -v n="$count" -v t="$1" 'BEGIN { printf "%.1f", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "corpus: $count PE files, $((bytes / 1048576)) MiB (wine64), median of $ROUNDS runs"
printf '  %-26s %8.3f s  %9s files/s\n' "rmmhunt (version info)" "$t_version" "$(rate "$t_version")"
printf '  %-26s %8.3f s  %9s files/s\n' "rmmhunt (everything)" "$t_full" "$(rate "$t_full")"
printf '  %-26s %8.3f s  %9s files/s\n' "python3-pefile" "$t_pefile" "$(rate "$t_pefile")"
printf '  %-26s %8.3f s  %9s files/s\n' "exiftool" "$t_exiftool" "$(rate "$t_exiftool")"
r_pefile=$(ratio "$t_pefile" "$t_version")
r_exiftool=$(ratio "$t_exiftool" "$t_version")
echo "  ratio, version info: ${r_pefile}x pefile, ${r_exiftool}x exiftool (target 50x)"
echo "  ratio, everything:   $(ratio "$t_pefile" "$t_full")x pefile, $(ratio "$t_exiftool" "$t_full")x exiftool"
$PYTHON bench/compare_inspect.py "$work/rmmhunt.json" "$work/pefile.json" \
	"$work/exiftool.json" "$work/rmmhunt-full.json"
awk -v p="$r_pefile" -v e="$r_exiftool" 'BEGIN { exit !(p < 50 || e < 50) }' &&
	echo "  NOTE: below the 50x target"
exit 0

#!/usr/bin/python3
"""bench_cache_insert.py - the local cache's sustained insert rate against
plain SQLite storing the same rows (run by bench_cache_insert.sh).

    bench_cache_insert.py COUNT

Two streams of COUNT records each:
  - made up by build/bench/cache_insert: every column filled and every
    number new in each record, so that every record makes new rows in
    five dictionaries (a process, its session, two files, a command
    line): the worst case of a layout that stores what repeats once;
  - tests/tools/gen_records.py's realistic stream (--seed 1), the one the
    bytes per record are measured on, read into memory before the clock
    starts.
ROUNDS rounds of each; each round stores the records once through the
cache and once with plain SQLite (build/bench/cache_insert), and builds
them once without storing them, the order rotating, each in a fresh
directory removed afterwards.  Printed: records per second of both
(building included), the per-round ratio cache/SQLite, the stores' own
rates (the same round's building time subtracted: what the agent, which
has built its record already, waits for), then the instructions per
record of both (callgrind, whole process, INSTRUCTION_RECORDS records,
batches of commit_max_records as at the target rate: "by-count"; the
made-up stream only: reading a stream is most of such a process).
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
INSERT = str(ROOT / "build" / "bench" / "cache_insert")
STORES = ("sqlite", "cache")
SIDES = ("build",) + STORES
INSTRUCTION_RECORDS = 20000
TARGET = 100000  # issue 11


def store_once(store, count, records):
    """Seconds to store count records (made up, or those of the file
    records) in a fresh directory."""
    source = ["--records", records] if records else []
    with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as directory:
        output = subprocess.run([INSERT, store, str(count), directory] + source, check=True,
                                capture_output=True, text=True).stdout
    return json.loads(output)["seconds"]


def show_instructions():
    skipped = stats.instructions_skipped()
    if skipped:
        print(f"  instructions: skipped ({skipped})")
        return
    counts = {}
    for store in STORES:
        with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as directory:
            counts[store], _ = stats.instructions(
                [INSERT, store, str(INSTRUCTION_RECORDS), directory, "by-count"])
    print(f"instructions (callgrind, {INSTRUCTION_RECORDS} records, whole process, per record)")
    stats.show_count("plain SQLite (baseline)", counts["sqlite"] / INSTRUCTION_RECORDS)
    stats.show_count("rmmhunt cache", counts["cache"] / INSTRUCTION_RECORDS)
    stats.show_count("ratio cache/baseline", counts["cache"] / counts["sqlite"], "x")


def measure(title, count, records=None):
    """ROUNDS rounds of the three sides on one stream, printed."""
    round_count = stats.rounds()
    seconds = {side: [] for side in SIDES}
    for round_index in range(round_count):
        for side in stats.rotated(SIDES, round_index):
            seconds[side].append(store_once(side, count, records))
    rates = {store: [count / s for s in seconds[store]] for store in STORES}
    # per round: the store's time less the same round's building time
    own = {store: [count / (s - b) for s, b in zip(seconds[store], seconds["build"])]
           for store in STORES}
    stats.header(f"{title}: {count} records per run; records per second",
                 round_count)
    stats.show("building the records alone", [count / s for s in seconds["build"]], "rec/s")
    stats.show("plain SQLite (baseline), building included", rates["sqlite"], "rec/s")
    stats.show("rmmhunt cache, building included", rates["cache"], "rec/s")
    stats.show_ratio("ratio cache/baseline (rate)", rates["cache"], rates["sqlite"])
    stats.show("plain SQLite, building subtracted", own["sqlite"], "rec/s")
    cache = stats.show("rmmhunt cache, building subtracted", own["cache"], "rec/s")
    stats.show_ratio("ratio cache/baseline, building subtracted", own["cache"], own["sqlite"])
    if cache.median < TARGET:
        print(f"  NOTE: below the target of {TARGET:,} records/s")


def main():
    count = int(sys.argv[1])
    measure("made up (every column filled, every number new: the worst case)", count)
    with tempfile.TemporaryDirectory(prefix="rmmhunt-bench-") as directory:
        records = os.path.join(directory, "records.ndjson")
        subprocess.run([sys.executable, str(ROOT / "tests" / "tools" / "gen_records.py"),
                        "--count", str(count), "--seed", "1", "--quiet", "--output", records],
                       check=True)
        print()
        measure("tests/tools/gen_records.py", count, records)
    show_instructions()
    stats.footer()
    return 0


if __name__ == "__main__":
    sys.exit(main())

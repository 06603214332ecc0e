#!/usr/bin/python3
"""bench_rules.py - the rule pack on every record against a strcasestr floor
(run by bench_rules.sh).

    bench_rules.py RULES_DIR RECORDS.ndjson

build/bench/rules_match loads the rules and records once, then runs ROUNDS
rounds, each timing the floor and the rule pack over the same records in
memory (the order alternating), each timed run as many passes over the
records as make the floor last MIN_SECONDS.  Printed: nanoseconds per record
per rule of both and the per-round ratio rmmhunt/floor (target: within 3x),
then the instructions of both (callgrind) over the first SAMPLE records.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MATCH = str(ROOT / "build" / "bench" / "rules_match")
SAMPLE = 2000
TARGET = 3.0


def timed_rounds(rules_dir, records):
    """(the run's facts, [per-round facts]) from rules_match."""
    output = subprocess.run([MATCH, "--rounds", str(stats.rounds()), "--min-seconds",
                             str(stats.MIN_SECONDS), rules_dir, records],
                            check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in output.splitlines()]
    return lines[0], lines[1:]


def show_instructions(rules_dir, records, rule_count):
    skipped = stats.instructions_skipped()
    if skipped:
        print(f"  instructions: skipped ({skipped})")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson") as sample, \
            open(records, encoding="utf-8") as source:
        for _, line in zip(range(SAMPLE), source):
            sample.write(line)
        sample.flush()
        counts = {}
        for side in ("floor", "rules"):
            counts[side], _ = stats.instructions(
                [MATCH, "--only", side, rules_dir, sample.name], toggle_collect=f"run_{side}*")
    per_match = SAMPLE * rule_count
    print(f"instructions (callgrind, first {SAMPLE} records, per record per rule)")
    stats.show_count("floor: strcasestr on two columns", counts["floor"] / per_match)
    stats.show_count("rmmhunt: kql_query_row_matches", counts["rules"] / per_match)
    stats.show_count("ratio rmmhunt/floor", counts["rules"] / counts["floor"], "x")


def main():
    rules_dir, records = sys.argv[1], sys.argv[2]
    run, rounds = timed_rounds(rules_dir, records)
    matches_per_pass = run["records"] * run["rules"] * run["passes"]
    floor = [r["floor_seconds"] * 1e9 / matches_per_pass for r in rounds]
    ours = [r["rules_seconds"] * 1e9 / matches_per_pass for r in rounds]
    stats.header(f"records {run['records']}, create-process rules {run['rules']},"
                 f" {run['passes']} passes per timed run", len(rounds))
    stats.show(f"floor: strcasestr ({rounds[0]['floor_matches']} matches)", floor,
               "ns/r/r")
    stats.show(f"rmmhunt: kql_query_row_matches ({rounds[0]['rule_matches']} matches)", ours,
               "ns/r/r")
    ratio = stats.show_ratio("ratio rmmhunt/floor", ours, floor)
    if ratio.median > TARGET:
        print(f"  NOTE: above the {TARGET:g}x target")
    show_instructions(rules_dir, records, run["rules"])
    stats.footer()
    return 0


if __name__ == "__main__":
    sys.exit(main())

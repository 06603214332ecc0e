#!/usr/bin/python3
"""bench_query.py - `rmmhunt query` against hand-written SQL on the same cache.

    bench_query.py STATE_DIR
    bench_query.py --collector URL TOKEN_FILE CA_FILE DB

The second form times `rmmhunt query --collector` (the fleet query, over
HTTPS, run by rmmhunt-collector on its store DB) against sqlite3 on DB.

STATE_DIR/cache.db holds the records (bench/bench_query.sh builds it).  For
each case, in the same run, times `rmmhunt query --format csv` with the KQL
and `sqlite3 -readonly -csv` with the equivalent SQL a person would write,
process start-up included on both sides.  ROUNDS rounds (stats.py), every
case and both sides in each round, the order rotated from round to round;
a timed run is as many queries one after the other as last MIN_SECONDS
(calibrated on a first, untimed query that also warms the page cache).
Prints seconds per query, the per-round ratio (target: within 1.5x), the
instructions of one query of each (callgrind), and checks that both found
the same number of rows / the same counts.
"""
import csv
import os
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RMMHUNT = ROOT / "build" / "rmmhunt"
RPORT_RULE = ROOT.parent / "shared" / "corpus" / "sentinel-rmm" / "rmm_RPort_createproc.yaml"
TICKS_PER_SECOND = 10_000_000
SIDES = ("rmmhunt", "sqlite3")

# KQL `has` matches whole terms, case-insensitively; the SQL a person would
# write for that (ASCII): the lowered value, padded, GLOBbed for the term
# between non-alphanumerics.
def has(column, term):
    return f"(' ' || lower({column}) || ' ') GLOB '*[^a-z0-9]{term.lower()}[^a-z0-9]*'"


# Each case: name, rmmhunt arguments (KQL text or rule file), SQL, the count column.
RPORT_SQL = """
SELECT DeviceId, DeviceName, min(Timestamp) AS FirstSeen, max(Timestamp) AS LastSeen,
       json_group_array(DISTINCT ReportId) AS Report, count(*) AS Count
FROM DeviceProcessEvents
WHERE Timestamp BETWEEN {low} AND {high}
  AND {company} AND {product}
GROUP BY DeviceId, DeviceName
""".replace("{company}", has("ProcessVersionInfoCompanyName", "RealVNC")).replace(
    "{product}", has("ProcessVersionInfoProductName", "rport"))
CASES = [
    ("RPort rule (file)", ["-f", str(RPORT_RULE)], RPORT_SQL, "Count"),
    ("has 'curl' | count",
     ["DeviceProcessEvents | where ProcessCommandLine has 'curl' | count"],
     "SELECT count(*) AS Count FROM DeviceProcessEvents WHERE "
     + has("ProcessCommandLine", "curl"), "Count"),
    ("summarize count() by FileName",
     ["DeviceProcessEvents | summarize count() by FileName"],
     "SELECT FileName, count(*) AS count_ FROM DeviceProcessEvents GROUP BY FileName",
     "count_"),
]


def total(output, column):
    rows = list(csv.DictReader(io.StringIO(output)))
    return len(rows), sum(int(row[column]) for row in rows)


def commands(where, database, kql, sql):
    """(rmmhunt's command, sqlite3's command) of one case; where is
    --state-dir DIR or --collector URL --token-file F --ca-file F."""
    return ([str(RMMHUNT), "query", *where, "--format", "csv", *kql],
            ["sqlite3", "-readonly", "-csv", "-header", database, sql])


def target(arguments):
    """(rmmhunt's options naming what it asks, the SQLite file sqlite3 reads)."""
    if arguments[0] == "--collector":
        url, token_file, ca_file, database = arguments[1:5]
        return ["--collector", url, "--token-file", token_file, "--ca-file", ca_file], database
    return ["--state-dir", arguments[0]], str(Path(arguments[0]) / "cache.db")


def show_instructions(cases):
    skipped = stats.instructions_skipped()
    if skipped:
        print(f"  instructions: skipped ({skipped})")
        return
    print("instructions (callgrind, one query each, start-up included)")
    for name, (ours, theirs) in cases.items():
        our_count, _ = stats.instructions(ours)
        their_count, _ = stats.instructions(theirs)
        stats.show_count(f"{name}: rmmhunt", our_count)
        stats.show_count(f"{name}: sqlite3", their_count)
        stats.show_count(f"{name}: rmmhunt/sqlite3", our_count / their_count, "x")


def main():
    where, database = target(sys.argv[1:])
    round_count = stats.rounds()
    now = int(time.time() * TICKS_PER_SECOND)
    low, high = now - 5 * 86400 * TICKS_PER_SECOND, now
    cases = {name: commands(where, database, kql, sql.format(low=low, high=high))
             for name, kql, sql, _ in CASES}
    jobs = {(name, side): (command, None) for name, commands in cases.items()
            for side, command in zip(SIDES, commands)}
    flat = os.environ.get("FLAT_STATE_DIR")
    if flat:  # the same records in the first, flat cache layout
        for name, kql, _, _ in CASES:
            jobs[(name, "flat")] = (commands(["--state-dir", flat], "", kql, "")[0], None)
    times, runs, outputs = stats.interleaved(jobs, round_count)
    stats.header("seconds per query, process start-up included", round_count)
    worst = 0.0
    mismatches = 0
    for name, _, _, column in CASES:
        ours, theirs = (name, "rmmhunt"), (name, "sqlite3")
        stats.show(f"{name}: rmmhunt ({runs[ours]}/run)", times[ours], "s")
        stats.show(f"{name}: sqlite3 ({runs[theirs]}/run)", times[theirs], "s")
        ratio = stats.show_ratio(f"{name}: rmmhunt/sqlite3", times[ours], times[theirs])
        worst = max(worst, ratio.median)
        if flat:
            stats.show(f"{name}: rmmhunt flat layout ({runs[(name, 'flat')]}/run)",
                       times[(name, "flat")], "s")
            stats.show_ratio(f"{name}: compact/flat layout", times[ours], times[(name, "flat")])
            if total(outputs[ours], column) != total(outputs[(name, "flat")], column):
                print(f"  {'':{stats.NAME_WIDTH}} flat layout answer DIFFERENT")
                mismatches += 1
        our_total, their_total = total(outputs[ours], column), total(outputs[theirs], column)
        print(f"  {'':{stats.NAME_WIDTH}} rows, total: {our_total[0]}, {our_total[1]}"
              + ("" if our_total == their_total else f"  DIFFERENT from sqlite3: {their_total}"))
        mismatches += our_total != their_total
    print(f"  worst median ratio {worst:.2f}x (target 1.5x)")
    show_instructions(cases)
    stats.footer()
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

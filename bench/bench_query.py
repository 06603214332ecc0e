#!/usr/bin/python3
"""bench_query.py - `rmmhunt query` against hand-written SQL on the same cache.

    bench_query.py STATE_DIR [ROUNDS]
    bench_query.py --collector URL TOKEN_FILE CA_FILE DB [ROUNDS]

The second form times `rmmhunt query --collector` (the fleet query, over
HTTPS, run by rmmhunt-collector on its store DB) against sqlite3 on DB.

STATE_DIR/cache.db holds the records (bench/bench_query.sh builds it).  For
each case, in the same run, times `rmmhunt query --format csv` with the KQL
and `sqlite3 -readonly -csv` with the equivalent SQL a person would write,
median of ROUNDS runs each (default 3), process start-up included on both
sides, and checks that both found the same number of rows / the same
counts.  Prints seconds and the ratio (target: within 1.5x).
"""
import csv
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RMMHUNT = ROOT / "build" / "rmmhunt"
RPORT_RULE = ROOT.parent / "shared" / "corpus" / "sentinel-rmm" / "rmm_RPort_createproc.yaml"
TICKS_PER_SECOND = 10_000_000

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


def timed(command):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout


def total(output, column):
    rows = list(csv.DictReader(io.StringIO(output)))
    return len(rows), sum(int(row[column]) for row in rows)


def spread(times):
    return f"{min(times):.3f}..{max(times):.3f}"


def main():
    if sys.argv[1] == "--collector":
        url, token_file, ca_file, database = sys.argv[2:6]
        rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 3
        where = ["--collector", url, "--token-file", token_file, "--ca-file", ca_file]
    else:
        state_dir = sys.argv[1]
        rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
        database = str(Path(state_dir) / "cache.db")
        where = ["--state-dir", state_dir]
    print(f"{'case':32} {'rmmhunt':>10} {'sqlite3':>10} {'ratio':>7}  rows, total;"
          " spread (min..max) rmmhunt / sqlite3")
    worst = 0.0
    for name, kql, sql, column in CASES:
        now = int(time.time() * TICKS_PER_SECOND)
        sql = sql.format(low=now - 5 * 86400 * TICKS_PER_SECOND, high=now)
        ours, theirs = [], []
        for _ in range(rounds):
            seconds, our_output = timed([str(RMMHUNT), "query", *where,
                                         "--format", "csv", *kql])
            ours.append(seconds)
            seconds, their_output = timed(["sqlite3", "-readonly", "-csv", "-header",
                                           database, sql])
            theirs.append(seconds)
        our_total, their_total = total(our_output, column), total(their_output, column)
        ratio = statistics.median(ours) / statistics.median(theirs)
        worst = max(worst, ratio)
        print(f"{name:32} {statistics.median(ours):9.3f}s {statistics.median(theirs):9.3f}s"
              f" {ratio:6.2f}x  {our_total[0]}, {our_total[1]}"
              + ("" if our_total == their_total else f"  (sqlite3: {their_total})")
              + f"; {spread(ours)} / {spread(theirs)}")
    print(f"worst ratio {worst:.2f}x (target 1.5x)")


if __name__ == "__main__":
    main()

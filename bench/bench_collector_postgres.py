#!/usr/bin/python3
"""bench_collector_postgres.py - the PostgreSQL store (issue 13): ingest
through two collectors, and the fleet RPort query, each beside the SQLite
store on the same data in the same run, and the query beside hand-written
SQL on the same PostgreSQL tables.

    bench_collector_postgres.py WORKDIR

WORKDIR holds cert.pem, key.pem, secret, tokens (collector_common.sh).  A
throwaway PostgreSQL cluster (tests/tools/pg_cluster.py, Debian's server,
default durability: fsync on) runs in a directory of its own for the run.

Ingest: COUNT records (default 100000, tests/tools/gen_records.py) posted by
16 agents (build/bench/collector_load: gzip'd batches of BATCH records over
HTTPS), split between two collectors on one fresh PostgreSQL database;
beside it the same 16 agents into one collector on a fresh SQLite store.
ROUNDS rounds (stats.py).  Target: >= 30,000 records/s.

Query: QUERY_COUNT records (default 500000; the issue's size is 5000000) of
DEVICES devices (default 10000) streamed from the generator through the
collector's store code (collector_load fill, a chunk at a time) into
PostgreSQL and into SQLite; Sentinel's RPort rule
and two more cases run through `rmmhunt query --collector` on each, and the
SQL a person would write runs through psql on the PostgreSQL tables, every
case in every round.  Target: PostgreSQL collector within 1.5x of psql.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stats  # noqa: E402
from bench_query import RPORT_RULE, total  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
from pg_cluster import PostgresCluster  # noqa: E402

BUILD = ROOT / "build"
TICKS_PER_SECOND = 10_000_000


def pg_has(column, term):
    """KQL's has for an ASCII term as a person would write it in PostgreSQL."""
    return (f"\"{column}\" ILIKE '%{term.lower()}%'"
            f" AND \"{column}\" ~* '(^|[^a-z0-9]){term.lower()}($|[^a-z0-9])'")


PG_RPORT = (
    'SELECT "DeviceId", "DeviceName", min("Timestamp") AS "FirstSeen",'
    ' max("Timestamp") AS "LastSeen", json_agg(DISTINCT "ReportId") AS "Report",'
    ' count(*) AS "Count" FROM "DeviceProcessEvents"'
    ' WHERE "Timestamp" BETWEEN {low} AND {high} AND '
    + pg_has("ProcessVersionInfoCompanyName", "RealVNC") + " AND "
    + pg_has("ProcessVersionInfoProductName", "rport") + ' GROUP BY "DeviceId", "DeviceName"')
CASES = [
    ("RPort rule (file)", ["-f", str(RPORT_RULE)], PG_RPORT, "Count"),
    ("has 'curl' | count",
     ["DeviceProcessEvents | where ProcessCommandLine has 'curl' | count"],
     'SELECT count(*) AS "Count" FROM "DeviceProcessEvents" WHERE '
     + pg_has("ProcessCommandLine", "curl"), "Count"),
    ("FileName =~ 'curl' by DeviceId",
     ["DeviceProcessEvents | where FileName =~ 'curl' | summarize n=count() by DeviceId"],
     'SELECT "DeviceId", count(*) AS n FROM "DeviceProcessEvents"'
     " WHERE \"FileName\" ILIKE 'curl' GROUP BY \"DeviceId\"", "n"),
]


class Collectors:
    """rmmhunt-collector processes on one store, stopped together."""

    def __init__(self, work, db, count, extra=()):
        self.processes, self.urls = [], []
        for number in range(count):
            port_file = work / f"port{number}"
            port_file.unlink(missing_ok=True)
            process = subprocess.Popen(
                [str(BUILD / "rmmhunt-collector"), "--listen", "127.0.0.1:0", "--db", db,
                 "--tls-cert", str(work / "cert.pem"), "--tls-key", str(work / "key.pem"),
                 "--enroll-secret-file", str(work / "secret"), "--analyst-token-file",
                 str(work / "tokens"), "--port-file", str(port_file), "--log-level", "warning",
                 "--retention-max-age", "3650d", *extra])
            for _ in range(400):
                if port_file.exists() and port_file.read_text().strip():
                    break
                time.sleep(0.05)
            self.processes.append(process)
            self.urls.append(f"https://127.0.0.1:{int(port_file.read_text())}")

    def stop(self):
        for process in self.processes:
            process.terminate()
            process.wait()


def ingest_rate(work, db, collectors, records, batch):
    group = Collectors(work, db, collectors)
    try:
        output = subprocess.run([str(BUILD / "bench" / "collector_load"), "agents",
                                 ",".join(group.urls), str(work / "cert.pem"),
                                 str(work / "secret"), str(records), "16", str(batch)],
                                check=True, capture_output=True, text=True).stdout
    finally:
        group.stop()
    return float(output.split()[2])


def bench_ingest(work, cluster, round_count):
    count = int(os.environ.get("COUNT", "100000"))
    batch = int(os.environ.get("BATCH", "1000"))
    records = work / "ingest.ndjson"
    subprocess.run([sys.executable, str(ROOT / "tests" / "tools" / "gen_records.py"), "--count",
                    str(count), "--devices", "16", "--quiet", "--output", str(records)],
                   check=True)
    postgres, sqlite = [], []
    for round_index in range(round_count):
        for side in stats.rotated(["postgresql", "sqlite"], round_index):
            if side == "postgresql":
                url = cluster.create_database("ingest")
                postgres.append(ingest_rate(work, url, 2, records, batch))
            else:
                for path in work.glob("ingest.db*"):
                    path.unlink()
                sqlite.append(ingest_rate(work, str(work / "ingest.db"), 1, records, batch))
    stats.header(f"ingest: {count} records, 16 agents, batches of {batch}", round_count)
    stats.show("2 collectors, PostgreSQL", postgres, "records/s")
    stats.show("1 collector, SQLite", sqlite, "records/s")
    stats.show_ratio("PostgreSQL/SQLite", postgres, sqlite)
    print(f"  target: >= 30000 records/s through PostgreSQL")
    records.unlink()


def bench_query(work, cluster, round_count):
    count = int(os.environ.get("QUERY_COUNT", "500000"))
    devices = int(os.environ.get("DEVICES", "10000"))
    url = cluster.create_database("query")
    sqlite_db = work / "query.db"
    # filling is set-up, not measured: PostgreSQL need not flush each of its commits;
    # the records stream from the generator into both stores, a chunk at a time
    fill_environment = dict(os.environ, PGOPTIONS="-c synchronous_commit=off")
    started = time.monotonic()
    generator = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "tools" / "gen_records.py"), "--count",
         str(count), "--devices", str(devices), "--quiet"], stdout=subprocess.PIPE)
    fill = subprocess.run([str(BUILD / "bench" / "collector_load"), "fill",
                           f"{url},{sqlite_db}", "-"], stdin=generator.stdout,
                          capture_output=True, env=fill_environment)
    generator.stdout.close()
    if generator.wait() != 0 or fill.returncode != 0:
        raise RuntimeError(f"filling the fleet stores failed: {fill.stderr.decode()}")
    cluster.psql('VACUUM ANALYZE', "query")
    size = cluster.psql("SELECT pg_size_pretty(pg_database_size('query'))").strip()
    print(f"fleet stores: {count} records of {devices} devices; PostgreSQL {size},"
          f" SQLite {sqlite_db.stat().st_size >> 20} MiB; generated, stored and analyzed"
          f" in {time.monotonic() - started:.0f} s", flush=True)
    postgres = Collectors(work, url, 1)
    sqlite = Collectors(work, str(sqlite_db), 1)
    try:
        now = int(time.time() * TICKS_PER_SECOND)
        low, high = now - 5 * 86400 * TICKS_PER_SECOND, now
        jobs = {}
        for name, kql, sql, _ in CASES:
            for side, group in (("collector, PostgreSQL", postgres),
                                ("collector, SQLite", sqlite)):
                jobs[(name, side)] = ([str(BUILD / "rmmhunt"), "query", "--collector",
                                       group.urls[0], "--token-file", str(work / "tokens"),
                                       "--ca-file", str(work / "cert.pem"), "--format", "csv",
                                       *kql], None)
            jobs[(name, "psql")] = (["psql", "-X", "--csv", "-d", url, "-c",
                                     sql.format(low=low, high=high)], None)
        times, runs, outputs = stats.interleaved(jobs, round_count)
    finally:
        postgres.stop()
        sqlite.stop()
    stats.header("fleet query: seconds per query, process start-up included", round_count)
    worst, mismatches = 0.0, 0
    for name, _, _, column in CASES:
        for side in ("collector, PostgreSQL", "collector, SQLite", "psql"):
            stats.show(f"{name}: {side} ({runs[(name, side)]}/run)", times[(name, side)], "s")
        ratio = stats.show_ratio(f"{name}: PostgreSQL collector/psql",
                                 times[(name, "collector, PostgreSQL")], times[(name, "psql")])
        stats.show_ratio(f"{name}: PostgreSQL/SQLite collector",
                         times[(name, "collector, PostgreSQL")],
                         times[(name, "collector, SQLite")])
        worst = max(worst, ratio.median)
        found = {side: total(outputs[(name, side)], column)
                 for side in ("collector, PostgreSQL", "collector, SQLite", "psql")}
        print(f"  {'':{stats.NAME_WIDTH}} rows, total: {found}")
        mismatches += len(set(found.values())) != 1
    print(f"  worst median ratio to psql {worst:.2f}x (target 1.5x)")
    return mismatches


def main():
    work = Path(sys.argv[1])
    round_count = stats.rounds()
    # an operator's usual first settings for a write-heavy server (docs/operations.md)
    cluster = PostgresCluster(settings={"shared_buffers": "512MB", "max_wal_size": "4GB",
                                        "wal_buffers": "16MB", "checkpoint_timeout": "15min"}
                              ).start()
    try:
        if os.environ.get("SKIP_INGEST") != "1":
            bench_ingest(work, cluster, round_count)
        mismatches = 0 if os.environ.get("SKIP_QUERY") == "1" else bench_query(
            work, cluster, round_count)
    finally:
        cluster.stop()
    stats.footer()
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

"""Issue 13: the collector's PostgreSQL store on its own: versioned
migrations, partitions and retention, no lost updates between two
collectors, and a database that goes away and comes back.

Runs on a throwaway cluster (conftest.postgres_cluster: Debian's real
server on loopback), each test on a fresh database.
"""
import json
import subprocess
import threading
import time

import pytest

from collector import (COLLECTOR, Collector, as_device, batch_body, device_id,
                       generate_records, wait_until)
from conftest import ROOT, postgres_database, require_tools

FIXTURE_V1 = ROOT / "tests" / "fixtures" / "postgres" / "schema_v1.sql"
V1_DEVICE = "372dd965d4cb467116bb51f10dac58fd098573cc"
V1_KEY = "-F6ObIqL0qr6LAzxaVnVEOy032KzqZXp6Hi1vApNXYU"
V1_RECORDS = 40
CURRENT_VERSION = 3
TICKS_PER_DAY = 864000000000


@pytest.fixture
def database(postgres_cluster):
    require_tools("psql")
    return postgres_cluster, postgres_database(postgres_cluster, "store")


def versions(cluster, url):
    name = url.rsplit("/", 1)[1]
    return [int(v) for v in cluster.psql("SELECT version FROM schema_version ORDER BY 1",
                                         name).split()]


def sql(cluster, url, text):
    return cluster.psql(text, url.rsplit("/", 1)[1])


def test_empty_database_gets_every_migration(database, tmp_path):
    cluster, url = database
    c = Collector(tmp_path, tls=False, db=url).start()
    try:
        assert versions(cluster, url) == list(range(1, CURRENT_VERSION + 1))
        assert f"schema migrated to version {CURRENT_VERSION}" in c.stderr()
        # Kusto's has, in SQL: terms, not substrings; k matches the Kelvin sign
        assert sql(cluster, url, "SELECT rmmhunt_has('run curl -s', 'curl'),"
                   " rmmhunt_has('libcurl.so', 'curl'), rmmhunt_has('RPORT.exe', 'rport'),"
                   " rmmhunt_has('\u212aelvin', 'kelvin'), rmmhunt_has('a.b', '.b'),"
                   " rmmhunt_has('x-y', 'x-y')").strip() == "t|f|t|t|t|t"
    finally:
        c.stop()
    # a second start finds it at the current version and changes nothing
    c = Collector(tmp_path, tls=False, db=url).start()
    c.stop()
    assert versions(cluster, url) == list(range(1, CURRENT_VERSION + 1))


def test_database_of_version_1_is_migrated_and_keeps_its_data(database, tmp_path):
    cluster, url = database
    cluster.psql_file(FIXTURE_V1, url.rsplit("/", 1)[1])
    assert versions(cluster, url) == [1]
    c = Collector(tmp_path, tls=False, db=url,
                  extra_args=["--retention-max-age", "36500d"]).start()
    try:
        assert versions(cluster, url) == list(range(1, CURRENT_VERSION + 1))
        assert c.count() == V1_RECORDS
        # the pushed-down has (version 2's function) over version 1's rows
        local = [r for r in c.rows("DeviceProcessEvents | project ProcessCommandLine")]
        pushed = c.rows("DeviceProcessEvents | where ProcessCommandLine has 'curl' | count")
        assert pushed[0]["Count"] == sum(
            1 for r in local if any(t == "curl" for t in
                                    "".join(ch if ch.isalnum() else " "
                                            for ch in r["ProcessCommandLine"].lower()).split()))
        # the device enrolled then still holds its key
        more = as_device(generate_records(5, seed=6), V1_DEVICE, "version1.example")
        status, answer = c.post_batch(V1_KEY, batch_body(V1_DEVICE, more,
                                                         name="version1.example"))
        assert status == 200 and answer["records"] == 5, answer
        assert c.count() == V1_RECORDS + 5
    finally:
        c.stop()


def test_newer_schema_is_refused_with_a_clear_error(database, tmp_path):
    cluster, url = database
    c = Collector(tmp_path, tls=False, db=url).start()
    c.stop()
    sql(cluster, url, "INSERT INTO schema_version (version, description) VALUES (99, 'future')")
    c = Collector(tmp_path, tls=False, db=url)
    with pytest.raises(AssertionError, match=f"schema version 99; this collector knows up to {CURRENT_VERSION}"):
        c.start()


def test_bad_database_urls_are_clear_errors(postgres_cluster, tmp_path):
    dead = f"postgresql://rmmhunt:secret-word@127.0.0.1:{postgres_cluster.port}/no_such_db"
    c = Collector(tmp_path, tls=False, db=dead)
    with pytest.raises(AssertionError) as failure:
        c.start()
    assert "no_such_db" in str(failure.value) and "secret-word" not in c.stderr()
    latin = "rmmhunt_latin1"
    postgres_cluster.psql(f'DROP DATABASE IF EXISTS "{latin}"')
    postgres_cluster.psql(f"CREATE DATABASE \"{latin}\" ENCODING 'LATIN1' LC_COLLATE 'C'"
                          " LC_CTYPE 'C' TEMPLATE template0")
    (tmp_path / "latin").mkdir()
    with pytest.raises(AssertionError, match="encoding is LATIN1; rmmhunt needs UTF8"):
        Collector(tmp_path / "latin", tls=False, db=postgres_cluster.url(latin)).start()


def test_two_collectors_starting_together_migrate_once(database, tmp_path):
    cluster, url = database
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    collectors = [Collector(tmp_path / name, tls=False, db=url) for name in ("a", "b", "c")]
    threads = [threading.Thread(target=collector.start) for collector in collectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert all(collector.alive() for collector in collectors)
        assert versions(cluster, url) == list(range(1, CURRENT_VERSION + 1))
        migrated = sum(collector.stderr().count("schema migrated to version") for collector
                       in collectors)
        assert migrated == CURRENT_VERSION
    finally:
        for collector in collectors:
            collector.stop()


def partitions(cluster, url):
    return sorted(sql(cluster, url, "SELECT c.relname FROM pg_inherits i JOIN pg_class c"
                      " ON c.oid = i.inhrelid WHERE i.inhparent ="
                      " '\"DeviceProcessEvents\"'::regclass").split())


def days_ago(days, hour=12):
    moment = time.gmtime(time.time() - days * 86400)
    return time.strftime(f"%Y-%m-%dT{hour:02d}:00:00Z", moment)


def test_retention_drops_whole_day_partitions(database, tmp_path):
    cluster, url = database
    device = device_id("retention")
    c = Collector(tmp_path, tls=False, db=url).start()
    key = c.enroll(device)
    # five days ago, yesterday, and 2001 (outside the created days: default partition)
    five = as_device(generate_records(30, seed=7, end=days_ago(5), span_days=0.2), device)
    one = as_device(generate_records(30, seed=8, end=days_ago(1), span_days=0.2), device)
    ancient = as_device(generate_records(10, seed=9, end="2001-01-01T00:00:00Z"), device)
    for rows in (five, one, ancient):
        assert c.post_batch(key, batch_body(device, rows))[0] == 200
    c.stop()
    before = partitions(cluster, url)
    assert "DeviceProcessEvents_default" in before and len(before) >= 3
    c = Collector(tmp_path, tls=False, db=url, extra_args=[
        "--retention-max-age", "3d", "--retention-interval", "1"]).start()
    try:
        assert wait_until(lambda: c.count() == len(one), 30), c.count()
        after = partitions(cluster, url)
        five_day = int(time.mktime(time.strptime(days_ago(5), "%Y-%m-%dT%H:%M:%SZ"))
                       - time.timezone) // 86400
        assert f"DeviceProcessEvents_d{five_day}" in before
        assert f"DeviceProcessEvents_d{five_day}" not in after
        assert "DeviceProcessEvents_default" in after
        assert "dropped the records of day" in c.stderr()
        status, _, body = c.request("GET", "/metrics")
        counted = [line for line in body.decode().splitlines()
                   if line.startswith('rmmhunt_collector_retention_removed_total'
                                       '{table="DeviceProcessEvents"}')]
        assert counted and float(counted[0].split()[-1]) == len(five) + len(ancient)
    finally:
        c.stop()


def summary(device, updated, count):
    return {"kind": "summary", "rule": {"id": "rmm-rport", "name": "RPort"},
            "updated": updated,
            "columns": [{"name": n, "type": t} for n, t in
                        [("DeviceId", "string"), ("DeviceName", "string"),
                         ("FirstSeen", "datetime"), ("LastSeen", "datetime"),
                         ("Report", "dynamic"), ("Count", "long")]],
            "rows": [[device, "race.example", "2026-12-01T10:00:00.0000000Z",
                      "2026-12-01T11:00:00.0000000Z", [count], count]]}


def test_two_collectors_writing_for_one_device_lose_no_update(database, tmp_path):
    """Summaries of one (device, rule) and the device's counters written
    through two collectors at once: the newest summary wins, the counters
    add up."""
    cluster, url = database
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Collector(tmp_path / "a", tls=False, db=url)
    second = Collector(tmp_path / "b", tls=False, db=url)
    first.start()
    second.start()
    try:
        device = device_id("race")
        key = first.enroll(device, "race.example")
        records = as_device(generate_records(400, seed=10), device, "race.example")
        errors = []

        def post(collector, numbers):
            for number in numbers:
                updated = f"2026-12-01T12:{number // 60:02d}:{number % 60:02d}Z"
                rows = records[number * 2:number * 2 + 2]
                status, answer = collector.post_batch(key, batch_body(
                    device, rows, summaries=[summary(device, updated, number)],
                    batch=f"{device}-E{number}-H0", name="race.example"))
                if status != 200:
                    errors.append((status, answer))

        threads = [threading.Thread(target=post, args=(first, range(0, 200, 2))),
                   threading.Thread(target=post, args=(second, range(1, 200, 2)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        got = first.rows(f"RuleSummaries | where DeviceId == '{device}' | project Count")
        assert got == [{"Count": 199}]
        assert first.count() == 400
        status, _, body = second.request("GET", "/v1/devices", bearer=second.token)
        device_row = [d for d in json.loads(body)["devices"] if d["DeviceId"] == device][0]
        assert device_row["Records"] == 400
    finally:
        first.stop()
        second.stop()


def test_retried_and_overlapping_batches_store_each_record_once(database, tmp_path):
    """A batch whose records are all new is copied straight into the table;
    one with some records stored already (a retry, an overlap, the same batch
    through two collectors at once) goes through the staging table: each
    record once, in batch order, the rest counted as duplicates."""
    _, url = database
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Collector(tmp_path / "a", tls=False, db=url).start()
    second = Collector(tmp_path / "b", tls=False, db=url).start()
    try:
        device = device_id("retry")
        key = first.enroll(device, "retry.example")
        records = as_device(generate_records(300, seed=12), device, "retry.example")
        rule = {"id": "rmm-test", "name": "test rule", "tactics": "CommandAndControl",
                "techniques": "T1219"}
        hits = [(rule, record) for record in records[:3]]
        status, answer = first.post_batch(key, batch_body(device, records[:100], hits=hits[:2],
                                                          name="retry.example"))
        assert status == 200 and (answer["records"], answer["duplicates"]) == (100, 0)
        status, answer = second.post_batch(key, batch_body(device, records[:100], hits=hits[:2],
                                                           name="retry.example"))
        assert status == 200 and (answer["records"], answer["duplicates"]) == (0, 102)
        status, answer = first.post_batch(key, batch_body(device, records[50:150], hits=hits,
                                                          name="retry.example"))
        assert status == 200 and (answer["records"], answer["duplicates"]) == (50, 52)
        # one batch through both collectors at once
        body = batch_body(device, records[150:300], name="retry.example")
        answers = []
        threads = [threading.Thread(target=lambda c=c: answers.append(c.post_batch(key, body)))
                   for c in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted((a["records"], a["duplicates"]) for _, a in answers) == [(0, 150), (150, 0)]
        assert [r["ReportId"] for r in first.rows("DeviceProcessEvents | project ReportId")] == \
            [r["ReportId"] for r in records]
        assert first.count("RuleHits") == 3
    finally:
        first.stop()
        second.stop()


def test_database_restart_answers_503_then_stores_again(database, tmp_path):
    cluster, url = database
    c = Collector(tmp_path, tls=False, db=url).start()
    try:
        device = device_id("restart")
        key = c.enroll(device)
        records = as_device(generate_records(60, seed=11), device)
        assert c.post_batch(key, batch_body(device, records[:20]))[0] == 200
        cluster.run_as_owner(cluster.bin / "pg_ctl", "-D", cluster.data, "-m", "fast", "-w",
                             "stop")
        try:
            status, answer = c.post_batch(key, batch_body(device, records[20:40]))
            assert status == 503, (status, answer)
            assert c.request("GET", "/healthz")[0] == 503
        finally:
            cluster.start()
        # the same batch again (the agent's retry): stored once, after a reconnect
        deadline = time.monotonic() + 30
        while True:
            status, answer = c.post_batch(key, batch_body(device, records[20:40]))
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status == 200 and answer["records"] == 20, answer
        assert c.count() == 40
        assert c.alive()
    finally:
        c.stop()

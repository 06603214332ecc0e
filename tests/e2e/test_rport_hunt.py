"""The mission end to end: `wine rport.exe` on a Linux host, seen by the real
agent, found by the RPort rule of the pack (as a hit and in its per-device
summary), and by Sentinel's own RPort query run verbatim over the local cache
with `rmmhunt query`.  A RealVNC binary that is not RPort is not found."""
import csv
import io
import json
import sqlite3
import subprocess
import time

import pytest

from conftest import CLI, ROOT, RunningAgent, skip_or_fail
# the session's Wine (prefix, persistent wineserver) is test_wine's fixture
from test_wine import wine  # noqa: F401

CORPUS_RPORT = ROOT.parent / "shared" / "corpus" / "sentinel-rmm" / "rmm_RPort_createproc.yaml"


def rport_rule_id():
    text = (ROOT / "rules" / "rmm_rport_createproc.yaml").read_text()
    return next(line.split(":", 1)[1].strip() for line in text.splitlines()
                if line.startswith("id:"))


@pytest.fixture
def hunter(workdir):
    """An agent of its own (fresh cache, the project's rules, --hits)."""
    running = RunningAgent(workdir, ["--hits", str(workdir / "hits.ndjson")]).start()
    try:
        yield running
    finally:
        running.stop()


def summary(agent):
    database = f"file:{agent.state_dir / 'cache.db'}?mode=ro"
    with sqlite3.connect(database, uri=True) as db:
        row = db.execute("SELECT SummaryJson FROM RuleSummaries WHERE RuleId = ?",
                         (rport_rule_id(),)).fetchone()
    return json.loads(row[0]) if row else []


def wait_summary_count(agent, count, timeout=20):
    deadline = time.monotonic() + timeout
    rows = summary(agent)
    while time.monotonic() < deadline and not (rows and rows[0]["Count"] == count):
        time.sleep(0.2)
        rows = summary(agent)
    return rows


def query(agent, output_format):
    if not CORPUS_RPORT.exists():
        skip_or_fail(f"the Sentinel corpus is not at {CORPUS_RPORT}")
    result = subprocess.run([str(CLI), "query", "--state-dir", str(agent.state_dir),
                             "--format", output_format, "-f", str(CORPUS_RPORT)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_under_wine(wine, name):  # noqa: F811
    pid, status, _, err = wine.call("wine", name)
    assert status == 0, err
    return pid


def rport_records(agent):
    return [r for r in agent.records() if r["FileName"] == "rport.exe"]


def test_rport_under_wine_is_hunted(hunter, wine):  # noqa: F811
    run_under_wine(wine, "rport.exe")
    records = hunter.wait_for(lambda r: r["FileName"] == "rport.exe", timeout=60)
    assert len(records) == 1
    first = records[0]

    rows = wait_summary_count(hunter, 1)
    assert rows == [{"DeviceId": first["DeviceId"], "DeviceName": first["DeviceName"],
                     "FirstSeen": first["Timestamp"], "LastSeen": first["Timestamp"],
                     "Report": [first["ReportId"]], "Count": 1}]
    hits = [json.loads(line) for line in
            (hunter.workdir / "hits.ndjson").read_text().splitlines()]
    rport_hits = [h for h in hits if h["RuleId"] == rport_rule_id()]
    assert [h["ReportId"] for h in rport_hits] == [first["ReportId"]]

    # Sentinel's query, verbatim, over the local cache: the same table
    as_json = [json.loads(line) for line in query(hunter, "json").splitlines()]
    assert as_json == rows
    as_csv = list(csv.DictReader(io.StringIO(query(hunter, "csv"))))
    assert len(as_csv) == 1 and as_csv[0]["Count"] == "1"
    assert as_csv[0]["FirstSeen"] == first["Timestamp"]
    table = query(hunter, "table")
    assert "FirstSeen" in table and first["DeviceName"] in table

    # a second run: Count 2
    run_under_wine(wine, "rport.exe")
    assert len(hunter.wait_for(lambda r: r["FileName"] == "rport.exe", count=2,
                               timeout=60)) == 2
    second = rport_records(hunter)[1]
    rows = wait_summary_count(hunter, 2)
    assert rows[0]["Count"] == 2
    assert sorted(rows[0]["Report"]) == sorted([first["ReportId"], second["ReportId"]])
    assert rows[0]["FirstSeen"] == first["Timestamp"]
    assert rows[0]["LastSeen"] == second["Timestamp"]
    as_json = [json.loads(line) for line in query(hunter, "json").splitlines()]
    assert as_json[0]["Count"] == 2

    # RealVNC's viewer is not RPort: no hit, the count stays
    run_under_wine(wine, "vncviewer.exe")
    viewer = hunter.wait_for(lambda r: r["FileName"] == "vncviewer.exe", timeout=60)
    assert viewer and viewer[0]["ProcessVersionInfoCompanyName"] == "RealVNC Ltd"
    assert viewer[0]["ProcessVersionInfoProductName"] == "vncviewer"
    time.sleep(2)
    assert summary(hunter)[0]["Count"] == 2
    hits = [json.loads(line) for line in
            (hunter.workdir / "hits.ndjson").read_text().splitlines()]
    assert not [h for h in hits if h["FileName"] == "vncviewer.exe"
                and h["RuleId"] == rport_rule_id()]

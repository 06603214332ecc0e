"""Issue: KQL rules on the host, in the real agent: hits, the incremental
per-device summary, rules that cannot run reported and skipped, SIGHUP."""
import json
import signal
import sqlite3
import subprocess
import time

from conftest import RunningAgent, require_root

MARKER_RULE = """id: 7d8a1f1e-1111-4a2b-9c3d-000000000001
name: Marker test rule
tactics: CommandAndControl
relevantTechniques: T1219
query: |
  let Time_start = now(-5d);
  let Time_end = now();
  DeviceProcessEvents
  | where Timestamp between (Time_start..Time_end)
  | where ProcessCommandLine has '{marker}'
      and FileName =~ 'true'
  | summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp),
      Report=make_set(ReportId), Count=count() by DeviceId, DeviceName
"""

BAD_RULE = """id: bad
name: Broken
query: |
  DeviceProcessEvents
  | where NoSuchColumn has 'x'
"""

NETCONN_RULE = """id: netconn
name: Network rule
query: |
  DeviceNetworkEvents
  | where RemoteUrl has 'example.com'
"""


def summary(agent, rule_id):
    with sqlite3.connect(f"file:{agent.state_dir / 'cache.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT SummaryJson FROM RuleSummaries WHERE RuleId = ?",
                         (rule_id,)).fetchone()
    return json.loads(row[0]) if row else None


def wait_summary(agent, rule_id, count, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = summary(agent, rule_id)
        if rows and rows[0]["Count"] == count:
            return rows
        time.sleep(0.2)
    return summary(agent, rule_id)


def hits(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_hits_summaries_and_skipped_rules(workdir):
    require_root()
    marker = f"marker{time.monotonic_ns()}"
    rules = workdir / "rules"
    rules.mkdir()
    (rules / "marker.yaml").write_text(MARKER_RULE.format(marker=marker))
    (rules / "bad.yaml").write_text(BAD_RULE)
    (rules / "netconn.yaml").write_text(NETCONN_RULE)
    hits_path = workdir / "hits.ndjson"
    # RunningAgent passes --rules ROOT/rules first; this later one wins
    agent = RunningAgent(workdir, ["--hits", str(hits_path), "--rules", str(rules)])
    agent.start()
    try:
        stderr = agent.stderr_path.read_text()
        assert "bad.yaml:5:11:" in stderr and "NoSuchColumn" in stderr
        assert "unsupported table" in stderr and "netconn.yaml" in stderr
        assert "1 rules loaded" in stderr

        subprocess.run(["/bin/true", marker], check=True)
        first = agent.wait_for(lambda r: r["ProcessCommandLine"] == f"/bin/true {marker}")[0]
        rows = wait_summary(agent, "7d8a1f1e-1111-4a2b-9c3d-000000000001", 1)
        assert rows == [{"DeviceId": first["DeviceId"], "DeviceName": first["DeviceName"],
                         "FirstSeen": first["Timestamp"], "LastSeen": first["Timestamp"],
                         "Report": [first["ReportId"]], "Count": 1}]
        found = hits(hits_path)
        assert len(found) == 1
        assert found[0]["RuleId"] == "7d8a1f1e-1111-4a2b-9c3d-000000000001"
        assert found[0]["RuleName"] == "Marker test rule"
        assert found[0]["Tactics"] == "CommandAndControl"
        assert found[0]["Techniques"] == "T1219"
        assert found[0]["ReportId"] == first["ReportId"]
        assert len(found[0]) == 4 + 68

        subprocess.run(["/bin/true", marker], check=True)
        rows = wait_summary(agent, "7d8a1f1e-1111-4a2b-9c3d-000000000001", 2)
        assert rows[0]["Count"] == 2 and len(rows[0]["Report"]) == 2
        subprocess.run(["/bin/false", marker])  # FileName is not 'true'
        time.sleep(1.5)
        assert summary(agent, "7d8a1f1e-1111-4a2b-9c3d-000000000001")[0]["Count"] == 2

        with sqlite3.connect(f"file:{agent.state_dir / 'cache.db'}?mode=ro", uri=True) as db:
            cached = db.execute("SELECT RuleId, ProcessCommandLine FROM RuleHits").fetchall()
        assert len(cached) == 2

        # SIGHUP: a rule added to the directory is loaded
        (rules / "bad.yaml").unlink()
        (rules / "second.yaml").write_text(MARKER_RULE.format(marker=marker).replace(
            "000000000001", "000000000002").replace("Marker test rule", "Second"))
        agent.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "2 rules loaded" not in agent.stderr_path.read_text() and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        assert "2 rules loaded" in agent.stderr_path.read_text()
        subprocess.run(["/bin/true", marker], check=True)
        rows = wait_summary(agent, "7d8a1f1e-1111-4a2b-9c3d-000000000002", 1)
        assert rows and rows[0]["Count"] == 1
        status = agent.fresh_status()
        assert status["rules"]["loaded"] == 2
        assert status["rules"]["hits"] >= 4
    finally:
        agent.stop()


def test_retention_removes_records_but_keeps_hits_and_summaries(workdir):
    require_root()
    marker = f"keep{time.monotonic_ns()}"
    rules = workdir / "rules"
    rules.mkdir()
    (rules / "marker.yaml").write_text(MARKER_RULE.format(marker=marker))
    agent = RunningAgent(workdir, ["--rules", str(rules), "--cache-max-age", "3s"]).start()
    try:
        subprocess.run(["/bin/true", marker], check=True)
        agent.wait_for(lambda r: r["ProcessCommandLine"] == f"/bin/true {marker}")
        assert wait_summary(agent, "7d8a1f1e-1111-4a2b-9c3d-000000000001", 1)
        database = f"file:{agent.state_dir / 'cache.db'}?mode=ro"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with sqlite3.connect(database, uri=True) as db:
                records = db.execute("SELECT COUNT(*) FROM DeviceProcessEvents WHERE "
                                     "ProcessCommandLine = ?", (f"/bin/true {marker}",)
                                     ).fetchone()[0]
            if records == 0:
                break
            time.sleep(0.3)
        assert records == 0, "the record aged out of the 3 s retention"
        with sqlite3.connect(database, uri=True) as db:
            kept_hits = db.execute("SELECT COUNT(*) FROM RuleHits").fetchone()[0]
            kept_summaries = db.execute("SELECT COUNT(*) FROM RuleSummaries").fetchone()[0]
        assert kept_hits == 1 and kept_summaries == 1
    finally:
        agent.stop()

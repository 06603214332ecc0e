"""Issue 13: several stateless collectors over one PostgreSQL.

A throwaway PostgreSQL cluster on loopback (conftest.postgres_cluster, the
real Debian server), one database, two rmmhunt-collectors on different
ports sharing it (same TLS CA, enrollment secret and analyst token, as two
instances behind a load balancer are configured).  Real agents (the real
BPF probe) ship to them:

- three agents split between the two collectors; one `wine rport.exe`;
  Sentinel's RPort query, verbatim, through either collector gives the same
  three rows (one per device), and the agents' rule summaries and hits;
- one collector is killed (SIGKILL) while the agents ship a backlog: the
  agents fail over (--collector repeated) to the other, and every record
  is stored exactly once.
"""
import json
import signal
import subprocess

import pytest

from collector import CLI, wait_until
from conftest import postgres_database, require_root, require_tools, skip_or_fail
from fleet import FleetCollector, ShippingAgent, marker_new, run_markers, settle
from test_fleet_hunt import rport_records, sentinel_rport, wait_rport
from test_rport_hunt import CORPUS_RPORT, rport_rule_id, run_under_wine
# the session's Wine (prefix, persistent wineserver) is test_wine's fixture
from test_wine import wine  # noqa: F401


def twin(first, workdir):
    """A second collector on the same database with the first one's secrets
    and TLS material (one CA for the agents to trust)."""
    second = FleetCollector(workdir, db=first.db)
    for name in ("secret", "token", "secret_file", "token_file", "ca", "cert", "key"):
        setattr(second, name, getattr(first, name))
    return second


@pytest.fixture
def two_collectors(tmp_path, postgres_cluster):
    require_root()
    require_tools("openssl")
    url = postgres_database(postgres_cluster, "fleet")
    first = FleetCollector(tmp_path / "collector-a", db=url).start()
    second = twin(first, tmp_path / "collector-b").start()
    agents = []
    yield first, second, agents, tmp_path, postgres_cluster, url
    # the agents stop together (each takes seconds to detach and flush)
    running = [agent for agent in agents if agent.process and agent.process.poll() is None]
    for agent in running:
        agent.process.send_signal(signal.SIGINT)
    for agent in running:
        try:
            agent.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        agent.stop()
    for collector in (first, second):
        if collector.alive():
            collector.stop()


def test_rport_through_either_collector_gives_the_same_three_rows(two_collectors,
                                                                  wine):  # noqa: F811
    first, second, agents, workdir, _, _ = two_collectors
    if not CORPUS_RPORT.exists():
        skip_or_fail(f"the Sentinel corpus is not at {CORPUS_RPORT}")
    # agent 0 and 2 ship to the first collector, agent 1 to the second
    for number, (home, other) in enumerate([(first, second), (second, first), (first, second)]):
        agents.append(ShippingAgent(workdir / f"agent{number}", home, url=home.url,
                                    extra_args=["--collector", other.url]).start())
    devices = {agent.device_id for agent in agents}
    assert len(devices) == 3

    run_under_wine(wine, "rport.exe")
    for agent in agents:
        assert len(agent.wait_for(lambda r: r["FileName"] == "rport.exe", timeout=60)) == 1
    rows_first = wait_rport(first, agents, 1)
    rows_second = sentinel_rport(second)
    assert set(rows_first) == devices
    assert rows_second == rows_first
    for agent in agents:
        record = rport_records(agent)[0]
        assert rows_first[agent.device_id] == {
            "DeviceId": agent.device_id, "DeviceName": record["DeviceName"],
            "FirstSeen": record["Timestamp"], "LastSeen": record["Timestamp"],
            "Report": [record["ReportId"]], "Count": 1}
    # byte for byte the same answer, in every format
    for form in ("json", "csv", "table"):
        assert first.query_cli("--format", form, "-f", str(CORPUS_RPORT)) == \
            second.query_cli("--format", form, "-f", str(CORPUS_RPORT))

    # the agents' own RPort rule: summaries (two collectors, one table) and hits
    rule = rport_rule_id()
    expected = sorted((device, 1) for device in devices)
    for collector in (first, second):
        summaries = settle(lambda: sorted(
            (row["DeviceId"], row["Count"]) for row in collector.rows(
                f"RuleSummaries | where RuleId == '{rule}' | project DeviceId, Count")),
            expected)
        assert summaries == expected
        hits = collector.rows(f"RuleHits | where RuleId == '{rule}' "
                              "| summarize Hits=count() by DeviceId")
        assert sorted((row["DeviceId"], row["Hits"]) for row in hits) == expected

    # --stats: the time range, the filters and the summarize ran in PostgreSQL
    plan = query_plan(first, "-f", str(CORPUS_RPORT))
    assert [entry["table"] for entry in plan] == ["DeviceProcessEvents"]
    assert plan[0]["time_range_in_postgresql"] and plan[0]["filters_in_postgresql"]
    assert plan[0]["summarize_in_postgresql"]
    sql = plan[0]["sql_in_postgresql"]
    assert "\"ProcessVersionInfoProductName\" ~ ('(^|[^' || rmmhunt_term_class()" in sql
    assert "json_agg(\"ReportId\" ORDER BY" in sql and "GROUP BY 1, 2" in sql
    assert plan[0]["groups_to_collector"] == 3
    assert plan[0]["in_collector"] == "the operators after summarize, on the groups"
    # a summarize by an expression: the rows go to the collector
    plan = query_plan(first, "DeviceProcessEvents | where ProcessVersionInfoProductName"
                      " has 'rport' | summarize count() by bin(Timestamp, 1d)")
    assert not plan[0]["summarize_in_postgresql"]
    assert plan[0]["filters_in_postgresql"] and plan[0]["rows_to_collector"] >= 3


def query_plan(collector, *query):
    """The plan of `rmmhunt query --stats` through collector."""
    result = subprocess.run([str(CLI), "query", "--collector", collector.url, "--token-file",
                             str(collector.token_file), "--ca-file", str(collector.ca[0]),
                             "--stats", *query], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stderr)["plan"]


def delivered(collector, device, marker):
    rows = collector.rows(f"DeviceProcessEvents | where DeviceId == '{device}' "
                          f"and ProcessCommandLine has '{marker}' and FileName == 'true' "
                          "| project ReportId")
    return len(rows), len({row["ReportId"] for row in rows})


def test_one_collector_killed_while_shipping_agents_fail_over(two_collectors):
    first, second, agents, workdir, _, _ = two_collectors
    marker = marker_new()
    # the shipping agents each reach the first collector first
    for number in range(2):
        agents.append(ShippingAgent(workdir / f"agent{number}", first, url=first.url,
                                    extra_args=["--collector", second.url,
                                                "--reconnect-spread", "0"]).start())
    for agent in agents:
        agent.wait_status(lambda s: s["outbox"]["enrolled"] and s["outbox"]["heartbeats"] > 0)
    # a backlog (the collectors away) the agents then send in several batches
    first.stop()
    second.stop()
    # several batches (over 2 MB compressed, batches of at most 1 MB)
    # from fewer execs: 1500 records of 1400 random bytes each
    produced = 1500
    run_markers(marker, produced, noise=1400)
    for agent in agents:
        assert len(agent.wait_for(lambda r: marker in r["ProcessCommandLine"]
                                  and r["FileName"] == "true", count=produced,
                                  timeout=120)) == produced
    first.start()
    second.start()
    # kill -9 the first collector as soon as it has stored part of the backlog
    assert wait_until(lambda: any(0 < delivered(first, agent.device_id, marker)[0] < produced
                                  for agent in agents), timeout=120, interval=0.05)
    first.stop(sig=signal.SIGKILL)
    for agent in agents:
        agent.wait_shipped(timeout=180)
    for agent in agents:
        assert settle(lambda: delivered(second, agent.device_id, marker),
                      (produced, produced)) == (produced, produced)
        twice = second.rows(f"DeviceProcessEvents | where DeviceId == '{agent.device_id}' "
                            "| summarize Rows=count() by ReportId | where Rows > 1 | count")
        assert twice == [{"Count": 0}]
        outbox = agent.status()["outbox"]
        assert outbox["dropped_records"] == 0 and outbox["rejected_records"] == 0
        assert outbox["failures"] > 0, "the agent never saw the first collector go"
    # the devices' counters, added to by both collectors, match what is stored
    for agent in agents:
        agent.stop()
    status, _, body = second.request("GET", "/v1/devices", bearer=second.token)
    assert status == 200
    counters = {device["DeviceId"]: device["Records"] for device in json.loads(body)["devices"]}
    for agent in agents:
        stored = second.rows(f"DeviceProcessEvents | where DeviceId == '{agent.device_id}' "
                             "| count")
        assert stored == [{"Count": counters[agent.device_id]}]

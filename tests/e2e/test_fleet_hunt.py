"""Issue 8, the fleet: the mission over many hosts.

Three agents on this host, each with its own state directory and machine
id (three DeviceIds, as three hosts would be), ship to one real collector
over TLS.  One `wine rport.exe` is seen by all three; Sentinel's RPort
query, verbatim (`rmmhunt query --collector -f` the corpus file), finds it
once per device: three rows with Count 1, and Count 2 after a second run.
The agents' own rule summaries reach the collector's RuleSummaries too.
"""
import json
import time

import pytest

from conftest import require_root, require_tools, skip_or_fail
from fleet import FleetCollector, ShippingAgent, settle
from test_rport_hunt import CORPUS_RPORT, rport_rule_id, run_under_wine
# the session's Wine (prefix, persistent wineserver) is test_wine's fixture
from test_wine import wine  # noqa: F401


@pytest.fixture
def fleet_of_three(tmp_path):
    require_root()
    require_tools("openssl")
    if not CORPUS_RPORT.exists():
        skip_or_fail(f"the Sentinel corpus is not at {CORPUS_RPORT}")
    collector = FleetCollector(tmp_path / "collector").start()
    agents = []
    try:
        for number in range(3):
            agents.append(ShippingAgent(tmp_path / f"agent{number}", collector).start())
        yield collector, agents
    finally:
        for agent in agents:
            agent.stop()
        collector.stop()


def sentinel_rport(collector):
    """Sentinel's RPort query, verbatim, over the fleet: rows by DeviceId."""
    output = collector.query_cli("--format", "json", "-f", str(CORPUS_RPORT))
    return {row["DeviceId"]: row for row in map(json.loads, output.splitlines())}


def wait_rport(collector, agents, count, timeout=90):
    devices = sorted(agent.device_id for agent in agents)
    deadline = time.monotonic() + timeout
    rows = sentinel_rport(collector)
    while time.monotonic() < deadline and not (
            sorted(rows) == devices and all(row["Count"] == count for row in rows.values())):
        time.sleep(1)
        rows = sentinel_rport(collector)
    return rows


def rport_records(agent):
    return [r for r in agent.records() if r["FileName"] == "rport.exe"]


def test_three_devices_one_rport_run_three_rows(fleet_of_three, wine):  # noqa: F811
    collector, agents = fleet_of_three
    devices = {agent.device_id for agent in agents}
    assert len(devices) == 3

    run_under_wine(wine, "rport.exe")
    for agent in agents:
        assert len(agent.wait_for(lambda r: r["FileName"] == "rport.exe", timeout=60)) == 1
    rows = wait_rport(collector, agents, 1)
    assert set(rows) == devices
    for agent in agents:
        record = rport_records(agent)[0]
        assert rows[agent.device_id] == {
            "DeviceId": agent.device_id, "DeviceName": record["DeviceName"],
            "FirstSeen": record["Timestamp"], "LastSeen": record["Timestamp"],
            "Report": [record["ReportId"]], "Count": 1}

    run_under_wine(wine, "rport.exe")
    for agent in agents:
        assert len(agent.wait_for(lambda r: r["FileName"] == "rport.exe", count=2,
                                  timeout=60)) == 2
    rows = wait_rport(collector, agents, 2)
    assert set(rows) == devices and {row["Count"] for row in rows.values()} == {2}
    for agent in agents:
        first, second = rport_records(agent)
        assert sorted(rows[agent.device_id]["Report"]) == \
            sorted([first["ReportId"], second["ReportId"]])

    # the agents' own RPort rule: its hits and its summary per device
    rule = rport_rule_id()
    summaries = settle(lambda: sorted(
        (row["DeviceId"], row["Count"]) for row in collector.rows(
            f"RuleSummaries | where RuleId == '{rule}' | project DeviceId, Count")),
        sorted((device, 2) for device in devices))
    assert summaries == sorted((device, 2) for device in devices)
    hits = collector.rows(f"RuleHits | where RuleId == '{rule}' "
                          "| summarize Hits=count() by DeviceId")
    assert sorted((row["DeviceId"], row["Hits"]) for row in hits) == \
        sorted((device, 2) for device in devices)
    for agent in agents:
        outbox = agent.status()["outbox"]
        assert outbox["dropped_records"] == 0 and outbox["rejected_records"] == 0

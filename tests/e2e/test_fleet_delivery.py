"""Issue 8, the fleet: the agent's outbox delivers every record exactly once.

A real agent (real BPF probe) ships to a real rmmhunt-collector over TLS
while the tests break things: the collector goes away for a minute while
hits keep coming; the agent is killed with SIGKILL in the middle of
sending its backlog; the collector takes only small bodies (413); it is at
its connection limit (503 with Retry-After); the cache is too small for
the backlog (what retention removes unshipped is counted, in status.json
and in the heartbeat); --ship hits.  Counts are checked at the collector
with KQL against what the agent itself recorded: records equal distinct
(DeviceId, ReportId) equal what was produced.
"""
import json
import re
import socket
import subprocess
import threading
import time

import pytest

from collector import issue, wait_until
from conftest import BACKENDS, CLI, require_root, require_tools, store_location
from fleet import (FleetCollector, ShippingAgent, agent_marker_records, is_marker,
                   marker_new, marker_rules, run_markers, settle)


@pytest.fixture
def fleet(request, tmp_path):
    """A collector on a fixed port (started by the test) and agents, all
    stopped at the end.  Its store is SQLite, or the backend a test asks
    for (parametrize("fleet", BACKENDS, indirect=True))."""
    require_root()
    require_tools("openssl")
    backend = getattr(request, "param", "sqlite")
    collector = FleetCollector(tmp_path / "collector",
                               db=store_location(request, backend, tmp_path / "collector"))
    agents = []
    yield collector, agents, tmp_path
    for agent in agents:
        if agent.process and agent.process.poll() is None:
            agent.stop()
    if collector.alive():
        collector.stop()


def delivered(collector, agent, marker, table="DeviceProcessEvents"):
    """(rows, distinct ReportIds) of the marker at the collector."""
    rows = collector.marker_rows(agent.device_id, marker, table)
    return len(rows), len({row["ReportId"] for row in rows})


def no_capture_loss(status):
    probe = status["probe"]
    for counter in ("exec_lost", "fork_lost", "exit_lost"):
        assert probe[counter] == 0, (counter, probe)


class MarkerStream:
    """Execs of /bin/true MARKER-N in the background, a few dozen a second."""

    def __init__(self, marker):
        self.marker = marker
        self.produced = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            run_markers(self.marker, 10, first=self.produced)
            self.produced += 10
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exception):
        self._stop.set()
        self._thread.join()


@pytest.mark.parametrize("fleet", BACKENDS, indirect=True)
def test_outage_every_record_arrives_exactly_once(fleet):
    collector, agents, workdir = fleet
    marker = marker_new()
    collector.start()
    agent = ShippingAgent(workdir / "agent", collector, ["--reconnect-spread", "10"],
                          rules=marker_rules(workdir / "rules", marker)).start()
    agents.append(agent)
    with MarkerStream(marker) as stream:
        time.sleep(5)
        collector.stop()
        before_outage = stream.produced
        time.sleep(60)
        during_outage = stream.produced - before_outage
        status = agent.status()
        assert status["outbox"]["failures"] > 0 and status["outbox"]["state"] == "retrying"
        collector.start()
        time.sleep(5)
    assert during_outage >= 100, "hits kept coming during the outage"
    produced = stream.produced
    assert len(agent.wait_for(lambda r: is_marker(r, marker), count=produced,
                              timeout=60)) == produced
    agent.wait_shipped(timeout=120)
    records = agent_marker_records(agent, marker)
    assert len(records) == produced
    assert settle(lambda: delivered(collector, agent, marker), (produced, produced)) == \
        (produced, produced)
    assert settle(lambda: delivered(collector, agent, marker, "RuleHits"),
                  (produced, produced)) == (produced, produced)
    assert {r["ReportId"] for r in collector.marker_rows(agent.device_id, marker)} == \
        {r["ReportId"] for r in records}
    # the rule's summary on the device reached the collector too
    summary = settle(lambda: collector.rows(
        f"RuleSummaries | where DeviceId == '{agent.device_id}' | project Count"),
        [{"Count": produced}])
    assert summary == [{"Count": produced}]
    status = agent.fresh_status()
    no_capture_loss(status)
    outbox = status["outbox"]
    assert outbox["dropped_records"] == 0 and outbox["dropped_hits"] == 0
    assert outbox["rejected_records"] == 0 and outbox["rejected_hits"] == 0
    assert agent.stop() == 0


def backlog(collector, agent, marker, count, noise=0):
    """The collector away while count marker execs happen."""
    collector.stop()
    run_markers(marker, count, noise=noise)
    assert len(agent.wait_for(lambda r: is_marker(r, marker), count=count,
                              timeout=120)) == count


def outbox_file(agent):
    return json.loads((agent.state_dir / "outbox.json").read_text())


@pytest.mark.parametrize("fleet", BACKENDS, indirect=True)
def test_kill_9_in_the_middle_of_a_batch_loses_and_duplicates_nothing(fleet):
    collector, agents, workdir = fleet
    marker = marker_new()
    collector.start()
    agent = ShippingAgent(workdir / "agent", collector, ["--reconnect-spread", "0"]).start()
    agents.append(agent)
    agent.wait_status(lambda s: s["outbox"]["enrolled"] and s["outbox"]["heartbeats"] > 0)
    produced = 4000  # about 3 MB compressed: several batches
    backlog(collector, agent, marker, produced, noise=700)
    acknowledged = outbox_file(agent)["records"]
    committed = agent.committed()["records"]
    collector.start()
    # the moment a batch is acknowledged, the sender builds and posts the next
    moved = wait_until(lambda: outbox_file(agent)["records"] != acknowledged, timeout=120,
                       interval=0.005)
    assert moved
    agent.kill()
    after_kill = outbox_file(agent)["records"]
    assert acknowledged < after_kill < committed, "killed before the backlog was shipped"
    agent = ShippingAgent(workdir / "agent", collector, ["--reconnect-spread", "0"]).start()
    agents.append(agent)
    agent.wait_shipped(timeout=180)
    assert settle(lambda: delivered(collector, agent, marker), (produced, produced)) == \
        (produced, produced)
    # nothing at the collector twice, whatever the agent sent twice
    device = agent.device_id
    twice = collector.rows(f"DeviceProcessEvents | where DeviceId == '{device}' "
                           "| summarize Rows=count() by ReportId | where Rows > 1 | count")
    assert twice == [{"Count": 0}]
    assert agent.status()["outbox"]["dropped_records"] == 0


def test_413_splits_the_batch(fleet):
    collector, agents, workdir = fleet
    collector.extra_args += ["--max-body", "65536"]
    marker = marker_new()
    collector.start()
    agent = ShippingAgent(workdir / "agent", collector, ["--reconnect-spread", "0"]).start()
    agents.append(agent)
    agent.wait_status(lambda s: s["outbox"]["heartbeats"] > 0)
    produced = 2000
    backlog(collector, agent, marker, produced)
    collector.start()
    agent.wait_shipped(timeout=120)
    assert settle(lambda: delivered(collector, agent, marker), (produced, produced)) == \
        (produced, produced)
    outbox = agent.fresh_status()["outbox"]
    assert outbox["splits"] >= 1 and outbox["rejected_records"] == 0
    assert collector.metric("rmmhunt_collector_requests_total", endpoint="events",
                            code="413") >= 1


def test_503_retry_after_is_honoured(fleet):
    collector, agents, workdir = fleet
    collector.extra_args += ["--max-connections", "2", "--idle-timeout", "300"]
    marker = marker_new()
    collector.start()
    agent = ShippingAgent(workdir / "agent", collector, ["--reconnect-spread", "0"]).start()
    agents.append(agent)
    agent.wait_status(lambda s: s["outbox"]["heartbeats"] > 0)
    # two idle TLS connections of ours: the collector is at its limit
    held = [collector.ssl_context().wrap_socket(
        socket.create_connection(("127.0.0.1", collector.port)), server_hostname="localhost")
        for _ in range(2)]
    refusals = []
    seen = len(re.findall("HTTP 503", agent.stderr_path.read_text(errors="replace")))
    deadline = time.monotonic() + 18
    while time.monotonic() < deadline:
        lines = re.findall("HTTP 503", agent.stderr_path.read_text(errors="replace"))
        refusals += [time.monotonic()] * (len(lines) - seen)
        seen = len(lines)
        time.sleep(0.05)
    for sock in held:
        sock.close()
    assert len(refusals) >= 2, "the collector at its limit refused the agent"
    gaps = [b - a for a, b in zip(refusals, refusals[1:])]
    assert min(gaps) >= 5.0 - 0.2, gaps  # Retry-After: 5, never earlier
    outbox = agent.status()["outbox"]
    assert outbox["retry_after_seconds"] == 5
    refused = collector.metric("rmmhunt_collector_connections_refused_total")
    assert refused >= len(refusals)
    # and then everything goes
    run_markers(marker, 20)
    agent.wait_for(lambda r: is_marker(r, marker), count=20)
    agent.wait_shipped(timeout=60)
    assert settle(lambda: delivered(collector, agent, marker), (20, 20)) == (20, 20)


def test_outbox_bound_drops_are_counted_and_hits_kept_longest(fleet):
    collector, agents, workdir = fleet
    marker, hit_marker = marker_new(), marker_new()
    collector.start()
    agent = ShippingAgent(workdir / "agent", collector,
                          ["--reconnect-spread", "0", "--cache-max-size", "1M"],
                          rules=marker_rules(workdir / "rules", hit_marker)).start()
    agents.append(agent)
    agent.wait_status(lambda s: s["outbox"]["heartbeats"] > 0)
    collector.stop()
    # the oldest records of the backlog are hits: size retention keeps them
    run_markers(hit_marker, 5)
    # as many records as it takes to pass the 1 MB cap: how many that is
    # depends on the cache layout's density and on what else runs here
    for batch in range(40):
        run_markers(marker, 1000, first=batch * 1000, noise=96)
        if agent.status()["outbox"]["dropped_records"] > 0:
            break
    status = agent.wait_status(lambda s: s["outbox"]["dropped_records"] > 0, timeout=120)
    assert status["losses"]["outbox.dropped_records"] == status["outbox"]["dropped_records"]
    shown = subprocess.run([str(CLI), "status", "--state-dir", str(agent.state_dir)],
                           capture_output=True, text=True, timeout=30).stdout
    assert re.search(r"^LOSSES: .*outbox\.dropped_records [1-9]", shown, re.M), shown
    collector.start()
    agent.wait_shipped(timeout=120)
    device = agent.device_id
    assert delivered(collector, agent, hit_marker) == (5, 5)
    assert delivered(collector, agent, hit_marker, "RuleHits") == (5, 5)
    # the heartbeat says what status.json says
    dropped = agent.fresh_status()["outbox"]["dropped_records"]
    info = settle(lambda: collector.rows(
        f"DeviceInfo | where DeviceId == '{device}' "
        "| project Dropped=toint(AdditionalFields.Outbox.dropped_records)"),
        [{"Dropped": dropped}])
    assert info == [{"Dropped": dropped}]
    # every record numbered up to the cursor is at the collector or dropped
    assert agent.stop() == 0
    final = outbox_file(agent)
    at_collector = collector.count(where=f"| where DeviceId == '{device}'")
    assert final["dropped_records"] >= dropped > 0
    assert at_collector + final["dropped_records"] == final["records"]
    assert agent.status()["cache"]["retention_removed_records"] >= final["dropped_records"]


def test_ship_hits_sends_only_the_records_a_rule_hit(fleet):
    collector, agents, workdir = fleet
    marker, hit_marker = marker_new(), marker_new()
    collector.start()
    agent = ShippingAgent(workdir / "agent", collector, ["--ship", "hits"],
                          rules=marker_rules(workdir / "rules", hit_marker)).start()
    agents.append(agent)
    run_markers(marker, 50)
    run_markers(hit_marker, 3)
    agent.wait_for(lambda r: is_marker(r, hit_marker), count=3)
    agent.wait_for(lambda r: is_marker(r, marker), count=50)
    agent.wait_shipped()
    device = agent.device_id
    assert settle(lambda: delivered(collector, agent, hit_marker), (3, 3)) == (3, 3)
    assert delivered(collector, agent, hit_marker, "RuleHits") == (3, 3)
    assert delivered(collector, agent, marker) == (0, 0)
    # nothing but hit records from this device
    assert collector.count(where=f"| where DeviceId == '{device}'") == \
        collector.count("RuleHits", where=f"| where DeviceId == '{device}'")
    outbox = agent.fresh_status()["outbox"]
    assert outbox["ship"] == "hits" and outbox["records"] == 0


def test_mutual_tls_instead_of_enrollment(fleet, tmp_path):
    _, agents, workdir = fleet
    collector = FleetCollector(workdir / "mtls-collector", client_ca=True).start()
    try:
        marker = marker_new()
        agent = ShippingAgent(workdir / "agent", collector, enroll=False)
        certificate = issue(tmp_path, collector.client_ca, agent.expected_device_id,
                            client=True, name="agent")
        agent.extra_args += ["--client-cert", str(certificate[0]),
                             "--client-key", str(certificate[1])]
        agent.start()
        agents.append(agent)
        run_markers(marker, 10)
        agent.wait_for(lambda r: is_marker(r, marker), count=10)
        agent.wait_shipped()
        assert settle(lambda: delivered(collector, agent, marker), (10, 10)) == (10, 10)
        outbox = agent.status()["outbox"]
        assert outbox["enrollments"] == 0 and outbox["enrolled"]
        assert not (agent.state_dir / "enrollment.json").exists()
    finally:
        collector.stop()


def test_401_enrolls_again_only_with_the_secret(fleet):
    collector, agents, workdir = fleet
    collector.start()
    secret = workdir / "agent-secret"
    secret.write_bytes(collector.secret_file.read_bytes())
    secret.chmod(0o600)
    agent = ShippingAgent(workdir / "agent", collector,
                          ["--enroll-secret-file", str(secret)]).start()
    agents.append(agent)
    agent.wait_status(lambda s: s["outbox"]["enrollments"] == 1 and s["outbox"]["heartbeats"])
    # revoked, and no secret to enroll again with: said, not retried blindly
    secret.unlink()
    assert collector.admin("revoke", agent.device_id).returncode == 0
    status = agent.wait_status(
        lambda s: "cannot read the enrollment secret" in s["outbox"]["last_error"])
    assert status["outbox"]["enrollments"] == 1
    # allowed again, the secret back: the agent enrolls again by itself
    assert collector.admin("allow", agent.device_id).returncode == 0
    secret.write_bytes(collector.secret_file.read_bytes())
    agent.wait_status(lambda s: s["outbox"]["enrollments"] == 2, timeout=120)
    marker = marker_new()
    run_markers(marker, 10)
    agent.wait_for(lambda r: is_marker(r, marker), count=10)
    agent.wait_shipped()
    assert settle(lambda: delivered(collector, agent, marker), (10, 10)) == (10, 10)
    assert json.loads((agent.state_dir / "enrollment.json").read_text())["device_id"] == \
        agent.device_id

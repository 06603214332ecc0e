"""Helpers of the fleet tests (tests/e2e/test_fleet_*.py): real agents (the
real BPF probe) shipping to a real rmmhunt-collector over TLS.

Each agent has its own state directory and its own machine id file, so
several agents on one host are several devices (three DeviceIds).  Execs
are made with markers in their command lines, so a test counts only its
own records whatever else runs on the host (other agents, other tests).
The collector is the collector tests' (tests/e2e/collector.py): a
certificate made by openssl, an enrollment secret, an analyst token; here
it can also keep its port across a restart, for outages.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path

from collector import CLI, Collector, wait_until
from conftest import RunningAgent

MARKER_RULE = """id: 5f1c2b7e-0000-4c1a-9e7d-{suffix}
name: Fleet marker rule {suffix}
tactics: CommandAndControl
relevantTechniques: T1219
query: |
  DeviceProcessEvents
  | where Timestamp between (now(-5d) .. now())
  | where ProcessCommandLine has '{marker}' and FileName =~ 'true'
  | summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp),
      Report=make_set(ReportId), Count=count() by DeviceId, DeviceName
"""


def device_id_of(machine_id):
    """The DeviceId the agent derives from a machine id (lib/model/device.c)."""
    mac = hmac.new(machine_id.encode(), b"rmmhunt DeviceId v1", hashlib.sha256)
    return mac.hexdigest()[:40]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FleetCollector(Collector):
    """A collector on a fixed loopback port, so agents find it again after a
    restart (the outage tests stop and start it)."""

    def __init__(self, workdir, port=None, **kwargs):
        Path(workdir).mkdir(parents=True, exist_ok=True)
        super().__init__(workdir, **kwargs)
        self.fixed_port = port or free_port()

    def command(self):
        args = super().command()
        args[args.index("--listen") + 1] = f"127.0.0.1:{self.fixed_port}"
        return args

    def query_cli(self, *args):
        """rmmhunt query --collector ... (the analysts' way); returns stdout."""
        result = subprocess.run([str(CLI), "query", "--collector", self.url, "--token-file",
                                 str(self.token_file), "--ca-file", str(self.ca[0]), *args],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def marker_rows(self, device, marker, table="DeviceProcessEvents"):
        return self.rows(f"{table} | where DeviceId == '{device}' "
                         f"and ProcessCommandLine has '{marker}' and FileName == 'true' "
                         "| project ReportId")

    def metric(self, name, **labels):
        """A counter of /metrics, summed over the series with these labels."""
        status, _, body = self.request("GET", "/metrics")
        deadline = time.monotonic() + 15
        while status == 503 and time.monotonic() < deadline:  # crowded a moment ago
            time.sleep(0.2)
            status, _, body = self.request("GET", "/metrics")
        assert status == 200
        total = 0
        for line in body.decode().splitlines():
            if not re.match(rf"^{re.escape(name)}(\{{.*\}})? ", line):
                continue
            if all(f'{key}="{value}"' in line for key, value in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


class ShippingAgent(RunningAgent):
    """An agent of its own device (machine id file), shipping to collector."""

    def __init__(self, workdir, collector, extra_args=(), rules=None, url=None,
                 enroll=True):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.machine_id_path = workdir / "machine-id"
        if not self.machine_id_path.exists():
            self.machine_id_path.write_text(uuid.uuid4().hex + "\n")
        self.expected_device_id = device_id_of(self.machine_id_path.read_text().strip())
        args = ["--machine-id", str(self.machine_id_path),
                "--collector", url or collector.url,
                "--ca-file", str(collector.ca[0]),
                "--heartbeat-interval", "2"]
        if enroll:
            args += ["--enroll-secret-file", str(collector.secret_file)]
        if rules:
            args += ["--rules", str(rules)]
        super().__init__(workdir, args + list(extra_args))
        self.device_id = None

    def start(self, timeout=60):
        super().start(timeout)
        text = self.stderr_path.read_text(errors="replace")
        self.device_id = re.findall(r"DeviceId ([0-9a-f]{40})", text)[-1]
        assert self.device_id == self.expected_device_id
        return self

    def kill(self):
        """kill -9: no clean stop, no last status."""
        self.process.kill()
        self.process.wait()
        self._stderr.close()

    def outbox(self):
        return self.status()["outbox"]

    def wait_status(self, predicate, timeout=60):
        """The status (fresh every second) once predicate holds on it."""
        def check():
            try:
                status = self.status()
            except (OSError, json.JSONDecodeError):
                return None
            return status if predicate(status) else None
        found = wait_until(check, timeout=timeout, interval=0.2)
        assert found, f"status never matched; last: {self.status().get('outbox')}"
        return found

    def wait_shipped(self, timeout=90):
        """Everything committed so far acknowledged (outbox empty)."""
        committed = self.committed()

        def done(status):
            outbox = status["outbox"]
            return ((outbox["ship"] == "hits"
                     or outbox["acknowledged_records"] >= committed["records"])
                    and outbox["acknowledged_hits"] >= committed["hits"])
        return self.wait_status(done, timeout)

    def committed(self):
        """The largest record and hit numbers committed to the cache now."""
        import sqlite3
        with sqlite3.connect(f"file:{self.state_dir / 'cache.db'}?mode=ro", uri=True) as db:
            records = db.execute("SELECT max(rowid) FROM DeviceProcessEvents").fetchone()[0]
            hits = db.execute("SELECT max(HitId) FROM RuleHits").fetchone()[0]
        return {"records": records or 0, "hits": hits or 0}


def marker_rules(directory, marker):
    """A rules directory with one rule that hits `/bin/true MARKER...`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = uuid.uuid4().hex[:12]
    (directory / "marker.yaml").write_text(MARKER_RULE.format(suffix=suffix, marker=marker))
    return directory


def run_markers(marker, count, first=0, noise=0):
    """count execs of /bin/true with `MARKER-N` (N from first), from one
    shell; noise: that many random bytes (base64) more in each command line,
    so records do not compress to almost nothing."""
    if not noise:
        script = (f"i={first}; while [ $i -lt {first + count} ]; do "
                  f"/bin/true {marker}-$i; i=$((i+1)); done")
        subprocess.run(["/bin/sh", "-c", script], check=True, timeout=600)
        return
    lines = [f"/bin/true {marker}-{n} {base64.b64encode(os.urandom(noise)).decode()}\n"
             for n in range(first, first + count)]
    subprocess.run(["/bin/sh"], input="".join(lines).encode(), check=True, timeout=600)


def marker_new():
    return "rmmhunt-fleet-" + uuid.uuid4().hex[:16]


def is_marker(record, marker):
    """A record of `/bin/true MARKER-N` (not of the shell that ran it)."""
    return marker in record["ProcessCommandLine"] and record["FileName"] == "true"


def agent_marker_records(agent, marker):
    """The agent's own records of the marker (its NDJSON stream)."""
    return [r for r in agent.records() if is_marker(r, marker)]


def settle(function, expected, timeout=90):
    """function()'s value once it equals expected, or its last value."""
    deadline = time.monotonic() + timeout
    value = function()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        value = function()
    return value

"""Shared fixtures of the end-to-end tests.

The tests drive the real programs in build/: the agent with the real BPF
probe, the rmmhunt CLI (`rmmhunt inspect` and friends), the PE fixtures
(built here with mingw-w64).  Tests that need root, BPF, Wine or a tool
skip with a clear message outside CI; under CI=true a skip is a failure.
"""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
AGENT = BUILD / "rmmhunt-agent"
CLI = BUILD / "rmmhunt"
RMMHUNT = str(CLI)
PE_FIXTURES = str(BUILD / "fixtures" / "pe")
IN_CI = os.environ.get("CI") == "true"

sys.path.insert(0, os.path.dirname(__file__))


def skip_or_fail(reason):
    """Outside CI a missing facility skips; in CI it fails."""
    if IN_CI:
        pytest.fail(f"prerequisite missing under CI=true: {reason}")
    pytest.skip(reason)


def require_tools(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            skip_or_fail("%s is not installed (make test-deps installs it)" % tool)


def inspect(*paths, options=("--json",)):
    """Run rmmhunt inspect; returns (records by path, stderr, exit status)."""
    if not os.access(RMMHUNT, os.X_OK):
        pytest.fail("%s is not built (make build/rmmhunt)" % RMMHUNT)
    result = subprocess.run([RMMHUNT, "inspect", *options, *paths],
                            capture_output=True, text=True, timeout=120)
    records = {}
    if "--json" in options:
        for line in result.stdout.splitlines():
            record = json.loads(line)
            records[record["path"]] = record
    return records, result.stderr, result.returncode


def inspect_one(path, options=("--json",)):
    records, stderr, status = inspect(path, options=options)
    assert status == 0, stderr
    return records[path]


@pytest.fixture(scope="session")
def pe_fixtures():
    """Directory of the PE fixtures, built by tests/fixtures/pe/mkfixtures.py."""
    require_tools("x86_64-w64-mingw32-windres", "x86_64-w64-mingw32-gcc",
                  "i686-w64-mingw32-windres", "i686-w64-mingw32-gcc")
    subprocess.run([sys.executable,
                    os.path.join(ROOT, "tests", "fixtures", "pe", "mkfixtures.py"),
                    PE_FIXTURES], check=True)
    return PE_FIXTURES


def require_root():
    if os.geteuid() != 0:
        skip_or_fail("these tests load the BPF probe and need root")


class RunningAgent:
    """One rmmhunt-agent process writing NDJSON records to a file."""

    def __init__(self, workdir, extra_args=(), stdout_path=None):
        self.workdir = Path(workdir)
        self.state_dir = self.workdir / "state"
        self.events_path = self.workdir / "events.ndjson"
        self.stderr_path = self.workdir / "agent.stderr"
        self.stdout_path = stdout_path  # None: discarded
        self.extra_args = list(extra_args)
        self._offset = 0
        self._records = []
        self.process = None

    def start(self, timeout=60):
        self._stderr = open(self.stderr_path, "wb")
        self._stdout = open(self.stdout_path, "wb") if self.stdout_path else None
        self.process = subprocess.Popen(
            [str(AGENT), "--state-dir", str(self.state_dir),
             "--rules", str(ROOT / "rules"),
             "--events", str(self.events_path), "--stats-interval", "1",
             *self.extra_args],
            stdout=self._stdout or subprocess.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"watching execs" in self.stderr_path.read_bytes():
                return self
            if self.process.poll() is not None:
                raise AssertionError(
                    f"agent exited with {self.process.returncode}: "
                    f"{self.stderr_path.read_text(errors='replace')}")
            time.sleep(0.05)
        raise AssertionError("agent did not start in time: "
                             + self.stderr_path.read_text(errors="replace"))

    def stop(self, sig=signal.SIGINT):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self._stderr.close()
            if self._stdout:
                self._stdout.close()
        return self.process.returncode if self.process else None

    def records(self):
        """Every record written so far (complete lines only)."""
        if self.events_path.exists():
            with open(self.events_path, "rb") as events:
                events.seek(self._offset)
                data = events.read()
            end = data.rfind(b"\n") + 1
            for line in data[:end].splitlines():
                self._records.append(json.loads(line))
            self._offset += end
        return self._records

    def wait_for_text(self, text, timeout=30):
        """The records whose line holds text (plain ASCII, as written), once
        one exists: lines are searched as bytes and only those are parsed,
        so the wait measures the agent, not this process parsing a backlog
        (a flood of 100 KB records)."""
        needle = text.encode()
        offset = self._offset
        deadline = time.monotonic() + timeout
        while True:
            data = b""
            if self.events_path.exists():
                with open(self.events_path, "rb") as events:
                    events.seek(offset)
                    data = events.read()
            end = data.rfind(b"\n") + 1
            found = [json.loads(line) for line in data[:end].splitlines() if needle in line]
            offset += end
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def wait_for(self, predicate, count=1, timeout=30, since=0):
        """Records matching predicate, once at least count of them exist;
        since: only records written after the first since (pids repeat)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.records()[since:] if predicate(r)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def status(self):
        return json.loads((self.state_dir / "status.json").read_text())

    def fresh_status(self, timeout=10):
        """status.json written after this call."""
        path = self.state_dir / "status.json"
        before = path.stat().st_mtime_ns if path.exists() else 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_mtime_ns > before:
                try:
                    return self.status()
                except json.JSONDecodeError:
                    pass
            time.sleep(0.1)
        raise AssertionError("status.json was not rewritten")


@contextlib.contextmanager
def fresh_agent(prefix="rmmhunt-e2e-"):
    """A running agent with a fresh work and state dir, stopped at the end."""
    require_root()
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        running = RunningAgent(workdir).start()
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="session")
def agent():
    """One agent for the whole session: tests find their own records."""
    with fresh_agent() as running:
        yield running


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="rmmhunt-test-") as path:
        yield Path(path)


def additional(record):
    return json.loads(record["AdditionalFields"])


# ---- PostgreSQL (the collector's shared store) ----------------------------------

sys.path.insert(0, str(ROOT / "tests" / "tools"))


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster on loopback for the whole test run
    (tests/tools/pg_cluster.py: Debian's server, initdb into a temporary
    directory, stopped and removed at the end)."""
    from pg_cluster import PostgresCluster, server_binaries
    if server_binaries() is None or shutil.which("psql") is None:
        skip_or_fail("PostgreSQL's server is not installed (make test-deps installs postgresql)")
    if os.geteuid() == 0:
        import pwd
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            skip_or_fail("no postgres user to run the PostgreSQL server as")
    # tests: durability is not what they check; speed is welcome
    cluster = PostgresCluster(settings={"fsync": "off", "synchronous_commit": "off",
                                        "full_page_writes": "off"}).start()
    yield cluster
    cluster.stop()


_database_counter = [0]


def postgres_database(cluster, prefix="rmmhunt"):
    """A fresh database of the cluster; its postgresql:// URL."""
    _database_counter[0] += 1
    return cluster.create_database(f"{prefix}_{os.getpid()}_{_database_counter[0]}")


def store_location(request, backend, workdir):
    """The --db of a collector on backend ('sqlite' or 'postgresql')."""
    if backend == "postgresql":
        return postgres_database(request.getfixturevalue("postgres_cluster"))
    return Path(workdir) / "collector.db"


# every collector test parametrized over the stores runs on both
BACKENDS = ["sqlite", "postgresql"]

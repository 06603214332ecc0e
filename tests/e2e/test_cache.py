"""Issue: the local cache.  The real agent writes the SQLite cache; these
tests kill it, restart it, shrink its limits and read the file with SQLite."""
import os
import signal
import sqlite3
import stat
import subprocess
import time

from conftest import RunningAgent, require_root


def cache_path(agent):
    return agent.state_dir / "cache.db"


def cached_report_ids(agent):
    with sqlite3.connect(f"file:{cache_path(agent)}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute(
            "SELECT ReportId FROM DeviceProcessEvents")]


def integrity(agent):
    with sqlite3.connect(str(cache_path(agent))) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_cache_files_are_private(agent):
    subprocess.run(["/bin/true", "private"], check=True)
    agent.wait_for(lambda r: r["ProcessCommandLine"] == "/bin/true private")
    for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
        path = agent.state_dir / name
        if path.exists():
            info = path.stat()
            assert stat.S_IMODE(info.st_mode) == 0o600, name
            assert info.st_uid == 0, name


def test_every_streamed_record_is_in_the_cache(agent):
    marker = f"durable-{time.monotonic_ns()}"
    subprocess.run(["/bin/true", marker], check=True)
    streamed = agent.wait_for(lambda r: r["ProcessCommandLine"] == f"/bin/true {marker}")
    assert streamed
    # The stream shows only what the cache has committed.
    assert streamed[0]["ReportId"] in set(cached_report_ids(agent))


def test_kill_9_during_a_storm_loses_nothing_committed(workdir):
    require_root()
    agent = RunningAgent(workdir).start()
    storm = subprocess.Popen(
        ["/bin/sh", "-c", "i=0; while [ $i -lt 4000 ]; do /bin/true kill9; i=$((i+1)); done"])
    try:
        agent.wait_for(lambda r: r["ProcessCommandLine"] == "/bin/true kill9",
                       count=300, timeout=60)
        agent.process.send_signal(signal.SIGKILL)
        agent.process.wait()
    finally:
        storm.wait()
    streamed = {r["ReportId"] for r in agent.records()}
    assert integrity(agent) == "ok"
    cached = cached_report_ids(agent)
    assert streamed <= set(cached), "records streamed before the kill must be cached"
    assert len(cached) == len(set(cached))

    restarted = RunningAgent(workdir)
    restarted._offset = agent._offset
    restarted.start()
    try:
        marker = f"after-restart-{time.monotonic_ns()}"
        subprocess.run(["/bin/true", marker], check=True)
        after = restarted.wait_for(
            lambda r: r["ProcessCommandLine"] == f"/bin/true {marker}")
        assert after, "capture continues after the restart"
        assert after[0]["ReportId"] > max(cached)
    finally:
        restarted.stop()
    all_ids = cached_report_ids(restarted)
    assert len(all_ids) == len(set(all_ids)), "ReportIds never repeat"
    assert integrity(restarted) == "ok"


def test_retention_by_age_removes_the_oldest(workdir):
    require_root()
    agent = RunningAgent(workdir, ["--cache-max-age", "3s"]).start()
    try:
        subprocess.run(["/bin/true", "old-record"], check=True)
        agent.wait_for(lambda r: r["ProcessCommandLine"] == "/bin/true old-record")
        time.sleep(4.5)
        subprocess.run(["/bin/true", "new-record"], check=True)
        agent.wait_for(lambda r: r["ProcessCommandLine"] == "/bin/true new-record")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sqlite3.connect(f"file:{cache_path(agent)}?mode=ro", uri=True) as db:
                lines = {row[0] for row in db.execute(
                    "SELECT ProcessCommandLine FROM DeviceProcessEvents")}
            if "/bin/true old-record" not in lines:
                break
            time.sleep(0.2)
        assert "/bin/true old-record" not in lines
        assert "/bin/true new-record" in lines
        status = agent.fresh_status()
        assert status["cache"]["retention_removed_records"] > 0
    finally:
        agent.stop()


def test_retention_by_size_keeps_the_newest(workdir):
    require_root()
    # 1024K: the smallest limit the agent takes (the empty cache is ~300K).
    # Each exec's command line is padded to ~1 KB so 1,500 of them are
    # over the limit however densely the cache stores the rest of a record
    # (short command lines fitted under it once the layout got denser).
    padding = "p" * 1000
    agent = RunningAgent(workdir, ["--cache-max-size", "1024K"]).start()
    try:
        subprocess.run(["/bin/sh", "-c", "i=0; while [ $i -lt 1500 ]; do "
                        f"/bin/true size-$i {padding}; i=$((i+1)); done"], check=True)
        agent.wait_for(lambda r: r["ProcessCommandLine"] == f"/bin/true size-1499 {padding}",
                       timeout=60)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = agent.fresh_status()
            if status["cache"]["data_bytes"] <= 1024 * 1024 + 64 * 1024 and \
                    status["cache"]["retention_removed_records"] > 0:
                break
        assert status["cache"]["retention_removed_records"] > 0
        with sqlite3.connect(f"file:{cache_path(agent)}?mode=ro", uri=True) as db:
            kept = [row[0] for row in db.execute(
                "SELECT ProcessCommandLine FROM DeviceProcessEvents"
                " WHERE ProcessCommandLine LIKE '/bin/true size-%' ORDER BY Timestamp")]
        assert kept and kept[-1] == f"/bin/true size-1499 {padding}"
        assert f"/bin/true size-0 {padding}" not in kept
        numbers = [int(k.split()[1].rsplit("-", 1)[1]) for k in kept]
        assert numbers == sorted(numbers), "the oldest go first"
    finally:
        agent.stop()

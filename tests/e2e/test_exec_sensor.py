"""Issue: the exec sensor.  The real probe on the real kernel: every test
execs real programs and checks the records the agent wrote for them."""
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cmdline import command_line
from conftest import AGENT, additional, require_root

ARGS_CAPTURE = 64 * 1024  # the agent's default --args-max
COLUMNS = 68


def by_pid(pid, path=None):
    def match(record):
        return record["ProcessId"] == pid and (
            path is None or record["FolderPath"] == path)
    return match


def one_record(agent, pid, path=None, timeout=30):
    found = agent.wait_for(by_pid(pid, path), timeout=timeout)
    assert found, f"no record for pid {pid} {path or ''}"
    return found[-1]


def file_digests(path):
    data = Path(path).read_bytes()
    return {"SHA1": hashlib.sha1(data).hexdigest(),
            "SHA256": hashlib.sha256(data).hexdigest(),
            "MD5": hashlib.md5(data).hexdigest(),
            "FileSize": len(data)}


def start_time_seconds(pid):
    """Wall-clock start of a live process from /proc (10 ms resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[19])
    boot = time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(
        time.CLOCK_BOOTTIME)
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def kusto_seconds(text):
    """2026-11-28T16:14:40.1234567Z -> seconds since the epoch."""
    from datetime import datetime, timezone
    whole, fraction = text.rstrip("Z").split(".")
    moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc)
    assert len(fraction) == 7, text
    return moment.timestamp() + int(fraction) / 1e7


def test_record_has_every_column_in_order(agent):
    process = subprocess.run(["/bin/true", "columns"], check=True)
    del process
    record = agent.wait_for(
        lambda r: r["ProcessCommandLine"] == "/bin/true columns")[-1]
    names = list(record)
    assert len(names) == COLUMNS
    assert names[0] == "Timestamp" and names[-1] == "InitiatingProcessUniqueId"
    for name, value in record.items():
        if name in ("FileSize", "ProcessId", "LogonId", "ReportId") or name.endswith(
                ("ProcessId", "FileSize", "LogonId", "SessionId", "ParentId")):
            assert value is None or isinstance(value, int), (name, value)
        elif name.startswith("Is"):
            assert value is None or isinstance(value, bool), (name, value)
        elif name in ("Timestamp", "ProcessCreationTime") or name.endswith("CreationTime"):
            assert value is None or kusto_seconds(value) > 0, (name, value)
        else:
            assert isinstance(value, str), (name, value)
    assert record["ActionType"] == "ProcessCreated"
    assert len(record["DeviceId"]) == 40 and int(record["DeviceId"], 16) >= 0
    assert record["DeviceName"] == record["DeviceName"].lower()


def test_argv_spaces_empty_binary_and_long(agent):
    long_argument = b"L" * (100 * 1024)
    argv = [b"/bin/true", b"two words", b"", b"bytes\xff\xfe-end",
            b'quote"and\\slash', long_argument]
    process = subprocess.Popen(argv)
    process.wait()
    record = one_record(agent, process.pid, "/usr/bin/true")
    block = b"\0".join(argv) + b"\0"
    fields = additional(record)
    assert fields["ArgvTotalBytes"] == len(block)
    assert fields["ArgvCapturedBytes"] == ARGS_CAPTURE
    assert fields["ArgvTruncated"] is True
    assert record["ProcessCommandLine"] == command_line(block[:ARGS_CAPTURE])
    assert record["ProcessCommandLine"].startswith(
        '/bin/true "two words" "" "bytes\\xff\\xfe-end" "quote\\"and\\\\slash" LLLL')


def test_short_argv_is_whole(agent):
    argv = [b"/bin/true", b"--flag=1", b"\t tab"]
    process = subprocess.Popen(argv)
    process.wait()
    record = one_record(agent, process.pid, "/usr/bin/true")
    fields = additional(record)
    block = b"\0".join(argv) + b"\0"
    assert fields["ArgvTruncated"] is False
    assert fields["ArgvCapturedBytes"] == fields["ArgvTotalBytes"] == len(block)
    assert record["ProcessCommandLine"] == '/bin/true --flag=1 "\t tab"'


def test_short_lived_true_has_hashes(agent):
    process = subprocess.Popen(["/bin/true"])
    process.wait()
    record = one_record(agent, process.pid, "/usr/bin/true")
    for column, value in file_digests("/usr/bin/true").items():
        assert record[column] == value, column
    assert additional(record)["HashStatus"] == "ok"
    assert record["FileSize"] == os.stat("/usr/bin/true").st_size


def test_first_exec_of_a_new_file_has_its_hash(agent, workdir):
    fresh = workdir / "fresh-true"
    shutil.copy("/usr/bin/true", fresh)
    with open(fresh, "ab") as binary:  # a file no cache has seen
        binary.write(os.urandom(64))
    fresh.chmod(0o755)
    process = subprocess.Popen([str(fresh)])
    process.wait()
    record = one_record(agent, process.pid, str(fresh))
    for column, value in file_digests(fresh).items():
        assert record[column] == value, column
    assert record["FileName"] == "fresh-true"


def test_memfd_exec(agent):
    script = (
        "import os\n"
        "fd = os.memfd_create('rmmhunt-memfd', 0)\n"
        "os.write(fd, open('/usr/bin/sleep', 'rb').read())\n"
        "os.execve(fd, ['sleep', '1'], {})\n")
    process = subprocess.Popen([sys.executable, "-c", script])
    record = one_record(agent, process.pid, "/memfd:rmmhunt-memfd")
    process.wait()
    fields = additional(record)
    assert fields["Memfd"] is True
    assert fields["HashStatus"] == "ok"
    assert fields["Filename"].startswith("/dev/fd/")
    assert record["FileName"] == "memfd:rmmhunt-memfd"
    digests = file_digests("/usr/bin/sleep")
    for column in ("SHA1", "SHA256", "MD5", "FileSize"):
        assert record[column] == digests[column], column
    assert record["ProcessCommandLine"] == "sleep 1"


def test_exec_of_an_already_deleted_binary(agent, workdir):
    binary = workdir / "deleted-sleep"
    shutil.copy("/usr/bin/sleep", binary)
    binary.chmod(0o755)
    digests = file_digests(binary)
    script = (
        "import os, sys\n"
        f"fd = os.open({str(binary)!r}, os.O_RDONLY)\n"
        f"os.unlink({str(binary)!r})\n"
        "os.execve(fd, ['deleted-sleep', '1'], {})\n")
    process = subprocess.Popen([sys.executable, "-c", script])
    record = one_record(agent, process.pid, str(binary))
    process.wait()
    fields = additional(record)
    assert fields["Deleted"] is True
    assert fields["ExeNlink"] == 0
    assert fields["Memfd"] is False
    assert fields["HashStatus"] == "ok"
    for column, value in digests.items():
        assert record[column] == value, column


def new_sleep_version(path):
    """/usr/bin/sleep copied to path with a tail no cache has seen: a new
    file version.  Its digests."""
    shutil.copy("/usr/bin/sleep", path)
    with open(path, "ab") as tail:
        tail.write(os.urandom(32))
    path.chmod(0o755)
    return file_digests(path)


def test_binary_deleted_while_it_runs(agent, workdir):
    binary = workdir / "running-sleep"
    digests = new_sleep_version(binary)
    process = subprocess.Popen([str(binary), "1"])
    binary.unlink()  # while the agent may still be opening it
    record = one_record(agent, process.pid, str(binary))
    process.wait()
    assert additional(record)["HashStatus"] == "ok"
    for column, value in digests.items():
        assert record[column] == value, column


def test_idle_agent_sleeps_yet_sees_a_new_file_at_once(agent, workdir):
    """With no row waiting the agent sleeps up to 250 ms a turn (it took 50
    turns a second, idle, when it polled every 20 ms), and the probe wakes it
    for an exec of a file version it has not hashed: the file is read while
    the process lives, though it is gone 100 ms later."""
    first = agent.fresh_status()
    started = time.monotonic()
    second = agent.fresh_status()
    elapsed = time.monotonic() - started
    turns = second["loop"]["turns"] - first["loop"]["turns"]
    assert turns / elapsed < 20, (turns, elapsed)
    assert second["loop"]["long_sleeps"] > first["loop"]["long_sleeps"]
    binary = workdir / "brief-sleep"
    digests = new_sleep_version(binary)
    process = subprocess.Popen([str(binary), "0.1"])
    process.wait()
    binary.unlink()
    record = one_record(agent, process.pid, str(binary))
    assert additional(record)["HashStatus"] == "ok"
    for column, value in digests.items():
        assert record[column] == value, column
    assert agent.fresh_status()["loop"]["known_files_errors"] == 0


def test_shebang_script_shows_interpreter_and_script(agent, workdir):
    script = workdir / "hello.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    process = subprocess.Popen(["./hello.sh", "arg"], cwd=workdir)
    process.wait()
    record = one_record(agent, process.pid)
    fields = additional(record)
    assert fields["Interpreter"] == "/bin/sh"
    assert fields["ScriptPath"] == str(workdir / "hello.sh")
    assert fields["Filename"] == "./hello.sh"
    assert record["FolderPath"] == os.path.realpath("/bin/sh")
    assert record["ProcessCommandLine"] == "/bin/sh ./hello.sh arg"
    assert fields["Cwd"] == str(workdir)


def test_three_level_chain(agent):
    # A (python) starts B (sh) which starts C (sleep); B prints C's pid.
    program = (
        "import subprocess, sys\n"
        "b = subprocess.Popen(['/bin/sh', '-c', 'sleep 2 & echo $!; wait'],"
        " stdout=subprocess.PIPE, text=True)\n"
        "print(b.pid, b.stdout.readline().strip(), flush=True)\n"
        "b.wait()\n")
    a = subprocess.Popen([sys.executable, "-c", program],
                         stdout=subprocess.PIPE, text=True)
    b_pid, c_pid = map(int, a.stdout.readline().split())
    a_start, b_start = start_time_seconds(a.pid), start_time_seconds(b_pid)
    c = one_record(agent, c_pid, "/usr/bin/sleep")
    b = one_record(agent, b_pid)
    a_record = one_record(agent, a.pid)
    a.wait()

    assert c["InitiatingProcessId"] == b_pid
    assert c["InitiatingProcessFileName"] == os.path.basename(os.path.realpath("/bin/sh"))
    assert c["InitiatingProcessCommandLine"] == "/bin/sh -c \"sleep 2 & echo $!; wait\""
    assert c["InitiatingProcessParentId"] == a.pid
    assert c["InitiatingProcessParentFileName"] == os.path.basename(
        os.path.realpath(sys.executable))
    assert c["InitiatingProcessUniqueId"] == b["ProcessUniqueId"]
    assert b["InitiatingProcessUniqueId"] == a_record["ProcessUniqueId"]
    assert abs(kusto_seconds(c["InitiatingProcessCreationTime"]) - b_start) < 0.05
    assert abs(kusto_seconds(c["InitiatingProcessParentCreationTime"]) - a_start) < 0.05
    assert c["InitiatingProcessCreationTime"] == b["ProcessCreationTime"]
    assert c["InitiatingProcessParentCreationTime"] == a_record["ProcessCreationTime"]
    assert c["InitiatingProcessSHA256"] == file_digests(os.path.realpath("/bin/sh"))["SHA256"]


def test_process_started_before_the_agent_is_an_initiating_process(agent):
    # This test runner started before the agent: the scan must know it.
    me = os.getpid()
    process = subprocess.Popen(["/bin/true", "from-pytest"])
    process.wait()
    record = one_record(agent, process.pid)
    assert record["InitiatingProcessId"] == me
    assert record["InitiatingProcessFolderPath"] == os.path.realpath(f"/proc/{me}/exe")
    own_cmdline = Path(f"/proc/{me}/cmdline").read_bytes()
    assert record["InitiatingProcessCommandLine"] == command_line(own_cmdline)
    assert abs(kusto_seconds(record["InitiatingProcessCreationTime"])
               - start_time_seconds(me)) < 0.05
    assert record["InitiatingProcessParentId"] == os.getppid()
    exe = os.path.realpath(f"/proc/{me}/exe")
    assert record["InitiatingProcessSHA256"] == file_digests(exe)["SHA256"]


def test_exec_storm_loses_nothing(agent):
    token = f"storm-{os.getpid()}-{time.monotonic_ns()}"
    count = 3000
    before = agent.fresh_status()["probe"]
    subprocess.run(["/bin/sh", "-c", f"i=0; while [ $i -lt {count} ]; do "
                    f"/bin/true {token}; i=$((i+1)); done"], check=True)
    expected = f"/bin/true {token}"
    found = agent.wait_for(lambda r: r["ProcessCommandLine"] == expected,
                           count=count, timeout=120)
    assert len(found) == count
    assert len({r["ReportId"] for r in found}) == count
    after = agent.fresh_status()["probe"]
    for counter in ("exec_lost", "fork_lost", "exit_lost", "scan_lost"):
        assert after[counter] == before[counter] == 0, counter


def test_report_ids_never_repeat_across_restarts(workdir):
    require_root()
    from conftest import RunningAgent
    seen = []
    for round_number in range(2):
        running = RunningAgent(workdir).start()
        try:
            marker = f"restart-{round_number}-{time.monotonic_ns()}"
            subprocess.run(["/bin/true", marker], check=True)
            seen += running.wait_for(
                lambda r, m=marker: r["ProcessCommandLine"] == f"/bin/true {m}")
            ids = [r["ReportId"] for r in running.records()]
        finally:
            running.stop()
        assert len(ids) == len(set(ids))
    assert len(seen) == 2 and seen[1]["ReportId"] > seen[0]["ReportId"]


def test_agent_without_root_names_the_cause(workdir):
    require_root()
    state = workdir / "state"
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         str(AGENT), "--state-dir", str(state)],
        capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "root" in result.stderr and "CAP_BPF" in result.stderr
    assert not state.exists()


def test_agent_without_btf_names_the_cause(workdir):
    result = subprocess.run(
        [str(AGENT), "--state-dir", str(workdir / "state"),
         "--btf", str(workdir / "no-such-vmlinux")],
        capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "BTF" in result.stderr and "CONFIG_DEBUG_INFO_BTF" in result.stderr

"""tests/tools/gen_records.py: the records it writes are DeviceProcessEvents
records as the agent writes them (docs/records.md), and its RMM profiles
cover the rule pack.

The 68 columns and their types come from lib/model/schema.c, the project's single
definition of the table, so the generator cannot drift from it unnoticed.
"""
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "tests" / "tools" / "gen_records.py"
SCHEMA = ROOT / "lib" / "model" / "schema.c"
END = "2026-11-28T16:00:00Z"
END_TEXT = "2026-11-28T16:00:00.0000000Z"
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")

# Keys the agent writes into AdditionalFields for every record (docs/records.md).
AGENT_KEYS = ("Uid", "Euid", "Gid", "Egid", "LoginUid", "AuditSessionId", "Tty", "Comm", "Tid",
              "NamespacePid", "PidNamespace", "MountNamespace", "NetNamespace", "CgroupId",
              "Cgroup", "ContainerId", "Cwd", "ExeDevice", "ExeInode", "ExeCtime", "ExeMtime",
              "ExeNlink", "ExeMode", "ExeFileSystem", "Memfd", "Deleted", "Filename",
              "ArgvCapturedBytes", "ArgvTotalBytes", "ArgvTruncated", "HashStatus",
              "InitiatingProcessHashStatus", "ExecSequence", "ExecWithoutFork")


def schema_columns():
    """[(name, type)] from lib/model/schema.c, in table order."""
    text = SCHEMA.read_text()
    columns = re.findall(r'\{"([A-Za-z0-9]+)",\s*VALUE_([A-Z]+)\}', text)
    assert len(columns) == 68, f"lib/model/schema.c: {len(columns)} columns"
    return columns


def generate(*args):
    result = subprocess.run([sys.executable, str(GENERATOR), *args],
                            capture_output=True, timeout=300)
    return result


def records(*args):
    result = generate(*args, "--end", END, "--output", "-")
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode("utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def sample():
    return records("--count", "4000", "--seed", "7", "--devices", "6",
                   "--rmm-fraction", "0.03")


def test_columns_in_order_with_their_json_types(sample):
    columns = schema_columns()
    names = [name for name, _ in columns]
    assert len(sample) == 4000
    for record in sample:
        assert list(record) == names
        for name, kind in columns:
            value = record[name]
            if kind == "STRING":
                assert isinstance(value, str), (name, value)
            elif kind == "LONG":
                assert value is None or (type(value) is int), (name, value)
            elif kind == "BOOL":
                assert value is None or type(value) is bool, (name, value)
            elif kind == "DATETIME":
                assert value is None or (isinstance(value, str) and DATETIME.fullmatch(value)), \
                    (name, value)
            else:
                pytest.fail(f"lib/model/schema.c: unknown type {kind} of {name}")
        assert DATETIME.fullmatch(record["Timestamp"])
        assert DATETIME.fullmatch(record["ProcessCreationTime"])


def test_agent_facts(sample):
    """What docs/records.md promises of every record."""
    devices = {}
    for record in sample:
        assert record["ActionType"] == "ProcessCreated"
        assert re.fullmatch(r"[0-9a-f]{40}", record["DeviceId"])
        assert record["DeviceName"] == record["DeviceName"].lower()
        devices.setdefault(record["DeviceId"], record["DeviceName"])
        assert devices[record["DeviceId"]] == record["DeviceName"]
        assert record["AccountDomain"] == record["DeviceName"].split(".")[0]
        for windows_only in ("ProcessIntegrityLevel", "ProcessTokenElevation", "AccountSid",
                             "AccountUpn", "AccountObjectId", "AppGuardContainerId",
                             "InitiatingProcessSignerType"):
            assert record[windows_only] == ""
        extra = json.loads(record["AdditionalFields"])
        assert isinstance(extra, dict)
        for key in AGENT_KEYS:
            assert key in extra, (key, record["FileName"])
        # in the agent's order; Interpreter and ScriptPath may follow Filename
        always_first = AGENT_KEYS[:AGENT_KEYS.index("Filename") + 1]
        assert tuple(extra)[:len(always_first)] == always_first
        if record["SHA256"]:
            assert extra["HashStatus"] == "ok"
            assert re.fullmatch(r"[0-9a-f]{64}", record["SHA256"])
        else:
            assert extra["HashStatus"] != "ok"
        assert extra["ArgvCapturedBytes"] == extra["ArgvTotalBytes"]
        assert extra["Tid"] == record["ProcessId"]
        if extra["ExecWithoutFork"]:
            assert record["InitiatingProcessId"] == record["ProcessId"]
            assert record["InitiatingProcessUniqueId"] == record["ProcessUniqueId"]
            assert extra["ExecSequence"] >= 2
    assert len(devices) == 6


def test_time_order_counters_and_lineage(sample):
    last_report = {}
    previous = None
    for record in sample:
        timestamp = record["Timestamp"]
        assert "2026-11-23T16:00:00.0000000Z" <= timestamp <= END_TEXT
        assert previous is None or previous <= timestamp, (previous, timestamp)
        previous = timestamp
        device = record["DeviceId"]
        assert record["ReportId"] > last_report.get(device, 0)
        last_report[device] = record["ReportId"]
        assert record["ProcessCreationTime"] <= timestamp
        assert record["InitiatingProcessCreationTime"] <= record["ProcessCreationTime"]
        parent_time = record["InitiatingProcessParentCreationTime"]
        assert parent_time is None or parent_time <= record["InitiatingProcessCreationTime"]


def test_hashes_are_consistent_per_binary(sample):
    seen = {}
    for record in sample:
        if not record["SHA256"]:
            continue
        key = record["FolderPath"]
        facts = (record["SHA1"], record["SHA256"], record["MD5"], record["FileSize"])
        assert seen.setdefault(key, facts) == facts, key
        if record["InitiatingProcessSHA256"]:
            init = (record["InitiatingProcessSHA1"], record["InitiatingProcessSHA256"],
                    record["InitiatingProcessMD5"], record["InitiatingProcessFileSize"])
            assert seen.setdefault(record["InitiatingProcessFolderPath"], init) == init


def test_process_ids_name_one_process(sample):
    """A ProcessUniqueId names one (device, pid, creation time) everywhere."""
    names = {}
    for record in sample:
        for prefix in ("", "Initiating"):
            unique = record[prefix + "ProcessUniqueId"]
            key = (record["DeviceId"], record[prefix + "ProcessId"],
                   record[prefix + "ProcessCreationTime"])
            assert names.setdefault((record["DeviceId"], unique), key) == key


def test_rmm_and_near_miss_records_are_there(sample):
    def count(predicate):
        return sum(1 for record in sample if predicate(record))
    assert count(lambda r: r["ProcessVersionInfoCompanyName"] == "RealVNC Ltd"
                 and r["ProcessVersionInfoProductName"] == "rport"
                 and r["FolderPath"] == "C:\\Program Files\\rport\\rport.exe") >= 1
    assert count(lambda r: r["ProcessVersionInfoCompanyName"] == "RealVNC Ltd"
                 and r["ProcessVersionInfoProductName"] == "vncviewer") >= 1
    assert count(lambda r: r["FolderPath"] == "/usr/local/bin/rportd") >= 1
    assert count(lambda r: json.loads(r["AdditionalFields"]).get(
        "GoMainPackage", "").endswith("/cmd/rport")) >= 1
    assert count(lambda r: "curl" in r["ProcessCommandLine"]) >= 1
    assert count(lambda r: r["ProcessVersionInfoCompanyName"] == "Krämer IT Solutions GmbH") >= 1


def test_rmm_share_follows_the_option():
    def tool_records(fraction):
        result = generate("--count", "20000", "--seed", "3", "--end", END,
                          "--rmm-fraction", fraction, "--near-miss-fraction", "0",
                          "--output", "/dev/null")
        assert result.returncode == 0, result.stderr.decode()
        found = re.search(r"(\d+) rmm, (\d+) near-miss", result.stderr.decode())
        assert found, result.stderr.decode()
        return int(found.group(1)), int(found.group(2))
    assert tool_records("0") == (0, 0)
    rmm, near = tool_records("0.01")
    assert 150 <= rmm <= 250 and near == 0


def test_no_rmm_records_without_the_option():
    companies = {entry[2] for entry in generator_module().WINDOWS_RMM if entry[2]}
    for record in records("--count", "3000", "--seed", "11", "--rmm-fraction", "0",
                          "--near-miss-fraction", "0"):
        assert record["ProcessVersionInfoCompanyName"] not in companies
        assert not record["FolderPath"].endswith(("/rport", "/rportd", "rport.exe"))


def test_same_seed_same_bytes_other_seed_other_bytes():
    args = ("--count", "1500", "--end", END, "--output", "-", "--quiet")
    first = generate("--seed", "5", *args)
    second = generate("--seed", "5", *args)
    other = generate("--seed", "6", *args)
    assert first.returncode == second.returncode == other.returncode == 0
    assert first.stdout == second.stdout
    assert first.stdout != other.stdout


def test_output_file_and_count(tmp_path):
    output = tmp_path / "records.ndjson"
    result = generate("--count", "777", "--seed", "2", "--devices", "1", "--span-days", "0.5",
                      "--end", END, "--output", str(output))
    assert result.returncode == 0, result.stderr.decode()
    lines = output.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 778
    first = json.loads(lines[0])
    assert first["Timestamp"] >= "2026-11-28T04:00:00.0000000Z"
    assert len({json.loads(line)["DeviceId"] for line in lines[:-1]}) == 1
    assert b"777 records" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--count", "-1"], b"--count"),
    (["--rmm-fraction", "2"], b"--rmm-fraction"),
    (["--devices", "0"], b"--devices"),
    (["--span-days", "0"], b"--span-days"),
    (["--end", "yesterday"], b"--end"),
    (["--output", "/nonexistent-dir/records.ndjson"], b"/nonexistent-dir/records.ndjson"),
])
def test_bad_options_are_clear_errors(args, message):
    result = generate("--count", "10", *args)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert result.stdout == b""


def generator_module():
    sys.path.insert(0, str(GENERATOR.parent))
    try:
        import gen_records
    finally:
        sys.path.pop(0)
    return gen_records


def test_every_rule_has_a_generator_profile():
    """The benchmarks and the engine's end-to-end tests run the pack over
    generated records: every rule must have records that match it."""
    module = generator_module()
    profiled = defaultdict(int)
    for profile in module.RMM_PROFILES:
        profiled[profile.rule] += 1
    rules = {path.stem for path in (ROOT / "rules").glob("*.yaml")}
    assert set(profiled) == rules, (set(profiled) ^ rules)

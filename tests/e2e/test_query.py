"""Issue: `rmmhunt query`, KQL over the host's local cache.

A real agent (real BPF probe) writes a fresh state dir; the tests exec marker
commands, wait until the agent's stream shows them (the stream only shows
what the cache has committed), then ask the cache with `rmmhunt query` and
compare with the stream and with sqlite3 on the same file.  Error cases
(syntax, unsupported table, missing cache, non-root user, garbage and
foreign files) need no agent except the non-root one.
"""
import csv
import io
import json
import re
import os
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import IN_CI, RMMHUNT, ROOT, fresh_agent, require_tools

RPORT_RULE = ROOT.parent / "shared" / "corpus" / "sentinel-rmm" / "rmm_RPort_createproc.yaml"
RPORT_COLUMNS = ["DeviceId", "DeviceName", "FirstSeen", "LastSeen", "Report", "Count"]


def query(state_dir, *args, check=True, timeout=120):
    command = [RMMHUNT, "query", "--state-dir", str(state_dir), *args]
    result = subprocess.run(command, capture_output=True, timeout=timeout)
    # decoded by hand: text mode would turn the CSV's CRLF into LF
    result.stdout = result.stdout.decode()
    result.stderr = result.stderr.decode()
    if check:
        assert result.returncode == 0, result.stderr
    return result


def json_rows(state_dir, *args):
    """Rows as lists of (column, value) pairs, in the output's order."""
    output = query(state_dir, "--format", "json", *args).stdout
    return [json.loads(line, object_pairs_hook=list) for line in output.splitlines()]


def ticks(iso):
    """2026-11-28T16:14:40.1234567Z -> 100 ns ticks since the epoch."""
    seconds, fraction = iso.rstrip("Z").split(".")
    whole = datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(whole.timestamp()) * 10_000_000 + int(fraction.ljust(7, "0")[:7])


@pytest.fixture(scope="module")
def running():
    """An agent of its own, with a fresh state dir."""
    with fresh_agent(prefix="rmmhunt-query-") as agent:
        yield agent


def exec_markers(agent, *words):
    """Runs /bin/true MARKER WORD for each word; returns the streamed records."""
    marker = f"qmark{time.monotonic_ns()}"
    for word in words:
        subprocess.run(["/bin/true", marker, word], check=True)
    found = agent.wait_for(lambda r: r["ProcessCommandLine"].startswith(f"/bin/true {marker} "),
                           count=len(words))
    assert len(found) == len(words), "the agent did not record the markers"
    return marker, found


def test_json_returns_exactly_the_marker_rows_in_column_order(running):
    marker, records = exec_markers(running, "one", "two", "three")
    rows = json_rows(running.state_dir,
                     f"DeviceProcessEvents | where ProcessCommandLine has '{marker}'"
                     " | project ProcessId, ProcessCommandLine")
    assert all([key for key, _ in row] == ["ProcessId", "ProcessCommandLine"] for row in rows)
    # The query's own exec holds the marker too; it may be committed already.
    rows = [row for row in rows if "rmmhunt query" not in dict(row)["ProcessCommandLine"]]
    got = sorted((dict(row)["ProcessId"], dict(row)["ProcessCommandLine"]) for row in rows)
    want = sorted((r["ProcessId"], r["ProcessCommandLine"]) for r in records)
    assert got == want


def test_csv_and_table_formats(running):
    marker, records = exec_markers(running, "alpha,comma", 'quote"d')
    kql = (f"DeviceProcessEvents | where ProcessCommandLine has '{marker}'"
           " and FileName == 'true'"
           " | project ProcessId, ProcessCommandLine | sort by ProcessId asc")
    output = query(running.state_dir, "--format", "csv", kql).stdout
    assert output.endswith("\r\n") and "\n" not in output.replace("\r\n", "")
    table = list(csv.reader(io.StringIO(output, newline="")))
    assert table[0] == ["ProcessId", "ProcessCommandLine"]
    want = sorted([str(r["ProcessId"]), r["ProcessCommandLine"]] for r in records)
    assert sorted(table[1:]) == want
    for record in records:  # quoted: they hold a comma and a quote
        line = '%d,"%s"\r\n' % (record["ProcessId"],
                                  record["ProcessCommandLine"].replace('"', '""'))
        assert line in output

    lines = query(running.state_dir, "--format", "table", kql).stdout.splitlines()
    assert lines[0].split() == ["ProcessId", "ProcessCommandLine"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 2 + len(records)
    for record in records:
        assert any(line.split(None, 1) == [str(record["ProcessId"]),
                                           record["ProcessCommandLine"]]
                   for line in lines[2:])
    # columns line up: every row starts its second column where the header does
    start = lines[0].index("ProcessCommandLine")
    assert all(line[start - 1] == " " and line[start] != " " for line in lines[2:])


def test_long_values_are_cut_with_an_ellipsis_in_table_format(running):
    marker, _ = exec_markers(running, "x" * 120)
    lines = query(running.state_dir, "--format", "table",
                  f"DeviceProcessEvents | where ProcessCommandLine has '{marker}'"
                  " and FileName == 'true' | project ProcessCommandLine").stdout.splitlines()
    assert len(lines) == 3
    assert lines[2].rstrip().endswith("\u2026") and len(lines[2].rstrip()) < 120


def test_summarize_by_file_name_agrees_with_sqlite3(running):
    require_tools("sqlite3")
    _, before = exec_markers(running, "bound")
    # A later marker committed means everything up to the first is in.
    exec_markers(running, "after")
    time.sleep(1)
    bound = before[0]["Timestamp"]
    rows = json_rows(running.state_dir,
                     f"DeviceProcessEvents | where Timestamp <= datetime({bound})"
                     " | summarize count() by FileName")
    ours = {dict(row)["FileName"]: dict(row)["count_"] for row in rows}
    sql = ("SELECT FileName, count(*) AS n FROM DeviceProcessEvents"
           f" WHERE Timestamp <= {ticks(bound)} GROUP BY FileName")
    output = subprocess.run(["sqlite3", "-readonly", "-json",
                             str(running.state_dir / "cache.db"), sql],
                            capture_output=True, text=True, check=True).stdout
    theirs = {row["FileName"]: row["n"] for row in json.loads(output or "[]")}
    assert ours == theirs
    assert ours.get("true", 0) >= 1


def test_time_filters(running):
    marker, records = exec_markers(running, "recent")
    recent = json_rows(running.state_dir,
                       f"DeviceProcessEvents | where Timestamp > ago(1h)"
                       f" and ProcessCommandLine has '{marker}' and FileName == 'true'"
                       " | project ReportId")
    assert [dict(row)["ReportId"] for row in recent] == [records[0]["ReportId"]]
    old = json_rows(running.state_dir,
                    f"DeviceProcessEvents | where Timestamp < ago(1h)"
                    f" and ProcessCommandLine has '{marker}' | count")
    assert old == [[("Count", 0)]]
    stamp = records[0]["Timestamp"]
    exact = json_rows(running.state_dir,
                      f"DeviceProcessEvents | where Timestamp between"
                      f" (datetime({stamp}) .. datetime({stamp}))"
                      f" | where ProcessCommandLine has '{marker}' | project Timestamp")
    assert exact == [[("Timestamp", stamp)]]


def test_join_union_and_time_generated_over_the_cache(running):
    """Microsoft's query shapes over the cache: a self-join on the parent's
    process id, union of the table with itself, mv-expand and parse, and
    Sentinel's TimeGenerated for Timestamp."""
    marker = f"jmark{time.monotonic_ns()}"
    # two commands, so that the shell forks the child instead of exec-ing it
    subprocess.run(["/bin/sh", "-c", f"/bin/true {marker} child; :"], check=True)
    running.wait_for(lambda r: r["ProcessCommandLine"] == f"/bin/true {marker} child")
    rows = json_rows(running.state_dir,
                     f"DeviceProcessEvents | where TimeGenerated > ago(1h)"
                     f" and ProcessCommandLine == '/bin/true {marker} child'"
                     " | join kind=inner (DeviceProcessEvents | where TimeGenerated > ago(1h)"
                     f" | where ProcessCommandLine has '{marker}' and ProcessCommandLine has ':'"
                     " | project ParentId = ProcessId, ParentFile = FileName, DeviceId)"
                     " on DeviceId, $left.InitiatingProcessId == $right.ParentId"
                     " | project FileName, ParentFile")
    assert len(rows) == 1, rows
    assert dict(rows[0])["FileName"] == "true"
    assert dict(rows[0])["ParentFile"] in ("sh", "dash")
    counted = json_rows(running.state_dir,
                        f"union DeviceProcessEvents, (DeviceProcessEvents | where"
                        f" ProcessCommandLine has '{marker}')"
                        f" | where ProcessCommandLine == '/bin/true {marker} child'"
                        " | mv-expand Word = split(ProcessCommandLine, ' ') to typeof(string)"
                        " | parse Word with 'jmark' Number:long"
                        " | where isnotnull(Number) | count")
    assert counted == [[("Count", 2)]]


def test_a_query_completes_while_the_agent_writes_at_full_speed(running):
    marker = f"storm{time.monotonic_ns()}"
    storm = subprocess.Popen(
        ["/bin/sh", "-c",
         f"i=0; while [ $i -lt 3000 ]; do /bin/true {marker}; i=$((i+1)); done"])
    counts = []
    try:
        running.wait_for(lambda r: r["ProcessCommandLine"] == f"/bin/true {marker}",
                         count=100, timeout=60)
        while storm.poll() is None:
            rows = json_rows(running.state_dir,
                             f"DeviceProcessEvents | summarize n=countif("
                             f"ProcessCommandLine == '/bin/true {marker}') by FileName")
            counts.append(sum(dict(row)["n"] for row in rows))
            assert any(dict(row)["FileName"] == "true" for row in rows)
    finally:
        storm.wait()
    assert counts, "the storm ended before a query ran"
    assert counts == sorted(counts), "what is committed only grows"
    streamed = running.wait_for(lambda r: r["ProcessCommandLine"] == f"/bin/true {marker}",
                                count=3000, timeout=60)
    final = json_rows(running.state_dir,
                      f"DeviceProcessEvents | where ProcessCommandLine == '/bin/true {marker}'"
                      " | count")
    assert final == [[("Count", len(streamed))]]


def rport_rule():
    if not RPORT_RULE.exists():
        if IN_CI:
            pytest.fail(f"{RPORT_RULE} is missing under CI=true")
        pytest.skip(f"the Sentinel corpus is not at {RPORT_RULE}")
    return RPORT_RULE


def test_the_rport_rule_file_runs_and_returns_its_shape(running):
    rule = rport_rule()
    output = query(running.state_dir, "--format", "csv", "-f", str(rule)).stdout
    table = list(csv.reader(io.StringIO(output, newline="")))
    assert table[0] == RPORT_COLUMNS
    # No RPort ran on this host: Sentinel returns no rows either.
    assert table[1:] == []
    assert query(running.state_dir, "--format", "json", "-f", str(rule)).stdout == ""
    lines = query(running.state_dir, "-f", str(rule)).stdout.splitlines()
    assert lines[0].split() == RPORT_COLUMNS


def test_rule_hits_table(running):
    rows = json_rows(running.state_dir,
                     "RuleHits | summarize n=count() by RuleId, RuleName | count")
    assert len(rows) == 1 and dict(rows[0])["Count"] >= 0


def test_a_query_file(running, tmp_path):
    marker, records = exec_markers(running, "fromfile")
    path = tmp_path / "hunt.kql"
    path.write_text("// a saved hunt\nDeviceProcessEvents\n"
                    f"| where ProcessCommandLine has '{marker}' and FileName == 'true'\n"
                    "| project ReportId\n")
    rows = json_rows(running.state_dir, "-f", str(path))
    assert [dict(row)["ReportId"] for row in rows] == [records[0]["ReportId"]]


# ---- errors ----------------------------------------------------------------


def test_a_syntax_error_shows_line_column_and_caret(tmp_path):
    result = query(tmp_path, "DeviceProcessEvents\n| where ProcessId ==", check=False)
    assert result.returncode == 1
    # the error is at the end of the text: line 2, just after "=="
    assert "query:2:21: syntax error" in result.stderr
    assert result.stderr.endswith("    | where ProcessId ==\n" + " " * 24 + "^\n")


def test_a_syntax_error_in_a_rule_file_points_into_the_file(tmp_path):
    rule = tmp_path / "broken.yaml"
    rule.write_text("id: x\nname: broken\nquery: |\n  DeviceProcessEvents\n"
                    "  | whre ProcessId == 1\n")
    result = query(tmp_path, "-f", str(rule), check=False)
    assert result.returncode == 1
    assert f"{rule}:5:5: syntax error" in result.stderr
    assert "    | whre ProcessId == 1\n      ^\n" in result.stderr


def test_an_unsupported_table_is_named(tmp_path):
    result = query(tmp_path, "DeviceNetworkEvents | take 1", check=False)
    assert result.returncode == 1
    assert "unsupported table" in result.stderr
    assert "DeviceNetworkEvents" in result.stderr


def test_a_missing_cache_says_where_it_looked(tmp_path):
    result = query(tmp_path / "nowhere", "DeviceProcessEvents | count", check=False)
    assert result.returncode == 1
    assert f"no cache at {tmp_path / 'nowhere' / 'cache.db'}" in result.stderr


def test_a_garbage_file_is_not_a_cache(tmp_path):
    (tmp_path / "cache.db").write_bytes(os.urandom(8192))
    result = query(tmp_path, "DeviceProcessEvents | count", check=False)
    assert result.returncode == 1
    assert f"{tmp_path / 'cache.db'} is not an rmmhunt cache" in result.stderr
    assert "not a database" in result.stderr


def test_a_foreign_sqlite_file_is_not_a_cache(tmp_path):
    require_tools("sqlite3")
    subprocess.run(["sqlite3", str(tmp_path / "cache.db"),
                    "CREATE TABLE DeviceProcessEvents (Timestamp INTEGER)"], check=True)
    result = query(tmp_path, "DeviceProcessEvents | count", check=False)
    assert result.returncode == 1
    assert f"{tmp_path / 'cache.db'} is not an rmmhunt cache" in result.stderr


def test_usage_errors(tmp_path):
    assert query(tmp_path, check=False).returncode == 2
    assert query(tmp_path, "--format", "xml", "x", check=False).returncode == 2
    assert query(tmp_path, "-f", "a.kql", "extra", check=False).returncode == 2
    helped = query(tmp_path, "--help")
    assert "usage: rmmhunt query" in helped.stdout
    # every rule file the help names exists
    named = re.findall(r"rules/[\w.-]+\.yaml", helped.stdout)
    assert named
    for rule in named:
        assert (ROOT / rule).is_file(), rule


def test_a_non_root_user_gets_a_permission_error_naming_the_file(running):
    require_tools("setpriv")
    exec_markers(running, "nonroot")
    # the build tree may not be reachable for nobody: run a copy
    with tempfile.TemporaryDirectory(prefix="rmmhunt-cli-") as directory:
        os.chmod(directory, 0o755)
        binary = Path(directory) / "rmmhunt"
        shutil.copy(RMMHUNT, binary)
        os.chmod(binary, 0o755)
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(binary),
             "query", "--state-dir", str(running.state_dir), "DeviceProcessEvents | count"],
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout
    assert "permission denied" in result.stderr
    assert str(running.state_dir / "cache.db") in result.stderr
    assert result.stdout == ""

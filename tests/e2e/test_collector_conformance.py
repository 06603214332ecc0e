"""Issue 8: one KQL, one set of semantics, wherever it runs.

The same realistic records (tests/tools/gen_records.py, several devices)
go into a local cache (build/bench/cache_load: lib/store's writer, as the
agent writes) and into a real TLS collector (batches from enrolled
devices).  Every KQL conformance case of the stores
(tests/conformance/store_queries.kql, which the local cache's unit test
runs too), Sentinel's RPort rule file and the query-test queries then run
through `rmmhunt query --state-dir` and `rmmhunt query --collector`: the
outputs must be byte for byte the same, in every format.  The collector
runs once on each store: SQLite, and PostgreSQL (issue 13: the filters and
time range run in PostgreSQL there, the rest in the collector).
"""
import json
import subprocess
import time

import pytest

from conftest import BACKENDS, ROOT, require_tools, store_location
from collector import CLI, Collector, batch_body, generate_records

CASES = ROOT / "tests" / "conformance" / "store_queries.kql"
RPORT_RULE = ROOT.parent / "shared" / "corpus" / "sentinel-rmm" / "rmm_RPort_createproc.yaml"
EDGE_COMMAND_LINES = [
    "run \u212aelvin now", "run xkelvin", "kelvin\u00e4", "\u00e9kelvin", "kelvin_x",
    "kelvin\u00a0x", "\u017fTOP it", "a\u0130b kelvin2", "\u212aELVIN", "x-kelvin-y",
    "kelvin\u0663", "kelvin\u00b2", "KELVIN", "Kelvin", "run \u212aelvin now", "stop",
]
# of the cases, those whose summarize (or count) PostgreSQL computes
PUSHED_SUMMARIZE = 17  # every case but hasprefix's
EXTRA = [
    "DeviceProcessEvents | summarize count() by DeviceId, DeviceName | sort by DeviceId asc",
    "DeviceProcessEvents | where ProcessVersionInfoCompanyName has 'RealVNC'"
    " | summarize make_set(ProcessVersionInfoProductName) by DeviceId | sort by DeviceId asc",
    "DeviceProcessEvents | where AdditionalFields has 'wine' | count",
    "DeviceProcessEvents | where Timestamp > ago(1d) | summarize dcount(SHA256) by FileName"
    " | sort by dcount_SHA256 desc, FileName asc | take 10",
    # summarize in PostgreSQL (issue 13): groups in first-row order (no sort),
    # make_set's first-seen order without duplicates, caps, empty input
    "DeviceProcessEvents | where FileName in~ ('BASH', 'curl', 'Python3', 'true')"
    " | summarize s=make_set(FileName), l=make_list(FileName, 7), s2=make_set(AccountName, 2),"
    " c=count(), p=sum(ProcessId), lo=min(FileName), hi=max(ProcessId) by DeviceId",
    "DeviceProcessEvents | where Timestamp > ago(40m) | summarize make_list(ReportId, 3),"
    " make_set(ProcessId), dcount(FileName), min(Timestamp) by DeviceName, IsProcessRemoteSession",
    "DeviceProcessEvents | where FileName == 'no such file' | summarize count(), min(Timestamp),"
    " max(FileName), sum(ProcessId), make_set(FileName), make_list(ProcessId), dcount(ReportId)",
    "DeviceProcessEvents | where FileName == 'no such file' | summarize count() by DeviceId",
    "DeviceProcessEvents | where ProcessCommandLine has 'kelvin' or ProcessCommandLine has_cs 'KELVIN'"
    " | summarize n=count(), r=make_set(ReportId) by FileName",
    "DeviceProcessEvents | where ProcessCommandLine has 'kelvin'"
    " | summarize n=count(), s=make_set(ProcessCommandLine) by DeviceId",
    "DeviceProcessEvents | where ProcessCommandLine contains 'stop' or ProcessCommandLine has_cs 'KELVIN'"
    " | summarize make_list(ProcessCommandLine), make_set(ProcessCommandLine) by FileName",
    "DeviceProcessEvents | where ProcessCommandLine =~ 'RUN KELVIN NOW'"
    " or ProcessCommandLine in~ ('kelvin', 'STOP') | summarize count(), make_set(ProcessCommandLine)",
    "DeviceProcessEvents | where ProcessCommandLine startswith 'kel' and ProcessCommandLine"
    " endswith 'x' | summarize make_set(ProcessCommandLine) by DeviceId",
    "DeviceProcessEvents | where ProcessCommandLine contains 'STOP' and FileName =~ 'BASH'"
    " | summarize count() by DeviceId, FileName",
    "DeviceProcessEvents | where FileName startswith 'py' or FileName endswith 'SH'"
    " | distinct FileName, DeviceId",
    "DeviceProcessEvents | where ProcessCommandLine hasprefix 'ste' | summarize count() by FileName",
    "DeviceProcessEvents | where ProcessCommandLine has '-c' | summarize n=count() by ProcessId"
    " | where n > 1 | project ProcessId, twice=n * 2 | take 5",
]


def cases():
    lines = [line.strip() for line in CASES.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("//")]


@pytest.fixture(scope="module", params=BACKENDS)
def stores(request, tmp_path_factory):
    require_tools("openssl")
    directory = tmp_path_factory.mktemp("conformance")
    subprocess.run(["make", "-s", "--no-print-directory", "build/bench/cache_load"], cwd=ROOT,
                   check=True, capture_output=True)
    records = generate_records(3000, seed=7, devices=4, rmm_fraction=0.05)
    # seconds at :45, so now()-relative bounds (whole minutes; asked away
    # from :45, run_both) never split a second
    for record in records:
        record["Timestamp"] = record["Timestamp"][:17] + "45.0000000Z"
    # the term-semantics edge cases of has, contains and =~ in some command lines
    for index, text in enumerate(EDGE_COMMAND_LINES):
        records[37 * index + 5]["ProcessCommandLine"] = text
    events = directory / "records.ndjson"
    events.write_text("".join(json.dumps(record) + "\n" for record in records))
    state = directory / "state"
    state.mkdir()
    subprocess.run([str(ROOT / "build" / "bench" / "cache_load"), str(events),
                    str(state / "cache.db")], check=True, capture_output=True)
    collector = Collector(directory, tls=True,
                          db=store_location(request, request.param, directory)).start()
    # batches in the records' own order (runs of one device), so both stores
    # hold the rows in the same order: summarize lists groups in input order
    keys = {}
    runs = []
    for record in records:
        device = record["DeviceId"]
        if device not in keys:
            keys[device] = collector.enroll(device, record["DeviceName"])
        if runs and runs[-1][0]["DeviceId"] == device and len(runs[-1]) < 400:
            runs[-1].append(record)
        else:
            runs.append([record])
    for run in runs:
        device = run[0]["DeviceId"]
        status, answer = collector.post_batch(keys[device],
                                              batch_body(device, run, name=run[0]["DeviceName"]))
        assert status == 200, answer
    yield state, collector
    collector.stop()


def run_both(stores, *args):
    state, collector = stores
    # both runs on one side of :45 (the records' second): start before :38
    # (7 s to spare) or after :46
    while 38 <= time.gmtime().tm_sec <= 46:
        time.sleep(0.2)
    local = subprocess.run([str(CLI), "query", "--state-dir", str(state), *args],
                           capture_output=True, timeout=300)
    fleet = subprocess.run([str(CLI), "query", "--collector", collector.url, "--token-file",
                            str(collector.token_file), "--ca-file", str(collector.ca[0]), *args],
                           capture_output=True, timeout=300)
    assert local.returncode == 0, local.stderr.decode()
    assert fleet.returncode == 0, fleet.stderr.decode()
    return local.stdout, fleet.stdout


@pytest.mark.parametrize("kql", cases() + EXTRA)
def test_same_answer_locally_and_over_the_fleet(stores, kql):
    local, fleet = run_both(stores, "--format", "json", kql)
    assert local == fleet


def test_rport_rule_file_in_every_format(stores):
    if not RPORT_RULE.exists():
        pytest.skip(f"the Sentinel corpus is not at {RPORT_RULE}")
    for form in ("json", "csv", "table"):
        local, fleet = run_both(stores, "--format", form, "-f", str(RPORT_RULE))
        assert local == fleet
    assert local.decode().splitlines()[0].split() == ["DeviceId", "DeviceName", "FirstSeen", "LastSeen",
                                             "Report", "Count"]
    assert len(local.splitlines()) > 2, "no device ran RPort: the case tests nothing"


def test_stats_say_where_summarize_ran(stores, request):
    """PostgreSQL: the summarize cases above compared its GROUP BY with the
    local cache, not the engine's summarize; SQLite: all ran in the collector."""
    _, collector = stores
    pushed = []
    for kql in EXTRA + [["-f", str(RPORT_RULE)]]:
        args = kql if isinstance(kql, list) else [kql]
        result = subprocess.run([str(CLI), "query", "--collector", collector.url, "--token-file",
                                 str(collector.token_file), "--ca-file", str(collector.ca[0]),
                                 "--stats", *args], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        plan = json.loads(result.stderr)["plan"]
        if request.node.callspec.params["stores"] == "sqlite":
            assert plan[0]["backend"] == "sqlite"
            continue
        if plan[0]["summarize_in_postgresql"]:
            assert "GROUP BY" in plan[0]["sql_in_postgresql"] or " by " not in args[-1]
            pushed.append(args[-1])
    if request.node.callspec.params["stores"] == "postgresql":
        assert len(pushed) == PUSHED_SUMMARIZE, pushed
        assert str(RPORT_RULE) in pushed

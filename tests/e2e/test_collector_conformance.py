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
EXTRA = [
    "DeviceProcessEvents | summarize count() by DeviceId, DeviceName | sort by DeviceId asc",
    "DeviceProcessEvents | where ProcessVersionInfoCompanyName has 'RealVNC'"
    " | summarize make_set(ProcessVersionInfoProductName) by DeviceId | sort by DeviceId asc",
    "DeviceProcessEvents | where AdditionalFields has 'wine' | count",
    "DeviceProcessEvents | where Timestamp > ago(1d) | summarize dcount(SHA256) by FileName"
    " | sort by dcount_SHA256 desc, FileName asc | take 10",
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
    # seconds at :45, so now()-relative bounds (asked at :02-:25) never split a second
    for record in records:
        record["Timestamp"] = record["Timestamp"][:17] + "45.0000000Z"
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
    while not 2 <= time.gmtime().tm_sec <= 25:
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

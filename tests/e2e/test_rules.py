"""Issue: KQL rules on the host.  `rmmhunt rules check` over the Sentinel
corpus and the project's pack; `rmmhunt rules test` runs the RPort rule over
recorded records and returns exactly Sentinel's table."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLI, ROOT, skip_or_fail

CORPUS = ROOT.parent / "shared" / "corpus" / "sentinel-rmm"
RPORT_RULE = ROOT / "rules" / "rmm_rport_createproc.yaml"
GENERATOR = ROOT / "tests" / "tools" / "gen_records.py"


def corpus():
    if not CORPUS.is_dir():
        skip_or_fail(f"the Sentinel corpus is not at {CORPUS}")
    return CORPUS


def check(*paths):
    result = subprocess.run([str(CLI), "rules", "check", *map(str, paths)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr  # never a crash
    lines = {}
    for line in result.stdout.splitlines():
        for status in ("ok", "unsupported table", "error"):
            if line.startswith(status + " "):
                path = line[len(status):].strip().split(":")[0].split()[0]
                lines[Path(path).name] = (status, line)
    return result, lines


def test_every_createproc_rule_of_the_corpus_loads_but_dwservice():
    directory = corpus()
    result, lines = check(*sorted(directory.glob("*_createproc.yaml")))
    assert len(lines) == 55
    for name, (status, line) in lines.items():
        if name == "rmm_DWService_createproc.yaml":
            assert status == "error", line
        else:
            assert status == "ok", line
    assert result.returncode == 1
    dwservice = result.stdout[result.stdout.index("rmm_DWService_createproc.yaml"):]
    assert "rmm_DWService_createproc.yaml:26:5:" in dwservice
    assert "| Sha1 in (rmmInitialFileSet)" in dwservice
    caret_line = dwservice.splitlines()[2]
    assert caret_line.strip() == "^"
    source_line = dwservice.splitlines()[1]
    assert source_line[caret_line.index("^")] == "S"


def test_netconn_and_filesig_rules_are_reported_not_crashed():
    directory = corpus()
    others = sorted(p for p in directory.glob("*.yaml") if "_createproc" not in p.name)
    assert len(others) == 110
    result, lines = check(*others)
    assert len(lines) == 110
    for name, (status, line) in lines.items():
        assert status in ("ok", "unsupported table"), line
        if status == "unsupported table":
            assert "DeviceNetworkEvents" in line or "DeviceFileCertificateInfo" in line, line


def test_the_project_pack_all_compiles():
    result, lines = check(ROOT / "rules")
    assert result.returncode == 0, result.stdout
    assert len(lines) == len(list((ROOT / "rules").glob("*.yaml")))
    assert all(status == "ok" for status, _ in lines.values())


def test_a_bad_rule_file_is_reported_with_its_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: 1\nname: bad\nquery: |\n  DeviceProcessEvents\n"
                   "  | where NoSuchColumn has 'x'\n")
    result, lines = check(bad)
    assert result.returncode == 1
    assert "bad.yaml:5:11:" in result.stdout
    assert "NoSuchColumn" in result.stdout


def generated_records(tmp_path):
    """Realistic records from the generator, RPort ones among them."""
    out = tmp_path / "records.ndjson"
    subprocess.run([sys.executable, str(GENERATOR), "--count", "3000", "--seed", "7",
                    "--rmm-fraction", "0.02", "--span-days", "1",
                    "--end", "2026-11-20T12:00:00Z", "--quiet", "--output", str(out)],
                   check=True)
    return [json.loads(line) for line in out.read_text().splitlines()]


def rules_test(rule, records, tmp_path, now="2026-11-21T00:00:00Z"):
    events = tmp_path / "events.ndjson"
    events.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = subprocess.run([str(CLI), "rules", "test", str(rule), "--events", str(events),
                             "--format", "json", "--now", now],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def is_rport(record):
    return "RealVNC" in record["ProcessVersionInfoCompanyName"] and \
        record["ProcessVersionInfoProductName"] == "rport"


def test_rport_rule_counts_one_then_two(tmp_path):
    records = generated_records(tmp_path)
    rports = [r for r in records if is_rport(r)]
    assert len(rports) >= 2
    first, second = rports[0], dict(rports[1], DeviceId=rports[0]["DeviceId"],
                                    DeviceName=rports[0]["DeviceName"])
    rows = rules_test(RPORT_RULE, [first], tmp_path)
    assert rows == [{"DeviceId": first["DeviceId"], "DeviceName": first["DeviceName"],
                     "FirstSeen": first["Timestamp"], "LastSeen": first["Timestamp"],
                     "Report": [first["ReportId"]], "Count": 1}]
    rows = rules_test(RPORT_RULE, [first, second], tmp_path)
    assert len(rows) == 1 and rows[0]["Count"] == 2
    assert sorted(rows[0]["Report"]) == sorted([first["ReportId"], second["ReportId"]])
    assert rows[0]["FirstSeen"] == min(first["Timestamp"], second["Timestamp"])
    assert rows[0]["LastSeen"] == max(first["Timestamp"], second["Timestamp"])


def test_rport_rule_ignores_vncviewer_and_old_records(tmp_path):
    records = generated_records(tmp_path)
    rport = next(r for r in records if is_rport(r))
    viewer = dict(rport, ProcessVersionInfoProductName="vncviewer",
                  FileName="vncviewer.exe", ReportId=rport["ReportId"] + 1)
    assert rules_test(RPORT_RULE, [viewer], tmp_path) == []
    # five days and a bit later the record has left the rule's window
    assert rules_test(RPORT_RULE, [rport], tmp_path, now="2026-11-26T12:00:01Z") == []


def test_rport_rule_over_the_whole_generated_set_matches_a_python_count(tmp_path):
    records = generated_records(tmp_path)
    rows = rules_test(RPORT_RULE, records, tmp_path)
    expected = {}
    for record in records:
        if "realvnc" in record["ProcessVersionInfoCompanyName"].lower().split() and \
                "rport" in record["ProcessVersionInfoProductName"].lower().replace(".", " ").split():
            expected.setdefault(record["DeviceId"], []).append(record["ReportId"])
    assert {row["DeviceId"]: row["Count"] for row in rows} == \
        {device: len(ids) for device, ids in expected.items()}


def test_rules_check_help_and_unknown_options(tmp_path):
    helped = subprocess.run([str(CLI), "rules", "check", "--help"], capture_output=True, text=True,
                            timeout=30)
    assert helped.returncode == 0 and "usage: rmmhunt rules check" in helped.stdout
    assert "with errors" not in helped.stdout  # not taken for a path
    unknown = subprocess.run([str(CLI), "rules", "check", "--bogus"], capture_output=True,
                             text=True, timeout=30)
    assert unknown.returncode == 2 and "unknown option '--bogus'" in unknown.stderr
    # a path that starts with '-' after "--"
    odd = tmp_path / "-rule.yaml"
    odd.write_text("id: 1\nname: x\nquery: |\n  DeviceProcessEvents | take 1\n")
    result = subprocess.run([str(CLI), "rules", "check", "--", str(odd)], capture_output=True,
                            text=True, timeout=30, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("ok "), result.stdout


def test_a_file_error_without_a_position_prints_no_zeros(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("id: 1\nname: no query\n")
    result, _ = check(empty)
    assert result.returncode == 1
    assert ":0:0" not in result.stdout
    assert "empty.yaml: " in result.stdout


def test_an_unsupported_table_is_named_behind_another_error(tmp_path):
    rule = tmp_path / "both.yaml"
    rule.write_text("id: 1\nname: both\nquery: |\n"
                    "  let s = DeviceFileCertificateInfo | distinct SHA1;\n"
                    "  DeviceProcessEvents | where (\n")
    result, lines = check(rule)
    assert lines["both.yaml"][0] == "error"
    assert "also reads DeviceFileCertificateInfo, not filled by rmmhunt" in result.stdout

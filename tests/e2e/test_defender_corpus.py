"""Microsoft's own DeviceProcessEvents hunts run unmodified (issue 12).

Every query of tests/corpus/defender-dpe is accepted by `rmmhunt rules
check` (or, for the upstream queries Kusto itself rejects, reported with
the expected error), and `rmmhunt rules test` returns at least one row on
its matching records and none on their near miss (rows/NAME.json)."""
import json
import subprocess

import pytest

from conftest import CLI, ROOT

CORPUS = ROOT / "tests" / "corpus" / "defender-dpe"
QUERIES = sorted((CORPUS / "queries").glob("*.yaml"))


def case(query):
    return json.loads((CORPUS / "rows" / (query.stem + ".json")).read_text(encoding="utf-8"))


def run_rule(query, records, now, tmp_path):
    events = tmp_path / "events.ndjson"
    events.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = subprocess.run([str(CLI), "rules", "test", str(query), "--events", str(events),
                             "--format", "json", "--now", now],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_corpus_is_complete():
    assert len(QUERIES) >= 30
    manifest = (CORPUS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    listed = {line.split("\t")[0] for line in manifest}
    assert listed == {f"queries/{q.name}" for q in QUERIES}
    for query in QUERIES:
        assert (CORPUS / "rows" / (query.stem + ".json")).is_file(), query.name
        assert "DeviceProcessEvents" in query.read_text(encoding="utf-8")


def test_rules_check_accepts_every_valid_query():
    result = subprocess.run([str(CLI), "rules", "check", str(CORPUS / "queries")],
                            capture_output=True, text=True, timeout=120)
    lines = {}
    for line in result.stdout.splitlines():
        for status in ("ok", "error", "unsupported table"):
            if line.startswith(status + " "):
                name = line[len(status):].strip().split(":")[0].split()[0].rsplit("/", 1)[-1]
                lines[name] = (status, line)
    assert len(lines) == len(QUERIES), result.stdout
    for query in QUERIES:
        expected = case(query).get("error")
        status, line = lines[query.name]
        if expected:
            assert status == "error" and expected in line, line
        else:
            assert status == "ok", line


@pytest.mark.parametrize("query", [q for q in QUERIES if "error" not in case(q)],
                         ids=lambda q: q.stem)
def test_match_and_near_miss(query, tmp_path):
    data = case(query)
    rows = run_rule(query, data["match"], data["now"], tmp_path)
    assert len(rows) >= 1, f"{query.name}: no row for the matching records"
    rows = run_rule(query, data["miss"], data["now"], tmp_path)
    assert rows == [], f"{query.name}: near miss ({data['near_miss']}) returned {rows}"

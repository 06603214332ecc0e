"""Agreement with python3-pefile on Debian's wine64 PE corpus: every
StringTable value `rmmhunt inspect --json` reads equals what pefile reads,
leaf by leaf and table by table.  Any difference fails.  (The one
documented difference, a String with wValueLength 0, which pefile shows
empty, must not occur in this corpus: its absence is checked too.)"""
from conftest import inspect, skip_or_fail
import pecorpus


def test_every_string_table_value_equals_pefile():
    files = pecorpus.corpus()
    if len(files) < 100:
        skip_or_fail("the wine64 PE corpus is not installed (%d files)" % len(files))
    records, stderr, status = inspect(*files, options=("--json", "--no-hashes", "--no-packages"))
    assert status == 0, stderr
    differences = []
    with_version = 0
    for path in files:
        expected = pecorpus.pefile_tables(path)
        got = pecorpus.rmmhunt_tables(records[path])
        with_version += bool(expected)
        if got != expected:
            differences.append((path, expected, got))
        anomalies = records[path].get("pe", {}).get("anomalies", [])
        assert "string_value_length_zero" not in anomalies, path
    assert differences == []
    # Debian 12's Wine 8: about 235 files carry a version resource.
    assert with_version >= 200

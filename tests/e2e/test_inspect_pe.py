"""`rmmhunt inspect` on PE fixtures built with mingw-w64 (see
tests/fixtures/pe/): RPort's version strings, PE32 and PE32+, several
languages, VarFileInfo first, wValueLength 0, a truncated copy, a looping
resource tree, no resources; and the error contract of the command."""
import hashlib
import os
import subprocess

from conftest import inspect, inspect_one, RMMHUNT
import pecorpus

RPORT_COLUMNS = {
    "ProcessVersionInfoCompanyName": "RealVNC Ltd",
    "ProcessVersionInfoProductName": "rport",
    "ProcessVersionInfoProductVersion": "0.9.12",
    "ProcessVersionInfoInternalFileName": "rport.exe",
    "ProcessVersionInfoOriginalFileName": "main.go",
    "ProcessVersionInfoFileDescription": "rport windows client",
}


def fixture(directory, name):
    return os.path.join(directory, name)


def chosen_table(record):
    pe = record["pe"]
    resource = pe["version_resources"][pe["chosen"]["resource"]]
    return next(t for t in resource["tables"] if t["key"] == pe["chosen"]["table"])


def test_rport_pe32_plus_strings_and_choice(pe_fixtures):
    path = fixture(pe_fixtures, "rport.exe")
    record = inspect_one(path)
    assert record["type"] == "PE32+"
    assert record["pe"]["machine"] == "x86-64"
    assert record["version_info"] == RPORT_COLUMNS
    # Three language leaves sorted by ID; Windows (en-US) picks 0x0409, which
    # is not the first, and in it Translation[0] = 0409/04b0.
    languages = [r["language"] for r in record["pe"]["version_resources"]]
    assert languages == [0x0407, 0x0409, 0x0411]
    assert record["pe"]["chosen"] == {"resource": 1, "language": 0x0409,
                                      "table": "040904b0", "choice": "translation"}
    strings = chosen_table(record)["strings"]
    assert strings["LegalCopyright"] == "Copyright (c) 2022 RealVNC Ltd"
    # A surrogate pair (U+1F680) decoded to one 4-byte UTF-8 character.
    assert strings["Comments"] == "reverse tunnel client \U0001F680 test"
    japanese = record["pe"]["version_resources"][2]["tables"][0]["strings"]
    assert japanese["FileDescription"] == "rport ウィンドウズ クライアント"
    en_leaf = record["pe"]["version_resources"][1]
    assert [t["key"] for t in en_leaf["tables"]] == ["040904b0", "040704b0"]
    assert en_leaf["translations"] == ["040904b0"]
    assert en_leaf["fixed"]["file_version"] == "0.9.12.0"
    assert en_leaf["fixed"]["product_version"] == "0.9.12.0"
    assert record["pe"]["anomalies"] == []


def test_rport_hashes_and_size(pe_fixtures):
    path = fixture(pe_fixtures, "rport.exe")
    record = inspect_one(path)
    with open(path, "rb") as f:
        data = f.read()
    assert record["size"] == len(data)
    assert record["sha1"] == hashlib.sha1(data).hexdigest()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["md5"] == hashlib.md5(data).hexdigest()


def test_rport_pe32(pe_fixtures):
    record = inspect_one(fixture(pe_fixtures, "rport-x86.exe"))
    assert record["type"] == "PE32"
    assert record["pe"]["machine"] == "i386"
    assert record["version_info"] == RPORT_COLUMNS


def test_varfileinfo_first(pe_fixtures):
    path = fixture(pe_fixtures, "rport-varfirst.exe")
    record = inspect_one(path)
    assert record["version_info"] == RPORT_COLUMNS
    assert record["pe"]["chosen"]["choice"] == "translation"
    assert pecorpus.rmmhunt_tables(record) == pecorpus.pefile_tables(path)


def test_fixtures_agree_with_pefile(pe_fixtures):
    for name in ("rport.exe", "rport-x86.exe", "vncviewer.exe"):
        path = fixture(pe_fixtures, name)
        assert pecorpus.rmmhunt_tables(inspect_one(path)) == pecorpus.pefile_tables(path), name


def test_zero_value_length_is_read_and_flagged(pe_fixtures):
    path = fixture(pe_fixtures, "rport-zerolen.exe")
    record = inspect_one(path)
    assert record["version_info"] == RPORT_COLUMNS
    table = chosen_table(record)
    assert table["string_anomalies"] == {
        "CompanyName": ["string_value_length_zero"],
        "ProductName": ["string_value_length_zero"],
    }
    assert "string_value_length_zero" in record["pe"]["anomalies"]
    assert "string_value_length_zero" in record["additional_fields"]["PeVersionAnomalies"]
    # The documented difference: pefile shows these values empty.
    pefile_en = [t for t in pecorpus.pefile_tables(path) if t[1] == "040904b0"][0][2]
    assert pefile_en["CompanyName"] == "" and pefile_en["ProductName"] == ""
    assert pefile_en["FileDescription"] == "rport windows client"


def test_truncated_copy_is_an_error_but_keeps_what_it_can(pe_fixtures):
    good = fixture(pe_fixtures, "rport.exe")
    path = fixture(pe_fixtures, "rport-truncated.exe")
    records, stderr, status = inspect(path, good)
    assert status == 1
    assert path in stderr and "cut short" in stderr
    record = records[path]
    assert record["type"] == "PE32+"
    assert len(record["sha256"]) == 64
    assert "truncated" in record["pe"]["anomalies"]
    assert "error" in record
    assert records[good]["version_info"] == RPORT_COLUMNS


def test_looping_resource_tree(pe_fixtures):
    path = fixture(pe_fixtures, "rport-loop.exe")
    records, stderr, status = inspect(path)
    assert status == 1
    assert path in stderr and "loops" in stderr
    assert "resource_loop" in records[path]["pe"]["anomalies"]
    assert records[path]["version_info"]["ProcessVersionInfoCompanyName"] == ""


def test_no_resources(pe_fixtures):
    record = inspect_one(fixture(pe_fixtures, "rport-nores.exe"))
    assert record["type"] == "PE32+"
    assert record["pe"]["version_resources"] == []
    assert set(record["version_info"].values()) == {""}
    assert "PeVersionTable" not in record["additional_fields"]


def test_vncviewer(pe_fixtures):
    record = inspect_one(fixture(pe_fixtures, "vncviewer.exe"))
    assert record["version_info"]["ProcessVersionInfoCompanyName"] == "RealVNC Ltd"
    assert record["version_info"]["ProcessVersionInfoProductName"] == "vncviewer"
    assert record["pe"]["chosen"]["table"] == "080904b0"


def test_additional_fields_for_pe(pe_fixtures):
    fields = inspect_one(fixture(pe_fixtures, "rport.exe"))["additional_fields"]
    assert fields["FileType"] == "PE32+"
    assert fields["PeMachine"] == "x86-64"
    assert fields["PeFileVersion"] == "0.9.12.0"
    assert fields["PeProductVersion"] == "0.9.12.0"
    assert fields["PeVersionTable"] == "040904b0"
    assert fields["PeVersionLanguage"] == 0x0409
    assert fields["PeVersionChoice"] == "translation"
    assert fields["PeVersionStrings"]["LegalCopyright"] == "Copyright (c) 2022 RealVNC Ltd"
    others = {(t["language"], t["table"]) for t in fields["PeVersionOtherTables"]}
    assert others == {(0x0407, "040704b0"), (0x0409, "040704b0"), (0x0411, "041104b0")}
    assert "PeVersionAnomalies" not in fields


def test_human_output(pe_fixtures):
    path = fixture(pe_fixtures, "rport.exe")
    result = subprocess.run([RMMHUNT, "inspect", path], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(path + "\n")
    assert "PE32+" in result.stdout
    assert "ProcessVersionInfoCompanyName        RealVNC Ltd" in result.stdout
    assert "040904b0  (chosen)" in result.stdout


def test_errors_name_the_file_and_other_files_go_on(pe_fixtures, tmp_path):
    good = fixture(pe_fixtures, "vncviewer.exe")
    missing = str(tmp_path / "missing.exe")
    unreadable = str(tmp_path / "unreadable.exe")
    with open(unreadable, "wb") as f:
        f.write(b"MZ")
    os.chmod(unreadable, 0)
    records, stderr, status = inspect(missing, str(tmp_path), good)
    assert status == 1
    assert missing + ": No such file or directory" in stderr
    assert str(tmp_path) + ": Is a directory" in stderr
    assert list(records) == [good]
    if os.geteuid() != 0:  # root reads a mode-0 file anyway
        _, stderr, status = inspect(unreadable)
        assert status == 1 and "Permission denied" in stderr


def test_other_and_script_types(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just text\n")
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh -e\necho hi\n")
    mz = tmp_path / "dos.com"
    mz.write_bytes(b"MZ" + b"\0" * 100)
    records, stderr, status = inspect(str(text), str(script), str(mz))
    assert status == 0, stderr
    assert records[str(text)]["type"] == "other"
    assert records[str(script)]["type"] == "script"
    assert records[str(script)]["interpreter"] == "/bin/sh"
    assert records[str(script)]["interpreter_argument"] == "-e"
    assert records[str(mz)]["type"] == "other" and records[str(mz)]["mz_without_pe"]


def test_usage_errors():
    result = subprocess.run([RMMHUNT, "inspect"], capture_output=True, text=True)
    assert result.returncode == 2 and "usage" in result.stderr

"""The rule pack in rules/: every file is a well-formed Sentinel hunting query
on DeviceProcessEvents, and the pack covers the Sentinel RMM catalog.

This checks structure only (the KQL engine compiles the queries for real in
its own tests): the YAML parses with libyaml (python3-yaml's CSafeLoader,
the parser the agent uses), the fields the agent reads are there and typed,
ids are fresh UUIDs, each query reads DeviceProcessEvents and ends with the
per-device summary, and every create-process rule of the Sentinel catalog
(../shared/corpus/sentinel-rmm) has a counterpart here with the same
detection facts (every string literal and column it tests).
"""
import os
import re
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
CORPUS = ROOT.parent / "shared" / "corpus" / "sentinel-rmm"
IN_CI = os.environ.get("CI") == "true"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

REQUIRED = ("id", "name", "description", "requiredDataConnectors", "tactics",
            "relevantTechniques", "query")
# MITRE ATT&CK enterprise tactics, as Sentinel spells them.
TACTICS = {"Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution",
           "Persistence", "PrivilegeEscalation", "DefenseEvasion", "CredentialAccess",
           "Discovery", "LateralMovement", "Collection", "CommandAndControl",
           "Exfiltration", "Impact"}
TECHNIQUE = re.compile(r"T\d{4}(\.\d{3})?")
# Defender tables the sensor does not fill: a pack rule must not read them.
OTHER_TABLES = {"DeviceFileCertificateInfo", "DeviceNetworkEvents", "DeviceFileEvents",
                "DeviceRegistryEvents", "DeviceImageLoadEvents", "DeviceLogonEvents",
                "DeviceEvents", "DeviceInfo", "DeviceNetworkInfo"}
SUMMARY = ("summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp), "
           "Report=make_set(ReportId), Count=count() by DeviceId, DeviceName")


def rule_files():
    return sorted(RULES.glob("*.yaml"))


def load(path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)


def as_list(value):
    return value if isinstance(value, list) else [value]


def scan_query(text):
    """Splits KQL text into (code without comments or literals, literals).

    Literals: '...', "..." with backslash escapes, @'...' and @"..." verbatim.
    Raises ValueError on an unterminated literal."""
    code, literals = [], []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c == "@" and i + 1 < n and text[i + 1] in "'\"":
            quote = text[i + 1]
            end = text.find(quote, i + 2)
            if end < 0:
                raise ValueError(f"unterminated verbatim literal at {i}")
            literals.append(text[i + 2:end])
            code.append(" '' ")
            i = end + 1
        elif c in "'\"":
            j, value = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    value.append(text[j + 1])
                    j += 2
                    continue
                value.append(text[j])
                j += 1
            if j >= n:
                raise ValueError(f"unterminated literal at {i}")
            literals.append("".join(value))
            code.append(" '' ")
            i = j + 1
        else:
            code.append(c)
            i += 1
    return "".join(code), literals


def identifiers(code):
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))


def corpus_createproc():
    """{tool in lower case: corpus file}, or a skip/fail when it is absent."""
    if not CORPUS.is_dir():
        message = f"the Sentinel corpus is not at {CORPUS}"
        if IN_CI:
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    files = {path.name[len("rmm_"):-len("_createproc.yaml")].lower(): path
             for path in CORPUS.glob("rmm_*_createproc.yaml")}
    assert files, f"no *_createproc.yaml in {CORPUS}"
    return files


def test_pack_has_the_rport_rules():
    names = {path.name for path in rule_files()}
    assert {"rmm_rport_createproc.yaml", "linux_rport_client.yaml"} <= names, names


@pytest.mark.parametrize("path", rule_files(), ids=lambda p: p.name)
def test_rule_is_well_formed(path):
    rule = load(path)
    assert isinstance(rule, dict), f"{path.name}: not a YAML mapping"
    for field in REQUIRED:
        assert field in rule, f"{path.name}: no '{field}'"
    for field in ("id", "name", "description", "query"):
        assert isinstance(rule[field], str) and rule[field].strip(), \
            f"{path.name}: '{field}' must be a non-empty string"
    assert str(uuid.UUID(rule["id"])) == rule["id"], \
        f"{path.name}: id {rule['id']!r} is not a lower-case canonical UUID"

    tactics = as_list(rule["tactics"])
    assert tactics and all(t in TACTICS for t in tactics), f"{path.name}: tactics {tactics}"
    techniques = as_list(rule["relevantTechniques"])
    assert techniques and all(isinstance(t, str) and TECHNIQUE.fullmatch(t)
                              for t in techniques), f"{path.name}: techniques {techniques}"

    connectors = rule["requiredDataConnectors"]
    assert isinstance(connectors, list) and connectors, path.name
    data_types = {t for c in connectors for t in c.get("dataTypes", [])}
    assert data_types == {"DeviceProcessEvents"}, f"{path.name}: dataTypes {data_types}"


@pytest.mark.parametrize("path", rule_files(), ids=lambda p: p.name)
def test_query_reads_device_process_events(path):
    query = load(path)["query"]
    code, _ = scan_query(query)
    assert code.count("(") == code.count(")"), f"{path.name}: unbalanced parentheses"
    statements = [s.strip() for s in code.split(";") if s.strip()]
    assert statements, f"{path.name}: empty query"
    final = statements[-1]
    assert re.match(r"DeviceProcessEvents\b", final), \
        f"{path.name}: the query's tabular expression must start with DeviceProcessEvents"
    read = identifiers(code) & OTHER_TABLES
    assert not read, f"{path.name}: reads tables the sensor does not fill: {read}"
    normalized = " ".join(final.split())
    assert "| where Timestamp between (now(-5d) .. now())" in normalized, \
        f"{path.name}: no five-day window on Timestamp"
    assert normalized.endswith("| " + SUMMARY), \
        f"{path.name}: must end with the per-device summary: {SUMMARY}"


def test_ids_and_names_are_unique():
    ids, names = {}, {}
    for path in rule_files():
        rule = load(path)
        assert rule["id"] not in ids, f"{path.name} and {ids.get(rule['id'])}: same id"
        assert rule["name"] not in names, f"{path.name} and {names.get(rule['name'])}: same name"
        ids[rule["id"]] = path.name
        names[rule["name"]] = path.name


def test_file_names_are_lower_case():
    for path in rule_files():
        assert path.name == path.name.lower(), path.name


def test_readme_lists_every_rule():
    readme = (RULES / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in rule_files() if p.name not in readme]
    assert not missing, f"rules/README.md does not list {missing}"


def test_every_corpus_createproc_rule_has_a_counterpart():
    corpus = corpus_createproc()
    pack = {path.name[len("rmm_"):-len("_createproc.yaml")]
            for path in RULES.glob("rmm_*_createproc.yaml")}
    assert set(corpus) - pack == set(), \
        f"corpus rules without a counterpart in rules/: {sorted(set(corpus) - pack)}"
    assert pack - set(corpus) == set(), \
        f"rmm_*_createproc rules with no corpus rule (name pack-only rules otherwise): " \
        f"{sorted(pack - set(corpus))}"


def test_counterparts_keep_the_corpus_detection_facts():
    """Every literal the corpus rule tests (company, product, file and folder
    names; case folded, since has/=~ fold case) is in our rule, and so is
    every column it reads.  DWService is the documented exception for columns:
    its corpus rule reads DeviceFileCertificateInfo (Signer, Sha1)."""
    corpus = corpus_createproc()
    for tool, corpus_path in sorted(corpus.items()):
        ours_path = RULES / f"rmm_{tool}_createproc.yaml"
        theirs = load(corpus_path)
        ours = load(ours_path)
        assert ours["id"] != theirs["id"], f"{ours_path.name}: reuses the corpus id"
        their_code, their_literals = scan_query(theirs["query"])
        our_code, our_literals = scan_query(ours["query"])
        missing = {lit.casefold() for lit in their_literals} - {
            lit.casefold() for lit in our_literals}
        assert not missing, f"{ours_path.name}: corpus facts missing: {missing}"
        if tool == "dwservice":
            continue
        columns = {name for name in identifiers(their_code) if name.startswith(
            ("ProcessVersionInfo", "FileName", "FolderPath"))}
        assert columns <= identifiers(our_code), \
            f"{ours_path.name}: corpus columns missing: {columns - identifiers(our_code)}"


def test_non_ascii_facts_are_exact_utf8():
    servereye = (RULES / "rmm_servereye_createproc.yaml").read_bytes()
    assert "'Krämer IT Solutions GmbH'".encode("utf-8") in servereye
    dwservice = (RULES / "rmm_dwservice_createproc.yaml").read_bytes()
    assert "'DWSNET OÜ'".encode("utf-8") in dwservice


def test_rport_rule_is_the_starting_rule():
    rule = load(RULES / "rmm_rport_createproc.yaml")
    code, literals = scan_query(rule["query"])
    assert literals == ["RealVNC", "rport"]
    normalized = " ".join(rule["query"].split())
    assert ("| where ProcessVersionInfoCompanyName has 'RealVNC' and "
            "ProcessVersionInfoProductName has 'rport' |") in normalized
    assert as_list(rule["tactics"]) == ["CommandAndControl"]
    assert as_list(rule["relevantTechniques"]) == ["T1219"]


def test_linux_rport_rule_uses_the_binary_identity_key():
    """The Go main package key is the one the binary-identity reader writes
    (docs/binary-identity.md: GoMainPackage); the client's paths and command
    lines are the documented ones; rportd is never a target."""
    rule = load(RULES / "linux_rport_client.yaml")
    code, literals = scan_query(rule["query"])
    assert "parse_json(AdditionalFields).GoMainPackage" in code.replace(" ", "")
    for fact in ("/cmd/rport", "/usr/bin/rport", "/usr/local/bin/rport",
                 "/etc/rport/rport.conf", "--service", "--fingerprint", "--auth"):
        assert fact in literals, fact
    assert not [lit for lit in literals if "rportd" in lit]
    assert as_list(rule["tactics"]) == ["CommandAndControl"]
    assert as_list(rule["relevantTechniques"]) == ["T1219"]


def test_scanner_rejects_unterminated_literals():
    """The structural checks above rely on scan_query: it must fail on bad text."""
    with pytest.raises(ValueError):
        scan_query("DeviceProcessEvents | where FileName has 'rport")
    with pytest.raises(ValueError):
        scan_query("DeviceProcessEvents | where FolderPath has @'\\x")
    code, literals = scan_query("T | where a has \"x\\\"y\" // 'not a literal'\n| where b "
                                "has @'C:\\P\\'")
    assert literals == ['x"y', "C:\\P\\"]
    assert "not a literal" not in code

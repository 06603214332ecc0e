"""Shared helpers of the end-to-end tests: where the built programs are,
how to run `rmmhunt inspect`, the PE fixtures (built here with mingw-w64),
and skipping that turns into failure under CI=true."""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
RMMHUNT = os.path.join(BUILD, "rmmhunt")
PE_FIXTURES = os.path.join(BUILD, "fixtures", "pe")

sys.path.insert(0, os.path.dirname(__file__))


def skip_or_fail(message):
    """Skip outside CI; under CI=true a missing prerequisite is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail("prerequisite missing under CI: " + message)
    pytest.skip(message)


def require_tools(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            skip_or_fail("%s is not installed (make test-deps installs it)" % tool)


def inspect(*paths, options=("--json",)):
    """Run rmmhunt inspect; returns (records by path, stderr, exit status)."""
    if not os.access(RMMHUNT, os.X_OK):
        pytest.fail("%s is not built (make build/rmmhunt)" % RMMHUNT)
    result = subprocess.run([RMMHUNT, "inspect", *options, *paths],
                            capture_output=True, text=True, timeout=120)
    records = {}
    if "--json" in options:
        for line in result.stdout.splitlines():
            record = json.loads(line)
            records[record["path"]] = record
    return records, result.stderr, result.returncode


def inspect_one(path, options=("--json",)):
    records, stderr, status = inspect(path, options=options)
    assert status == 0, stderr
    return records[path]


@pytest.fixture(scope="session")
def pe_fixtures():
    """Directory of the PE fixtures, built by tests/fixtures/pe/mkfixtures.py."""
    require_tools("x86_64-w64-mingw32-windres", "x86_64-w64-mingw32-gcc",
                  "i686-w64-mingw32-windres", "i686-w64-mingw32-gcc")
    subprocess.run([sys.executable,
                    os.path.join(ROOT, "tests", "fixtures", "pe", "mkfixtures.py"),
                    PE_FIXTURES], check=True)
    return PE_FIXTURES

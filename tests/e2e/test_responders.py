"""docs/responders.md cannot rot: every ```kql block of it runs, as written,
with `rmmhunt query` over a real agent's cache, and the /tmp queries find a
program this test runs from /tmp."""
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import RMMHUNT, ROOT

DOC = ROOT / "docs" / "responders.md"


def doc_queries():
    return re.findall(r"```kql\n(.*?)```", DOC.read_text(), re.DOTALL)


def query(agent, kql):
    result = subprocess.run([RMMHUNT, "query", "--state-dir", str(agent.state_dir),
                             "--format", "csv", kql], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"{kql}\n{result.stderr}"
    return result.stdout


def test_every_responders_query_runs_and_finds_a_tmp_program(agent):
    queries = doc_queries()
    assert len(queries) >= 8, "docs/responders.md lost its queries"
    tmp_queries = [kql for kql in queries if '"/tmp/"' in kql]
    new_queries = [kql for kql in queries if "FirstSeen > ago(1d)" in kql]
    assert tmp_queries and new_queries
    with tempfile.TemporaryDirectory(prefix="responders-", dir="/tmp") as directory:
        program = Path(directory) / "dropped-tool"
        # a copy of true with a tail of its own: a hash never seen before
        program.write_bytes(Path(shutil.which("true")).read_bytes() + os.urandom(32))
        program.chmod(0o755)
        subprocess.run([str(program)], check=True)
        found = agent.wait_for(lambda r: r["FolderPath"] == str(program))
        assert found, "the agent did not record the /tmp program"
        sha256 = found[0]["SHA256"]
        assert len(sha256) == 64
        deadline = time.monotonic() + 30
        while str(program) not in query(agent, tmp_queries[0]):
            assert time.monotonic() < deadline, "the /tmp query does not find it"
            time.sleep(0.3)
        assert sha256 in query(agent, new_queries[0])
    for kql in queries:
        query(agent, kql)

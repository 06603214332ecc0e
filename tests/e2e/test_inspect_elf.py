"""`rmmhunt inspect` on ELF files: GNU build-id, the .note.package note,
Go build info of a program built here with Debian's golang (main package
github.com/realvnc-labs/rport/cmd/rport, like RPort's Linux client), and
the owning Debian package (with /usr-merge aliasing)."""
import os
import re
import shutil
import struct
import subprocess

import pytest

from conftest import ROOT, inspect_one, require_tools

FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def readelf_build_id(path):
    notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    match = re.search(r"Build ID: ([0-9a-f]+)", notes)
    return match.group(1) if match else None


def dpkg_owner(path):
    result = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    return result.stdout.split(":")[0] if result.returncode == 0 else None


def test_system_binary_build_id_and_package():
    require_tools("readelf", "dpkg")
    real = os.path.realpath("/usr/bin/ls")
    record = inspect_one(real)
    assert record["type"] == "ELF"
    assert record["elf"]["machine"] in ("x86-64", "AArch64")
    assert record["elf"]["build_id"] == readelf_build_id(real)
    fields = record["additional_fields"]
    assert fields["ElfBuildId"] == readelf_build_id(real)
    owner = dpkg_owner("/bin/ls") or dpkg_owner("/usr/bin/ls")
    assert owner == "coreutils"
    assert fields["DebPackage"] == owner
    assert fields["DebPackageVersion"]
    # Windows fields are never invented for ELF.
    assert set(record["version_info"].values()) == {""}


def test_usr_merge_alias():
    """dpkg lists /bin/ls (coreutils was not moved yet) while the file is
    reached as /usr/bin/ls on a merged system, or the other way round."""
    if not os.path.islink("/bin"):
        pytest.skip("/bin is not a symlink: this system is not /usr-merged")
    for path in ("/bin/ls", "/usr/bin/ls"):
        assert inspect_one(path)["additional_fields"]["DebPackage"] == "coreutils", path


def test_package_note_and_unowned_file(tmp_path):
    require_tools("gcc")
    output = str(tmp_path / "hello")
    subprocess.run(["gcc", "-o", output, os.path.join(FIXTURES, "elf", "hello.c"),
                    os.path.join(FIXTURES, "elf", "note_package.S"),
                    "-Wl,--build-id=sha1"], check=True)
    record = inspect_one(output)
    note = record["elf"]["package_note"]
    assert note == {"type": "deb", "name": "rmmhunt-fixture", "version": "1.2-3",
                    "architecture": "amd64", "os": "debian", "osVersion": "12"}
    fields = record["additional_fields"]
    assert fields["ElfPackageNote"]["name"] == "rmmhunt-fixture"
    assert len(fields["ElfBuildId"]) == 40
    assert "DebPackage" not in fields
    assert "GoVersion" not in fields


@pytest.fixture(scope="module")
def go_rport(tmp_path_factory):
    """RPort-like Go program, built offline from tests/fixtures/go/rport
    inside a fresh git repository so that it carries VCS stamps."""
    require_tools("go", "git")
    work = tmp_path_factory.mktemp("go")
    source = work / "src"
    shutil.copytree(os.path.join(FIXTURES, "go", "rport"), source)
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off",
               GOCACHE=str(work / "cache"), GOPATH=str(work / "gopath"),
               HOME=str(work), CGO_ENABLED="0", GIT_AUTHOR_NAME="rmmhunt",
               GIT_AUTHOR_EMAIL="tests@rmmhunt.invalid", GIT_COMMITTER_NAME="rmmhunt",
               GIT_COMMITTER_EMAIL="tests@rmmhunt.invalid",
               GIT_AUTHOR_DATE="2024-01-02T03:04:05Z",
               GIT_COMMITTER_DATE="2024-01-02T03:04:05Z")
    git = ["git", "-c", "init.defaultBranch=main", "-C", str(source)]
    subprocess.run(git + ["init", "-q"], check=True, env=env)
    subprocess.run(git + ["add", "-A"], check=True, env=env)
    subprocess.run(git + ["commit", "-q", "-m", "fixture"], check=True, env=env)
    revision = subprocess.run(git + ["rev-parse", "HEAD"], check=True, env=env,
                              capture_output=True, text=True).stdout.strip()
    binary = str(work / "bin" / "rport")
    subprocess.run(["go", "build", "-o", binary, "./cmd/rport"], cwd=source, env=env,
                   check=True)
    go_version = subprocess.run(["go", "env", "GOVERSION"], env=env, capture_output=True,
                                text=True, check=True).stdout.strip()
    return binary, revision, go_version


def check_rport_fields(fields, revision, go_version):
    assert fields["GoMainPackage"] == "github.com/realvnc-labs/rport/cmd/rport"
    assert fields["GoMainPackage"].endswith("/cmd/rport")
    assert fields["GoModulePath"] == "github.com/realvnc-labs/rport"
    assert fields["GoModuleVersion"] == "(devel)"
    assert fields["GoVersion"] == go_version
    assert fields["GoVcs"] == "git"
    assert fields["GoVcsRevision"] == revision
    assert fields["GoVcsTime"] == "2024-01-02T03:04:05Z"
    assert fields["GoVcsModified"] == "false"


def test_go_rport_build_info(go_rport):
    binary, revision, go_version = go_rport
    record = inspect_one(binary)
    assert record["type"] == "ELF"
    go = record["elf"]["go"]
    assert go["format"] == "inline"
    assert go["settings"]["GOOS"] == "linux"
    check_rport_fields(record["additional_fields"], revision, go_version)
    assert set(record["version_info"].values()) == {""}


def test_go_build_info_without_section_headers(go_rport, tmp_path):
    """With the section header table gone, build info is found at the start
    of the data segment, as Go's own reader does."""
    binary, revision, go_version = go_rport
    with open(binary, "rb") as f:
        data = bytearray(f.read())
    assert data[4] == 2, "64-bit ELF expected"
    struct.pack_into("<Q", data, 0x28, 0)       # e_shoff
    struct.pack_into("<HH", data, 0x3C, 0, 0)   # e_shnum, e_shstrndx
    stripped = str(tmp_path / "rport-noshdr")
    with open(stripped, "wb") as f:
        f.write(data)
    check_rport_fields(inspect_one(stripped)["additional_fields"], revision, go_version)

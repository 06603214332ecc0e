"""Windows programs run on Linux: the real agent, the real probe, real Wine.

One throwaway HOME and WINEPREFIX serve every test of the session: the
prefix is created once (wineboot, with the agent watching, so Wine's own
helpers are recorded), and a persistent wineserver keeps later starts fast;
it is killed at the end.  Wine runs headless (no DISPLAY, WINEDEBUG=-all).
The PE fixtures come from tests/fixtures/pe (mkfixtures.py): rport.exe with
RPort's version strings, winparent.exe, a Windows program that starts
others.  binfmt_misc and the NTFS (ntfs-3g) volume need the kernel's
consent; each skips alone, with the reason, when refused (a failure under
CI=true)."""
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import RunningAgent, additional, require_tools, skip_or_fail

RPORT_STRINGS = {
    "ProcessVersionInfoCompanyName": "RealVNC Ltd",
    "ProcessVersionInfoProductName": "rport",
    "ProcessVersionInfoFileDescription": "rport windows client",
    "ProcessVersionInfoInternalFileName": "rport.exe",
    "ProcessVersionInfoOriginalFileName": "main.go",
}
LOADERS = ("/usr/lib/wine/wine64", "/usr/lib/wine/wine64-preloader")
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")


def dos(path):
    """The DOS path of a Linux path through drive Z: (Wine's default)."""
    return "Z:" + str(path).replace("/", "\\")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Wine:
    """The session's Wine: environment, prefix, persistent wineserver."""

    def __init__(self, root):
        self.root = Path(root)
        self.home = self.root / "home"
        self.prefix = self.home / "prefix"
        self.work = self.root / "work"
        self.runs = 0
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.home),
            "WINEPREFIX": str(self.prefix),
            "WINEDEBUG": "-all",
            # no Mono or Gecko installer dialogs: nobody is there to answer
            "WINEDLLOVERRIDES": "mscoree,mshtml=",
            # rport.exe stays up a while, as the real client does: its
            # environment and maps can be read while it runs
            "RPORT_FIXTURE_SLEEP_MS": "1000",
        }

    def start(self, *argv, cwd=None, env=None):
        """Start a program; its output goes to files, not pipes: Wine's
        helpers may inherit them and outlive it."""
        self.runs += 1
        out = self.root / ("run%d.out" % self.runs)
        err = self.root / ("run%d.err" % self.runs)
        with open(out, "wb") as out_file, open(err, "wb") as err_file:
            process = subprocess.Popen(list(argv), env=env or self.env,
                                       cwd=cwd or self.work, stdout=out_file,
                                       stderr=err_file)
        process.out_path, process.err_path = out, err
        return process

    def finish(self, process, timeout=120):
        """Wait for a started program: (exit status, stdout, stderr)."""
        status = process.wait(timeout=timeout)
        return status, process.out_path.read_bytes(), process.err_path.read_bytes()

    def call(self, *argv, timeout=120, **options):
        process = self.start(*argv, **options)
        status, out, err = self.finish(process, timeout)
        return process.pid, status, out, err

    def create(self):
        self.prefix.mkdir(parents=True)
        self.work.mkdir()
        # the persistent server first, so the prefix's helpers stay up (it
        # goes to the background: its output must not hold a pipe open)
        subprocess.run(["wineserver", "-p"], env=self.env, cwd=self.work,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60, check=True)
        _, status, _, err = self.call("wineboot", "--init", timeout=600)
        if status != 0 or not (self.prefix / "dosdevices").is_dir():
            raise AssertionError("wineboot --init failed: %s" %
                                 err.decode(errors="replace"))

    def stop(self):
        for option in ("-k", "-w"):  # kill, then wait until it is gone
            subprocess.run(["wineserver", option], env=self.env, timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def wine(agent, pe_fixtures):
    """A prefix and a persistent wineserver for every test here."""
    require_tools("wine", "wineserver", "wineboot")
    root = tempfile.mkdtemp(prefix="rmmhunt-wine-")
    session = Wine(root)
    try:
        session.create()
        for name in ("rport.exe", "winparent.exe", "vncviewer.exe"):
            shutil.copy(os.path.join(pe_fixtures, name), session.work / name)
        yield session
    finally:
        session.stop()
        shutil.rmtree(root, ignore_errors=True)


def write_marker(agent):
    marker = "rmmhunt-wine-settle-" + uuid.uuid4().hex
    subprocess.run(["/bin/true", marker], check=True)
    found = agent.wait_for(lambda r: r["ProcessCommandLine"] == "/bin/true " + marker)
    assert found, "the agent wrote no record for the marker exec"


def settle(agent, timeout=30):
    """Every record of what ran before this call has been written: the
    agent handles events in order, and a Wine row held for its chain is
    released once its process has exited and the worker's answer for it is
    back (status wine.held falls to 0); a last marker then passes every
    row released before it."""
    write_marker(agent)
    deadline = time.monotonic() + timeout
    while agent.fresh_status()["wine"]["held"] != 0:
        assert time.monotonic() < deadline, "Wine rows still held after %d s" % timeout
    write_marker(agent)


def records_of(agent, pid, since):
    """The records of pid written after the first since records: a pid
    alone is not enough, other processes on the host reuse pids."""
    return [r for r in agent.records()[since:] if r["ProcessId"] == pid]


def one_start(agent, wine, *argv, output=b""):
    """Run argv to its end; the one record its pid has: (pid, record)."""
    since = len(agent.records())
    pid, status, out, err = wine.call(*argv)
    assert status == 0 and output in out, err
    settle(agent)
    records = records_of(agent, pid, since)
    assert len(records) == 1, [r["FolderPath"] for r in records]
    return pid, records[0]


def check_rport_identity(record, path):
    for column, value in RPORT_STRINGS.items():
        assert record[column] == value, column
    assert record["SHA256"] == sha256(path)
    assert record["FileSize"] == os.path.getsize(path)
    assert additional(record)["HashStatus"] == "ok"


def test_wine_rport_is_one_record_with_the_windows_identity(agent, wine):
    exe = wine.work / "rport.exe"
    # /usr/bin/wine (script) -> wine64 -> wine64 (or its preloader): one start
    _, record = one_start(agent, wine, "wine", "rport.exe", "5000", "--client",
                          "two words", output=b"[two words]")
    assert record["FileName"] == "rport.exe"
    assert record["FolderPath"] == dos(exe)
    assert record["ProcessCommandLine"] == '"%s" 5000 --client "two words"' % dos(exe)
    check_rport_identity(record, exe)
    # the initiating process is what ran `wine`, not a loader step
    assert record["InitiatingProcessId"] == os.getpid()
    assert record["InitiatingProcessFileName"].startswith("python3")
    fields = additional(record)
    assert fields["WineLinuxPath"] == str(exe)
    assert fields["WinePrefix"] == str(wine.prefix)
    assert fields["WineLoader"] in LOADERS
    assert fields["WineRequestedProgram"] == "rport.exe"
    assert fields["WineLoaderChain"][0] == "/usr/bin/wine"
    assert fields["WineLoaderChain"][-1] in LOADERS
    assert fields["WineLoaderSteps"] == len(fields["WineLoaderChain"]) >= 2
    assert fields["WineBinfmt"] is False and fields["WineChild"] is False
    assert fields["WineImageMapped"] == "image"
    assert fields["WineMappedPath"] == str(exe)
    assert fields["ExecSequence"] == 1 and fields["ExecWithoutFork"] is False
    assert fields["FileType"] == "PE32+"


def test_long_lived_program_is_confirmed_from_maps(agent, wine):
    exe = wine.work / "winparent.exe"
    since = len(agent.records())
    process = wine.start("wine", str(exe), "sleep", "3000")
    found = agent.wait_for(lambda r: r["ProcessId"] == process.pid, timeout=60,
                           since=since)
    wine.finish(process)
    assert found, "no record for the running Windows program"
    record = found[0]
    fields = additional(record)
    assert fields["WineImageMapped"] == "image"
    assert fields["WineMappedPath"] == str(exe)
    assert record["FolderPath"] == dos(exe)
    assert record["ProcessCommandLine"] == '"%s" sleep 3000' % dos(exe)
    assert record["ProcessVersionInfoCompanyName"] == "rmmhunt tests"
    assert record["ProcessVersionInfoProductName"] == "winparent"


def test_windows_parent_starts_a_child_with_spaces_in_its_path(agent, wine):
    folder = wine.work / "my tools"
    folder.mkdir(exist_ok=True)
    child = folder / "my rport.exe"
    shutil.copy(wine.work / "rport.exe", child)
    parent = wine.work / "winparent.exe"
    command = '"%s" 5000 --client -c C:\\x.conf' % dos(child)
    since = len(agent.records())
    pid, status, out, err = wine.call("wine", "winparent.exe", "spawn", "--wait",
                                      "30000", command)
    assert status == 0, err
    assert out.startswith(b"child ")
    settle(agent)
    children = [r for r in agent.records() if r["FolderPath"] == dos(child)]
    assert len(children) == 1, children
    record = children[0]
    assert record["FileName"] == "my rport.exe"
    assert record["ProcessCommandLine"] == command
    check_rport_identity(record, child)
    fields = additional(record)
    assert fields["WineChild"] is True
    assert fields["WineRequestedProgram"] == dos(child)
    assert fields["WineLinuxPath"] == str(child)
    assert fields["WineLoaderChain"] == [fields["WineLoader"]]
    # the Windows parent, with its Windows identity, not Wine's middle fork
    parents = records_of(agent, pid, since)
    assert len(parents) == 1
    assert record["InitiatingProcessId"] == pid
    assert fields["WineForkIntermediateId"] not in (pid, record["ProcessId"])
    assert record["InitiatingProcessFileName"] == "winparent.exe"
    assert record["InitiatingProcessFolderPath"] == dos(parent)
    assert record["InitiatingProcessCommandLine"] == parents[0]["ProcessCommandLine"]
    assert record["InitiatingProcessSHA256"] == sha256(parent)
    assert record["InitiatingProcessVersionInfoCompanyName"] == "rmmhunt tests"
    assert record["InitiatingProcessVersionInfoProductName"] == "winparent"
    assert record["InitiatingProcessUniqueId"] == parents[0]["ProcessUniqueId"]
    assert record["InitiatingProcessParentId"] == os.getpid()


def wait_for_mapped(pid, name, timeout=60):
    """Until the process maps a file called name (Wine has loaded it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ("/" + name + "\n") in Path("/proc/%d/maps" % pid).read_text():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("%s was never mapped in %d" % (name, pid))


def test_windows_program_running_before_the_agent(wine, workdir):
    """An agent started later finds the running Windows program in its
    start-up scan: what that program starts names it, with its Windows
    identity."""
    go = wine.work / "go-after-scan"
    child = wine.work / "rport.exe"
    parent = wine.work / "winparent.exe"
    command = '"%s" scanned' % dos(child)
    process = wine.start("wine", "winparent.exe", "spawn", "--after", dos(go),
                         "--wait", "30000", command)
    late = None
    try:
        wait_for_mapped(process.pid, "winparent.exe")
        late = RunningAgent(workdir).start()
        go.touch()
        status, _, err = wine.finish(process)
        assert status == 0, err
        found = late.wait_for(lambda r: r["FolderPath"] == dos(child) and
                              r["ProcessCommandLine"] == command)
    finally:
        if late:
            late.stop()
        if process.poll() is None:
            process.kill()
    assert found, "the later agent wrote no record for the child"
    record = found[0]
    assert record["InitiatingProcessId"] == process.pid
    assert record["InitiatingProcessFileName"] == "winparent.exe"
    assert record["InitiatingProcessFolderPath"] == dos(parent)
    assert record["InitiatingProcessSHA256"] == sha256(parent)
    assert record["InitiatingProcessVersionInfoCompanyName"] == "rmmhunt tests"
    assert additional(record)["WineChild"] is True


def test_bare_name_goes_through_start_exe(agent, wine):
    # cmd stays up while rport.exe sleeps: a program that exits within a few
    # tens of milliseconds may exit before its maps are read, and its record
    # then shows the loader (docs/records.md, limits), which is not what
    # this test is about (`cmd /c exit 0` failed 2 runs of 3 here)
    _, start = one_start(agent, wine, "wine", "cmd", "/c", "rport.exe")
    assert start["FolderPath"] == "C:\\windows\\system32\\start.exe"
    assert start["ProcessCommandLine"] == \
        '"C:\\windows\\system32\\start.exe" /exec cmd /c rport.exe'
    assert additional(start)["WineStartExe"] is True
    # the second exec, start.exe's child, has the path start.exe found
    children = [r for r in agent.records()
                if r["InitiatingProcessUniqueId"] == start["ProcessUniqueId"]
                and r["FileName"] == "cmd.exe"]
    assert len(children) == 1
    assert children[0]["FolderPath"] == "C:\\windows\\system32\\cmd.exe"
    assert children[0]["ProcessCommandLine"] == \
        '"C:\\windows\\system32\\cmd.exe" /c rport.exe'
    assert children[0]["InitiatingProcessFileName"] == "start.exe"
    assert additional(children[0])["WineLinuxPath"] == \
        str(wine.prefix / "drive_c/windows/system32/cmd.exe")


def helper_record(agent, prefix, name):
    """The first record of one of Wine's helpers in the session's prefix."""
    path = "C:\\windows\\system32\\" + name
    found = agent.wait_for(lambda r: r["FolderPath"] == path and
                           additional(r).get("WinePrefix") == prefix, timeout=60)
    assert found, "no record for " + path
    return found[0]


def test_wine_helpers_have_records_and_version_info(agent, wine):
    """The prefix was created with the agent watching: wineboot and the
    helpers it starts are Windows programs like any other."""
    prefix = str(wine.prefix)
    helpers = {name: helper_record(agent, prefix, name)
               for name in ("wineboot.exe", "services.exe", "explorer.exe")}
    builtins = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/"
    for name, record in helpers.items():
        assert record["FileName"] == name
        fields = additional(record)
        assert fields["HashStatus"] == "ok"
        assert fields["WineChild"] is True
        # the placeholder in the prefix, or (while wineboot had not yet
        # written it) the builtin Wine maps instead
        assert fields["WineLinuxPath"] in (
            str(wine.prefix / "drive_c/windows/system32" / name), builtins + name)
        assert record["SHA256"] == sha256(fields["WineLinuxPath"])
    explorer = helpers["explorer.exe"]
    assert explorer["ProcessVersionInfoCompanyName"] == "Microsoft Corporation"
    assert explorer["ProcessVersionInfoProductName"] == "Wine"
    assert explorer["ProcessVersionInfoOriginalFileName"] == "explorer.exe"
    assert explorer["ProcessCommandLine"] == \
        '"C:\\windows\\system32\\explorer.exe" /desktop'
    # services.exe is started by wineboot: a Windows parent
    assert helpers["services.exe"]["InitiatingProcessFileName"] == "wineboot.exe"
    assert helpers["services.exe"]["InitiatingProcessFolderPath"] == \
        "C:\\windows\\system32\\wineboot.exe"


@pytest.fixture
def binfmt_wine():
    """A binfmt_misc entry of its own: files starting with MZ run through
    /usr/bin/wine (Debian's wine-binfmt entry, whatever else is registered:
    the kernel tries the newest entry first).  Mounts binfmt_misc if
    needed; both undone afterwards."""
    mounted = False
    if not (BINFMT_DIR / "register").exists():
        result = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc",
                                 str(BINFMT_DIR)], capture_output=True, text=True)
        if result.returncode != 0:
            skip_or_fail("the kernel refused to mount binfmt_misc: " + result.stderr.strip())
        mounted = True
    name = "rmmhunt-test-wine-%d" % os.getpid()
    try:
        (BINFMT_DIR / "register").write_text(":%s:M::MZ::/usr/bin/wine:\n" % name)
    except OSError as error:
        if mounted:
            subprocess.run(["umount", str(BINFMT_DIR)])
        skip_or_fail("the kernel refused a binfmt_misc entry: %s" % error)
    try:
        yield name
    finally:
        (BINFMT_DIR / name).write_text("-1\n")
        if mounted:
            subprocess.run(["umount", str(BINFMT_DIR)])


def test_binfmt_misc_exec_of_a_pe(agent, wine, binfmt_wine):
    exe = wine.work / "direct.exe"
    payload = wine.work / "payload"  # no extension: recognised by content
    for path in (exe, payload):
        shutil.copy(wine.work / "rport.exe", path)
        path.chmod(0o755)
    for path, argument in ((exe, "./direct.exe"), (payload, "./payload")):
        _, record = one_start(agent, wine, argument, "via", "binfmt",
                              output=b"[via] [binfmt]")
        assert record["FileName"] == path.name
        assert record["FolderPath"] == dos(path)
        assert record["ProcessCommandLine"] == '"%s" via binfmt' % dos(path)
        check_rport_identity(record, path)
        fields = additional(record)
        assert fields["WineBinfmt"] is True
        assert fields["WineRequestedProgram"] == argument
        assert fields["WineLoaderChain"][0] == "/usr/bin/wine"


@pytest.fixture
def ntfs_volume(wine):
    """A real NTFS volume (mkntfs), mounted with ntfs-3g (FUSE), holding
    Program Files/rport/rport.exe, and drive D: of the prefix pointing at it."""
    require_tools("mkntfs", "ntfs-3g")
    volume_dir = Path(tempfile.mkdtemp(prefix="ntfs-", dir=wine.root))
    image = volume_dir / "ntfs.img"
    mountpoint = volume_dir / "mnt"
    mountpoint.mkdir()
    with open(image, "wb") as volume:
        volume.truncate(16 * 1024 * 1024)
    subprocess.run(["mkntfs", "-F", "-q", "-f", str(image)], check=True,
                   capture_output=True)
    # ntfs-3g stays as a daemon: no pipes for it to hold
    _, status, _, err = wine.call("ntfs-3g", str(image), str(mountpoint), timeout=60)
    if status != 0:
        skip_or_fail("ntfs-3g could not mount the volume (FUSE refused?): " +
                     err.decode(errors="replace").strip())
    drive = wine.prefix / "dosdevices" / "d:"
    try:
        folder = mountpoint / "Program Files" / "rport"
        folder.mkdir(parents=True)
        shutil.copy(wine.work / "rport.exe", folder / "rport.exe")
        drive.symlink_to(mountpoint)
        yield folder / "rport.exe"
    finally:
        if drive.is_symlink():
            drive.unlink()
        for attempt in range(50):
            if subprocess.run(["umount", str(mountpoint)]).returncode == 0:
                break
            time.sleep(0.1)


def test_exe_on_an_ntfs_volume(agent, wine, ntfs_volume):
    windows_path = "D:\\Program Files\\rport\\rport.exe"
    assert subprocess.run(["stat", "-f", "-c", "%T", str(ntfs_volume)],
                          capture_output=True, text=True).stdout.strip() in ("fuseblk", "fuse")
    for requested in (windows_path, str(ntfs_volume)):
        _, record = one_start(agent, wine, "wine", requested, "from", "ntfs",
                              output=b"[from] [ntfs]")
        # the deepest drive holding the file: D:, not Z:
        assert record["FolderPath"] == windows_path, requested
        assert record["FileName"] == "rport.exe"
        check_rport_identity(record, ntfs_volume)
        fields = additional(record)
        assert fields["WineLinuxPath"] == str(ntfs_volume)
        assert fields["WineRequestedProgram"] == requested


def test_binfmt_misc_exec_on_an_ntfs_volume(agent, wine, ntfs_volume, binfmt_wine):
    _, record = one_start(agent, wine, str(ntfs_volume), "direct", output=b"[direct]")
    assert record["FolderPath"] == "D:\\Program Files\\rport\\rport.exe"
    assert record["ProcessCommandLine"] == \
        '"D:\\Program Files\\rport\\rport.exe" direct'
    check_rport_identity(record, ntfs_volume)
    assert additional(record)["WineBinfmt"] is True

"""The Debian packages, installed on this machine the way a fleet host installs
them (issue 10).

`make deb` twice (the version built and a higher one), lintian without
errors, then with dpkg on this host, in one ordered scenario:

  install both packages -> the files on their FHS paths, the conffiles, the
  collector's user and secrets (nothing secret world-readable), the units
  accepted by systemd-analyze verify, the shipped configs valid, a
  misspelled key rejected with its file, line and key, man pages rendering;
  run the installed collector as its user and the installed agent with the
  unit's command line and capability bounding set (CI has no systemd as
  PID 1): an exec recorded, a local rule replacing a bundled one by id,
  SIGHUP (systemctl reload) reloading the rules, CapEff the reduced set,
  the exec shipped to the collector;
  upgrade -> config edits, ReportId counter, cache, enrollment, secrets and
  the collector's store kept, new ReportIds above the old ones;
  remove -> state kept; purge -> state, secrets and config gone.

Installing into / is shared with anything else running here: the scenario
holds an exclusive flock for its whole length, refuses to run over an
rmmhunt install it did not make, and purges what it installed at the end.
"""
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, IN_CI, require_root, require_tools

PACKAGES = ("rmmhunt-agent", "rmmhunt-collector")
BASE_VERSION = re.search(r'RMMHUNT_VERSION "([^"]+)"',
                         (ROOT / "lib/base/version.h").read_text()).group(1)
OLD_VERSION = BASE_VERSION + "+pkgtest1"
NEW_VERSION = BASE_VERSION + "+pkgtest2"
LOCK_PATH = "/run/lock/rmmhunt-packaging-test.lock"
KEPT_CAPABILITIES = (1 << 2) | (1 << 19)  # CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE
UNIT_DIR = Path("/lib/systemd/system")
STATE = Path("/var/lib/rmmhunt")
COLLECTOR_STATE = Path("/var/lib/rmmhunt-collector")
SECRETS = Path("/etc/rmmhunt/collector")
OVERRIDDEN_RULE = ROOT / "rules" / "linux_rport_client.yaml"


def run(command, check=True, timeout=300, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{command} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def dpkg(*arguments):
    """dpkg, waiting for its lock when apt or another dpkg holds it."""
    deadline = time.monotonic() + 120
    while True:
        result = run(["dpkg", "--force-confold", *arguments], check=False)
        locked = "lock" in result.stderr and "locked" in result.stderr
        if not locked or time.monotonic() > deadline:
            break
        time.sleep(1)
    if result.returncode != 0:
        raise AssertionError(f"dpkg {arguments} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def installed_version(package):
    result = run(["dpkg-query", "-W", "-f=${Status} ${Version}", package], check=False)
    if result.returncode != 0 or "installed" not in result.stdout.split(" ")[2:3]:
        return None
    return result.stdout.split()[-1]


def debs(version):
    return [BUILD / "deb" / f"{package}_{version}_amd64.deb" for package in PACKAGES]


def unit_setting(unit, key):
    """The values of key in the installed unit, in order."""
    values = []
    for line in (UNIT_DIR / unit).read_text().splitlines():
        if line.startswith(key + "="):
            values.append(line.split("=", 1)[1].strip())
    return values


def unit_sandbox(unit):
    """setpriv arguments for the unit's bounding set and NoNewPrivileges."""
    bounding = " ".join(unit_setting(unit, "CapabilityBoundingSet")).split()
    caps = ",".join("+" + cap.lower().removeprefix("cap_") for cap in bounding)
    arguments = ["setpriv", "--bounding-set", "-all" + ("," + caps if caps else "")]
    if unit_setting(unit, "NoNewPrivileges") == ["yes"]:
        arguments.append("--no-new-privs")
    return arguments


def status_field(pid, name):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split()[1]
    raise AssertionError(name)


def capability_mask(names):
    numbers = {"CAP_DAC_READ_SEARCH": 2, "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21,
               "CAP_PERFMON": 38, "CAP_BPF": 39}
    mask = 0
    for name in names:
        mask |= 1 << numbers[name]
    return mask


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Daemon:
    """A program started with a command line, waited on for a log line."""

    def __init__(self, command, log_path, ready):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 60
        while ready not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"{command} did not start: {self.text()}")
            time.sleep(0.05)

    def text(self):
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, words, timeout=30):
        deadline = time.monotonic() + timeout
        while words not in self.text():
            assert time.monotonic() < deadline, f"no '{words}' in: {self.text()}"
            time.sleep(0.05)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def query_cache(kql):
    result = run(["/usr/bin/rmmhunt", "query", "--format", "json", kql])
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def wait_for_rows(kql, timeout=30, query=query_cache):
    deadline = time.monotonic() + timeout
    while True:
        rows = query(kql)
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Both versions built; the host to ourselves (flock); purged at the end."""
    require_root()
    require_tools("dpkg-buildpackage", "dh", "lintian", "help2man", "man", "setpriv",
                  "systemd-analyze")
    lock = open(LOCK_PATH, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        for package in PACKAGES:
            version = installed_version(package)
            if version and "+pkgtest" not in version:
                message = f"{package} {version} is installed on this host: not touching it"
                if IN_CI:
                    pytest.fail(message)
                pytest.skip(message)
        for version in (OLD_VERSION, NEW_VERSION):
            run(["make", "-C", str(ROOT), "--no-print-directory", "deb",
                 f"DEB_VERSION={version}"], timeout=900)
        yield tmp_path_factory.mktemp("packaging")
    finally:
        if any(installed_version(package) for package in PACKAGES):
            dpkg("--purge", *PACKAGES)
        for path in (STATE, COLLECTOR_STATE, SECRETS):
            shutil.rmtree(path, ignore_errors=True)
        lock.close()


def test_lintian_has_no_errors(packages):
    changes = BUILD / "deb" / f"rmmhunt_{NEW_VERSION}_amd64.changes"
    result = run(["lintian", "--fail-on", "error", "--suppress-tags",
                  "bogus-mail-host", str(changes)], check=False)
    errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
    assert result.returncode == 0 and not errors, result.stdout + result.stderr


def check_files_and_modes():
    for path in ("/usr/sbin/rmmhunt-agent", "/usr/sbin/rmmhunt-collector", "/usr/bin/rmmhunt",
                 "/etc/rmmhunt/agent.conf", "/etc/rmmhunt/collector.conf",
                 "/usr/share/rmmhunt/rules/linux_rport_client.yaml",
                 "/usr/share/man/man1/rmmhunt.1.gz", "/usr/share/man/man8/rmmhunt-agent.8.gz",
                 "/usr/share/man/man8/rmmhunt-collector.8.gz",
                 "/lib/systemd/system/rmmhunt-agent.service",
                 "/lib/systemd/system/rmmhunt-collector.service"):
        assert Path(path).exists(), path
    assert Path("/etc/rmmhunt/rules.d").is_dir()
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}\n", *PACKAGES]).stdout
    for path in ("/etc/rmmhunt/agent.conf", "/etc/rmmhunt/collector.conf"):
        assert path in conffiles, conffiles
    user = run(["getent", "passwd", "rmmhunt-collector"]).stdout.split(":")
    assert int(user[2]) < 1000 and user[6].strip() in ("/usr/sbin/nologin", "/bin/false")
    uid, gid = int(user[2]), int(user[3])
    assert (COLLECTOR_STATE.stat().st_uid, COLLECTOR_STATE.stat().st_gid) == (uid, gid)
    assert COLLECTOR_STATE.stat().st_mode & 0o007 == 0
    assert SECRETS.stat().st_mode & 0o777 == 0o750 and SECRETS.stat().st_gid == gid
    for name in ("enroll-secret", "analyst-tokens", "server.key"):
        status = (SECRETS / name).stat()
        assert status.st_mode & 0o777 == 0o640, name  # never world-readable
        assert (status.st_uid, status.st_gid) == (0, gid), name


def check_units_verify():
    units = [str(UNIT_DIR / unit) for unit in ("rmmhunt-agent.service",
                                               "rmmhunt-collector.service")]
    result = run(["systemd-analyze", "verify", *units], check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for unit in units:
        assert unit_setting(Path(unit).name, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert unit_setting("rmmhunt-collector.service", "User") == ["rmmhunt-collector"]
    assert unit_setting("rmmhunt-collector.service", "CapabilityBoundingSet") == [""]
    # the exposure scores docs/operations.md states are the units' own
    operations = (ROOT / "docs" / "operations.md").read_text()
    for unit in units:
        result = run(["systemd-analyze", "security", "--offline=true", unit])
        score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout).group(1)
        assert f"| `{Path(unit).name}` | {score} " in operations, (unit, score)


def documented_keys(program, config):
    """The long options of --help, and the keys the shipped file lists."""
    help_text = run([program, "--help"]).stdout
    options = set(re.findall(r"^\s+--([a-z][a-z-]+)", help_text, re.MULTILINE))
    options |= set(re.findall(r",\s+--([a-z][a-z-]+)", help_text))
    options -= {"config", "check-config", "help"}
    listed = set(re.findall(r"^#?([a-z][a-z-]+) = ", Path(config).read_text(), re.MULTILINE))
    return options, listed


def check_configs(workdir):
    operations = (ROOT / "docs" / "operations.md").read_text()
    for program, config, wrong, wrong_value in (
            ("/usr/sbin/rmmhunt-agent", "/etc/rmmhunt/agent.conf", "stats-intervall", "5"),
            ("/usr/sbin/rmmhunt-collector", "/etc/rmmhunt/collector.conf", "max-bodi", "4M")):
        result = run([program, "--config", config, "--check-config"], check=False)
        assert result.returncode == 0, result.stderr
        options, listed = documented_keys(program, config)
        assert options == listed, (program, options ^ listed)
        for key in options:  # docs/operations.md documents every key
            assert f"| `{key}` |" in operations, key
        # each default shown commented out is a valid value of its key
        for line in Path(config).read_text().splitlines():
            match = re.match(r"^#([a-z][a-z-]+ = ([^/h].*))$", line)
            if match:
                single = workdir / "single.conf"
                single.write_text(Path(config).read_text() + match.group(1) + "\n")
                result = run([program, "--config", str(single), "--check-config"], check=False)
                assert result.returncode == 0, (line, result.stderr)
        # a misspelled key: non-zero, naming the file, the line and the key
        lines = Path(config).read_text().splitlines()
        bad = workdir / "bad.conf"
        bad.write_text("\n".join(lines + [f"{wrong} = {wrong_value}"]) + "\n")
        result = run([program, "--config", str(bad), "--check-config"], check=False)
        assert result.returncode != 0
        assert f"{bad}:{len(lines) + 1}: unknown key '{wrong}'" in result.stderr, result.stderr
        # the daemon itself, not only --check-config, refuses to start
        result = run([program, "--config", str(bad)], check=False, timeout=30)
        assert result.returncode != 0 and f"unknown key '{wrong}'" in result.stderr


def check_man_pages():
    for page, words in (("rmmhunt", "rmmhunt query"), ("rmmhunt-agent", "--check-config"),
                        ("rmmhunt-collector", "--enroll-secret-file")):
        result = run(["man", "-P", "cat", page], env={**os.environ, "MANWIDTH": "80"})
        text = re.sub(r".\x08", "", result.stdout)
        assert words in text and "FILES" in text and "SEE ALSO" in text, (page, text[:500])
        if page != "rmmhunt":
            assert "CONFIGURATION" in text, page


def start_collector(workdir):
    port_file = COLLECTOR_STATE / "test.port"
    port_file.unlink(missing_ok=True)
    command = shlex.split(unit_setting("rmmhunt-collector.service", "ExecStart")[0])
    collector = Daemon(
        [*unit_sandbox("rmmhunt-collector.service"), "--reuid=rmmhunt-collector",
         "--regid=rmmhunt-collector", "--init-groups", "--",
         *command, "--listen", "127.0.0.1:0", "--port-file", str(port_file)],
        workdir / "collector.log", "listening on")
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        assert time.monotonic() < deadline, collector.text()
        time.sleep(0.05)
    assert status_field(collector.process.pid, "CapEff") == "0000000000000000"
    return collector, f"https://127.0.0.1:{port_file.read_text().strip()}"


def start_agent(workdir, name):
    command = shlex.split(unit_setting("rmmhunt-agent.service", "ExecStart")[0])
    return Daemon([*unit_sandbox("rmmhunt-agent.service"), "--", *command],
                  workdir / name, "watching execs")


def fleet_query(url):
    def query(kql):
        result = run(["/usr/bin/rmmhunt", "query", "--collector", url, "--token-file",
                      str(SECRETS / "analyst-tokens"), "--ca-file", str(SECRETS / "server.pem"),
                      "--format", "json", kql], check=False)
        if result.returncode != 0:
            return []
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return query


def override_rule(marker):
    """A local rule with the bundled RPort rule's id, matching the marker."""
    rule_id = re.search(r"^id: (\S+)", OVERRIDDEN_RULE.read_text(), re.MULTILINE).group(1)
    Path("/etc/rmmhunt/rules.d/rport-local.yaml").write_text(
        f"id: {rule_id}\nname: RPort, this host's version\ntactics: CommandAndControl\n"
        f"relevantTechniques: T1219\nquery: |\n  DeviceProcessEvents\n"
        f"  | where ProcessCommandLine has '{marker}' and FileName =~ 'true'\n")
    return rule_id


def run_fleet_host(workdir, marker):
    """The installed collector and agent; one exec shipped.  Its ReportId."""
    collector, url = start_collector(workdir)
    try:
        with open("/etc/rmmhunt/agent.conf", "a") as config:  # an admin's edit
            config.write(f"\n# added by the test\ncollector = {url}\n"
                         f"enroll-secret-file = {SECRETS / 'enroll-secret'}\n"
                         f"ca-file = {SECRETS / 'server.pem'}\n")
        rule_id = override_rule(marker)
        agent = start_agent(workdir, "agent.log")
        try:
            pid = agent.process.pid
            bounding = " ".join(unit_setting("rmmhunt-agent.service",
                                             "CapabilityBoundingSet")).split()
            assert int(status_field(pid, "CapEff"), 16) == KEPT_CAPABILITIES
            assert int(status_field(pid, "CapPrm"), 16) == KEPT_CAPABILITIES
            assert int(status_field(pid, "CapInh"), 16) == 0
            assert int(status_field(pid, "CapBnd"), 16) & ~capability_mask(bounding) == 0
            assert status_field(pid, "NoNewPrivs") == "1"
            assert "1 replaced by a later path's" in agent.text()
            subprocess.run(["true", marker], check=True)
            rows = wait_for_rows(f"DeviceProcessEvents | where ProcessCommandLine has "
                                 f"'{marker}' and FileName == 'true' | project ReportId, SHA256")
            assert len(rows) == 1 and len(rows[0]["SHA256"]) == 64, rows
            hits = wait_for_rows(f"RuleHits | where ProcessCommandLine has '{marker}' "
                                 f"| project RuleId")
            assert hits == [{"RuleId": rule_id}]
            # systemctl reload: SIGHUP reloads the rules, the agent goes on
            agent.process.send_signal(signal.SIGHUP)
            agent.wait_for_log("SIGHUP: reloading rules")
            deadline = time.monotonic() + 30
            while agent.text().count("1 replaced by a later path's") < 2:
                assert time.monotonic() < deadline, agent.text()
                time.sleep(0.05)
            assert agent.process.poll() is None
            shipped = wait_for_rows(f"DeviceProcessEvents | where ProcessCommandLine has "
                                    f"'{marker}' and FileName == 'true' | project ReportId",
                                    timeout=60,
                                    query=fleet_query(url))
            assert shipped == [{"ReportId": rows[0]["ReportId"]}], collector.text()
        finally:
            assert agent.stop() == 0, agent.text()
    finally:
        collector.stop()
    return rows[0]["ReportId"]


KEPT_FILES = (STATE / "reportid", STATE / "cache.db", STATE / "enrollment.json",
              SECRETS / "enroll-secret", SECRETS / "analyst-tokens", SECRETS / "server.key",
              COLLECTOR_STATE / "collector.db")


def test_install_run_upgrade_purge(packages):
    workdir = packages
    dpkg("-i", *map(str, debs(OLD_VERSION)))
    check_files_and_modes()
    check_units_verify()
    check_configs(workdir)
    check_man_pages()
    marker = f"pkgtest{time.monotonic_ns()}"
    first_report_id = run_fleet_host(workdir, marker)

    before = {path: sha256(path) for path in KEPT_FILES[3:]}
    for path in KEPT_FILES:
        assert path.exists(), path
    edited = Path("/etc/rmmhunt/agent.conf").read_text()
    enrollment = (STATE / "enrollment.json").read_text()
    dpkg("-i", *map(str, debs(NEW_VERSION)))
    assert installed_version("rmmhunt-agent") == NEW_VERSION
    assert Path("/etc/rmmhunt/agent.conf").read_text() == edited  # the admin's edit
    assert (STATE / "enrollment.json").read_text() == enrollment
    assert {path: sha256(path) for path in KEPT_FILES[3:]} == before
    assert query_cache(f"DeviceProcessEvents | where ProcessCommandLine has '{marker}' "
                       f"and FileName == 'true' | project ReportId") == \
        [{"ReportId": first_report_id}]
    # the counter goes on where it was
    agent = start_agent(workdir, "agent2.log")
    try:
        second = marker + "b"
        subprocess.run(["true", second], check=True)
        rows = wait_for_rows(f"DeviceProcessEvents | where ProcessCommandLine has "
                             f"'{second}' and FileName == 'true' | project ReportId")
    finally:
        agent.stop()
    assert rows and rows[0]["ReportId"] > first_report_id

    dpkg("-r", *PACKAGES)  # remove: config and state stay
    assert not Path("/usr/sbin/rmmhunt-agent").exists()
    for path in (STATE / "reportid", STATE / "cache.db", COLLECTOR_STATE / "collector.db",
                 SECRETS / "enroll-secret", Path("/etc/rmmhunt/agent.conf")):
        assert path.exists(), path
    dpkg("--purge", *PACKAGES)  # purge: gone
    for path in (STATE, COLLECTOR_STATE, SECRETS, Path("/etc/rmmhunt")):
        assert not path.exists(), path

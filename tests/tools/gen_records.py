#!/usr/bin/python3
"""gen_records.py - realistic DeviceProcessEvents records for tests and benchmarks.

Writes N records as NDJSON, one JSON object per line, exactly as the agent
writes them (docs/records.md): the 68 columns of Microsoft Defender's
DeviceProcessEvents table in the table's order, strings never null,
datetimes as 2026-11-28T16:14:40.1234567Z, AdditionalFields a JSON object
in a string with the agent's Linux keys (and the binary-identity keys of
docs/binary-identity.md: FileType, ElfBuildId, GoMainPackage, ...).

What the records describe: a small Linux fleet (--devices hosts with roles:
web, database, CI runner, Kubernetes node, workstation) over --span-days days
ending at --end (default: now).  Each host has systemd, sshd, cron, its own
daemons, and runs scenarios that produce whole process trees with consistent
lineage: cron jobs, systemd timers (apt, logrotate, sysstat), monitoring
checks, interactive SSH sessions (sudo, git, curl, wget, vim, python), builds
(make, gcc, cc1, as, ld), containers (containerd-shim, runc's memfd clone,
entrypoints in their own namespaces and cgroups), Wine sessions.  Hashes,
sizes and inodes are consistent per binary; pids, ReportIds and creation
times increase per host; an initiating process is a process that was itself
recorded (or found at start-up, like the daemons).

A fraction of the records (--rmm-fraction) are remote-management tools that
the rule pack in rules/ finds: every Windows RMM tool of the Sentinel catalog
run under Wine with its version info (RPort: 'RealVNC Ltd' / 'rport'), the
OpenRport Windows client, the Linux RPort client (Go build info, package
path, service command lines), DWAgent on Linux.  Another fraction
(--near-miss-fraction) are near-misses that must not hit the rule they
resemble: RealVNC's vncviewer, the RPort server rportd (ELF and a PE whose
product is 'rportd'), editors and package managers touching
/etc/rport/rport.conf, chisel with --fingerprint/--auth, downloads of RMM
installers with curl.  RMM profiles are drawn in shuffled rounds, so every
profile appears once before any appears twice.

Deterministic: the same --seed and --end give byte-identical output.
Standard library only.  Run with /usr/bin/python3 (any Python >= 3.9).
"""

import argparse
import calendar
import hashlib
import json
import random
import sys
import time
from json.encoder import encode_basestring

# ---------------------------------------------------------------------------
# The table: DeviceProcessEvents, 68 columns in order (lib/model/schema.h).

COLUMNS = (
    "Timestamp", "DeviceId", "DeviceName", "ActionType", "FileName", "FolderPath",
    "SHA1", "SHA256", "MD5", "FileSize",
    "ProcessVersionInfoCompanyName", "ProcessVersionInfoProductName",
    "ProcessVersionInfoProductVersion", "ProcessVersionInfoInternalFileName",
    "ProcessVersionInfoOriginalFileName", "ProcessVersionInfoFileDescription",
    "ProcessId", "ProcessCommandLine", "ProcessIntegrityLevel", "ProcessTokenElevation",
    "ProcessCreationTime", "AccountDomain", "AccountName", "AccountSid", "AccountUpn",
    "AccountObjectId", "LogonId", "InitiatingProcessAccountDomain",
    "InitiatingProcessAccountName", "InitiatingProcessAccountSid",
    "InitiatingProcessAccountUpn", "InitiatingProcessAccountObjectId",
    "InitiatingProcessLogonId", "InitiatingProcessIntegrityLevel",
    "InitiatingProcessTokenElevation", "InitiatingProcessSHA1", "InitiatingProcessSHA256",
    "InitiatingProcessMD5", "InitiatingProcessFileName", "InitiatingProcessFileSize",
    "InitiatingProcessVersionInfoCompanyName", "InitiatingProcessVersionInfoProductName",
    "InitiatingProcessVersionInfoProductVersion",
    "InitiatingProcessVersionInfoInternalFileName",
    "InitiatingProcessVersionInfoOriginalFileName",
    "InitiatingProcessVersionInfoFileDescription", "InitiatingProcessId",
    "InitiatingProcessCommandLine", "InitiatingProcessCreationTime",
    "InitiatingProcessFolderPath", "InitiatingProcessParentId",
    "InitiatingProcessParentFileName", "InitiatingProcessParentCreationTime",
    "InitiatingProcessSignerType", "InitiatingProcessSignatureStatus", "ReportId",
    "AppGuardContainerId", "AdditionalFields", "InitiatingProcessSessionId",
    "IsInitiatingProcessRemoteSession", "InitiatingProcessRemoteSessionDeviceName",
    "InitiatingProcessRemoteSessionIP", "CreatedProcessSessionId", "IsProcessRemoteSession",
    "ProcessRemoteSessionDeviceName", "ProcessRemoteSessionIP", "ProcessUniqueId",
    "InitiatingProcessUniqueId",
)

TICKS_PER_SECOND = 10_000_000
TICKS_PER_MS = 10_000
EPOCH_TEXT_CACHE = {}
PID_MAX = 4_194_304

# Host namespaces as Debian 12 numbers them.
HOST_NAMESPACES = (4026531836, 4026531832, 4026531840)


# A JSON string literal, UTF-8 kept as is (the C encoder of the json module).
js = encode_basestring


def inner(text):
    """text as it appears inside a JSON string literal: AdditionalFields is
    JSON inside a JSON string, and is assembled already escaped."""
    return js(text)[1:-1]


_DOUBLE = {}


def js2(text):
    """A JSON string literal inside AdditionalFields, escaped once more; the
    same few thousand values recur (cwd, Filename, Comm), so they are kept."""
    value = _DOUBLE.get(text)
    if value is None:
        if len(_DOUBLE) > 100_000:
            _DOUBLE.clear()
        value = _DOUBLE[text] = inner(js(text))
    return value


def opt(number):
    """A JSON long or null."""
    return "null" if number is None else str(number)


def datetime_text(ticks):
    """100 ns ticks since the epoch -> 2026-11-28T16:14:40.1234567Z."""
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    prefix = EPOCH_TEXT_CACHE.get(seconds)
    if prefix is None:
        if len(EPOCH_TEXT_CACHE) > 4096:
            EPOCH_TEXT_CACHE.clear()
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        EPOCH_TEXT_CACHE[seconds] = prefix
    return "%s.%07dZ" % (prefix, fraction)


def parse_end(text):
    """--end: 'now', or UTC 'YYYY-MM-DDTHH:MM:SS[.fffffff][Z]' -> ticks."""
    if text == "now":
        return time.time_ns() // 100
    body = text.rstrip("Z")
    whole, _, fraction = body.partition(".")
    try:
        moment = time.strptime(whole, "%Y-%m-%dT%H:%M:%S")
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--end {text!r}: {error}") from None
    if fraction and (not fraction.isdigit() or len(fraction) > 7):
        raise argparse.ArgumentTypeError(f"--end {text!r}: bad fraction")
    ticks = calendar.timegm(moment) * TICKS_PER_SECOND
    return ticks + int(fraction.ljust(7, "0")) if fraction else ticks


def digest(kind, *parts):
    """A stable hex digest of parts (hashlib: independent of PYTHONHASHSEED)."""
    data = "\0".join(str(part) for part in parts).encode()
    return hashlib.new(kind, b"gen_records\0" + data).hexdigest()


_ARGV = {}


def argv_facts(argv):
    """(ProcessCommandLine, argv bytes) of an argv, remembered: most recur."""
    key = tuple(argv)
    facts = _ARGV.get(key)
    if facts is None:
        if len(_ARGV) > 100_000:
            _ARGV.clear()
        facts = _ARGV[key] = (quote_argv(argv), sum(len(arg.encode()) + 1 for arg in argv))
    return facts


def quote_argv(argv):
    """The agent's ProcessCommandLine for an argv (docs/records.md)."""
    words = []
    for arg in argv:
        if arg == "" or any(c in arg for c in ' \t\n"'):
            words.append('"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            words.append(arg)
    return " ".join(words)


# ---------------------------------------------------------------------------
# Binaries: one object per file, with its hashes, size and identity facts.

class Binary:
    """A file that runs: its columns (FileName..FileDescription) are fixed."""

    def __init__(self, path, size, package="", version="", pe=None, go=None,
                 memfd=False, windows_path=None, wine_prefix_path=None, static=False,
                 hash_key=None):
        self.path = windows_path or path
        self.linux_path = path
        sep = "\\" if windows_path else "/"
        # a memfd runs as /memfd:NAME, and its FileName is memfd:NAME
        self.name = path[1:] if memfd else self.path.rsplit(sep, 1)[-1]
        self.size = size
        self.memfd = memfd
        self.is_pe = pe is not None or windows_path is not None
        seed = (hash_key or path, version, size)
        self.sha1 = digest("sha1", "file", *seed)
        self.sha256 = digest("sha256", "file", *seed)
        self.md5 = digest("md5", "file", *seed)
        version_info = pe["strings"] if pe else ("", "", "", "", "", "")
        self.version_info = version_info
        fields = [("FileName", self.name), ("FolderPath", self.path),
                  ("SHA1", self.sha1), ("SHA256", self.sha256), ("MD5", self.md5)]
        tail = ',"FileSize":%d,%s,' % (size, ",".join(
            '"ProcessVersionInfo%s":%s' % (key, js(value)) for key, value in zip(
                ("CompanyName", "ProductName", "ProductVersion", "InternalFileName",
                 "OriginalFileName", "FileDescription"), version_info)))
        self.fragment = ",".join('"%s":%s' % (k, js(v)) for k, v in fields) + tail
        blank = fields[:2] + [("SHA1", ""), ("SHA256", ""), ("MD5", "")]
        self.fragment_unhashed = ",".join('"%s":%s' % (k, js(v)) for k, v in blank) + tail
        init_fields = [("SHA1", self.sha1), ("SHA256", self.sha256), ("MD5", self.md5),
                       ("FileName", self.name)]
        self.initiating_fragment = ",".join(
            '"InitiatingProcess%s":%s' % (k, js(v)) for k, v in init_fields) + (
            ',"InitiatingProcessFileSize":%d,%s,' % (size, ",".join(
                '"InitiatingProcessVersionInfo%s":%s' % (key, js(value)) for key, value in zip(
                    ("CompanyName", "ProductName", "ProductVersion", "InternalFileName",
                     "OriginalFileName", "FileDescription"), version_info))))
        self.identity = inner(self._identity(package, version, pe, go, static))
        self.mtime = 1_600_000_000 * TICKS_PER_SECOND + (
            int(self.sha1[:8], 16) % (3 * 365 * 86400)) * TICKS_PER_SECOND
        self.wine_prefix_path = wine_prefix_path

    def _identity(self, package, version, pe, go, static):
        """The binary-identity AdditionalFields keys, as a ',"k":v...' fragment."""
        facts = {}
        if self.is_pe:
            facts["FileType"] = pe["type"] if pe else "PE32+"
            facts["PeMachine"] = "i386" if facts["FileType"] == "PE32" else "x86-64"
            if pe and pe["strings"][2]:
                facts["pe_file_version"] = pe["file_version"]
                facts["pe_product_version"] = pe["file_version"]
                facts["pe_version_language"] = 1033
                facts["pe_version_table"] = "040904b0"
                facts["pe_version_choice"] = "translation"
        elif not self.memfd:
            facts["FileType"] = "ELF"
            facts["ElfMachine"] = "x86-64"
            facts["ElfBuildId"] = digest("sha1", "build-id", self.linux_path, version)
            if not static and not go:
                facts["ElfInterpreter"] = "/lib64/ld-linux-x86-64.so.2"
            if go:
                facts["GoVersion"] = go["go"]
                facts["GoMainPackage"] = go["main"]
                facts["GoModulePath"] = go["module"]
                facts["GoModuleVersion"] = go.get("version", "(devel)")
                if "revision" in go:
                    facts["GoVcs"] = "git"
                    facts["GoVcsRevision"] = go["revision"]
                    facts["GoVcsTime"] = go["vcs_time"]
                    facts["GoVcsModified"] = "false"
            if package:
                facts["DebPackage"] = package
                facts["DebPackageVersion"] = version
        return "".join(",%s:%s" % (js(k), json.dumps(v, ensure_ascii=False))
                       for k, v in facts.items())


# (path, size, package, version); symlinks resolved as the agent resolves them.
DEBIAN_BINARIES = """
/usr/lib/systemd/systemd 92544 systemd 252.19-1~deb12u1
/usr/sbin/sshd 966096 openssh-server 1:9.2p1-2+deb12u2
/usr/bin/bash 1265648 bash 5.2.15-2+b2
/usr/bin/dash 125640 dash 0.5.12-2
/usr/sbin/cron 64416 cron 3.0pl1-162
/usr/bin/run-parts 27560 debianutils 5.7-0.5~deb12u1
/usr/bin/ls 151344 coreutils 9.1-1
/usr/bin/cat 44016 coreutils 9.1-1
/usr/bin/grep 203152 grep 3.8-5
/usr/bin/sed 126424 sed 4.9-1
/usr/bin/mawk 158376 mawk 1.3.4.20200120-3.1
/usr/bin/curl 280800 curl 7.88.1-10+deb12u5
/usr/bin/wget 470384 wget 1.21.3-1+b2
/usr/bin/python3.11 6831736 python3.11-minimal 3.11.2-6
/usr/bin/git 3713416 git 1:2.39.2-1.1
/usr/bin/make 240280 make 4.3-4.1
/usr/bin/x86_64-linux-gnu-gcc-12 1301496 gcc-12 12.2.0-14
/usr/lib/gcc/x86_64-linux-gnu/12/cc1 33342568 cpp-12 12.2.0-14
/usr/bin/x86_64-linux-gnu-as 918952 binutils-x86-64-linux-gnu 2.40-2
/usr/bin/x86_64-linux-gnu-ld.bfd 1336592 binutils-x86-64-linux-gnu 2.40-2
/usr/lib/gcc/x86_64-linux-gnu/12/collect2 639192 gcc-12 12.2.0-14
/usr/bin/apt-get 51592 apt 2.6.1
/usr/bin/apt 18752 apt 2.6.1
/usr/bin/apt-config 26944 apt 2.6.1
/usr/lib/apt/methods/http 199056 apt 2.6.1
/usr/bin/dpkg 318096 dpkg 1.21.22
/usr/bin/sudo 281624 sudo 1.9.13p3-1+deb12u1
/usr/bin/env 48536 coreutils 9.1-1
/usr/bin/ps 146360 procps 2:4.0.2-3
/usr/bin/sleep 43888 coreutils 9.1-1
/usr/bin/date 121904 coreutils 9.1-1
/usr/bin/gzip 98136 gzip 1.12-1
/usr/bin/tar 531984 tar 1.34+dfsg-1.2+deb12u1
/usr/bin/find 224848 findutils 4.9.0-4
/usr/bin/xargs 72136 findutils 4.9.0-4
/usr/bin/systemctl 1353368 systemd 252.19-1~deb12u1
/usr/bin/journalctl 76432 systemd 252.19-1~deb12u1
/usr/lib/systemd/systemd-tmpfiles 88656 systemd 252.19-1~deb12u1
/usr/sbin/logrotate 93608 logrotate 3.21.0-1
/usr/bin/vim.basic 3646968 vim 2:9.0.1378-2
/usr/bin/ssh 1125408 openssh-client 1:9.2p1-2+deb12u2
/usr/bin/tail 76944 coreutils 9.1-1
/usr/bin/head 48080 coreutils 9.1-1
/usr/bin/wc 52280 coreutils 9.1-1
/usr/bin/sort 118456 coreutils 9.1-1
/usr/bin/id 48144 coreutils 9.1-1
/usr/bin/hostname 22680 hostname 3.23+nmu1
/usr/bin/uname 43888 coreutils 9.1-1
/usr/bin/rm 72752 coreutils 9.1-1
/usr/bin/mkdir 97552 coreutils 9.1-1
/usr/bin/cp 151152 coreutils 9.1-1
/usr/bin/chmod 64496 coreutils 9.1-1
/usr/bin/top 134736 procps 2:4.0.2-3
/usr/bin/less 198960 less 590-2.1~deb12u2
/usr/bin/df 102200 coreutils 9.1-1
/usr/bin/du 175440 coreutils 9.1-1
/usr/bin/free 26936 procps 2:4.0.2-3
/usr/bin/ionice 35136 util-linux 2.38.1-5+deb12u1
/usr/bin/nice 43888 coreutils 9.1-1
/usr/bin/flock 35216 util-linux 2.38.1-5+deb12u1
/usr/bin/timeout 48632 coreutils 9.1-1
/usr/bin/openssl 976136 openssl 3.0.11-1~deb12u2
/usr/bin/ip 691016 iproute2 6.1.0-3
/usr/bin/ss 193680 iproute2 6.1.0-3
/usr/bin/stat 97488 coreutils 9.1-1
/usr/bin/readlink 52112 coreutils 9.1-1
/usr/bin/pgrep 35248 procps 2:4.0.2-3
/usr/lib/postgresql/15/bin/psql 694256 postgresql-client-15 15.5-0+deb12u1
/usr/lib/postgresql/15/bin/pg_dump 462176 postgresql-client-15 15.5-0+deb12u1
/usr/bin/php8.2 5232328 php8.2-cli 8.2.7-1~deb12u1
/usr/lib/sysstat/sadc 101368 sysstat 12.6.1-1
/usr/lib/nagios/plugins/check_disk 126448 monitoring-plugins-basic 2.3.3-5
/usr/lib/nagios/plugins/check_load 39760 monitoring-plugins-basic 2.3.3-5
/usr/lib/nagios/plugins/check_procs 52072 monitoring-plugins-basic 2.3.3-5
/usr/sbin/nrpe 93288 nagios-nrpe-server 4.1.0-1
/usr/lib/wine/wineserver64 623688 wine64 8.0~repack-4
/usr/sbin/runc 9461592 runc 1.1.5+ds1-1+deb12u1
/usr/libexec/gnome-terminal-server 461152 gnome-terminal 3.46.8-1
/usr/bin/gnome-shell 22640 gnome-shell 43.9-0+deb12u1
"""

GO_BINARIES = {
    # path: (size, package, version, go build info)
    "/usr/bin/containerd": (47816416, "containerd", "1.6.20~ds1-1+b1", {
        "go": "go1.19.8", "main": "github.com/containerd/containerd/cmd/containerd",
        "module": "github.com/containerd/containerd"}),
    "/usr/bin/containerd-shim-runc-v2": (9416704, "containerd", "1.6.20~ds1-1+b1", {
        "go": "go1.19.8",
        "main": "github.com/containerd/containerd/cmd/containerd-shim-runc-v2",
        "module": "github.com/containerd/containerd"}),
    "/usr/bin/docker": (43122536, "docker.io", "20.10.24+dfsg1-1+b3", {
        "go": "go1.19.8", "main": "github.com/docker/cli/cmd/docker",
        "module": "github.com/docker/cli"}),
    "/usr/bin/gitlab-runner": (64225280, "", "", {
        "go": "go1.21.5", "main": "gitlab.com/gitlab-org/gitlab-runner",
        "module": "gitlab.com/gitlab-org/gitlab-runner", "version": "v16.7.0"}),
}


class Catalog:
    """Every binary by path (Linux) or by Windows path, built once."""

    def __init__(self):
        self.by_path = {}
        for line in DEBIAN_BINARIES.strip().splitlines():
            path, size, package, version = line.split(" ", 3)
            size = int(size) or 1000 + int(digest("md5", path)[:5], 16) % 40000
            self.by_path[path] = Binary(path, size, package, version)
        for path, (size, package, version, go) in GO_BINARIES.items():
            self.by_path[path] = Binary(path, size, package, version, go=go, static=True)
        runc = self.by_path["/usr/sbin/runc"]
        self.by_path["runc-memfd"] = Binary(
            "/memfd:runc_cloned:/proc/self/exe", runc.size, version="runc-1.1.5", memfd=True)

    def __getitem__(self, path):
        return self.by_path[path]

    def add(self, key, binary):
        self.by_path.setdefault(key, binary)
        return self.by_path[key]


# ---------------------------------------------------------------------------
# Hosts, users, sessions, processes.

class User:
    def __init__(self, name, uid, gid, home):
        self.name, self.uid, self.gid, self.home = name, uid, gid, home


class Session:
    """Where a process runs: credentials, audit session, tty, cgroup, namespaces.

    Caches the JSON fragments that depend only on it."""

    def __init__(self, device, user, logon=None, tty="", cgroup="", container="",
                 namespaces=HOST_NAMESPACES, root="", filesystem="ext4", exe_device="254:1",
                 cgroup_id=None):
        self.device, self.user, self.logon, self.tty = device, user, logon, tty
        self.cgroup, self.container, self.namespaces = cgroup, container, namespaces
        self.root, self.filesystem, self.exe_device = root, filesystem, exe_device
        self.cgroup_id = device.cgroup_id(cgroup) if cgroup_id is None else cgroup_id
        self.account = ('"AccountDomain":%s,"AccountName":%s,"AccountSid":"","AccountUpn":"",'
                        '"AccountObjectId":"","LogonId":%s,' % (
                            js(device.short), js(user.name), opt(logon)))
        self.initiating_account = (
            '"InitiatingProcessAccountDomain":%s,"InitiatingProcessAccountName":%s,'
            '"InitiatingProcessAccountSid":"","InitiatingProcessAccountUpn":"",'
            '"InitiatingProcessAccountObjectId":"","InitiatingProcessLogonId":%s,'
            '"InitiatingProcessIntegrityLevel":"","InitiatingProcessTokenElevation":"",' % (
                js(device.short), js(user.name), opt(logon)))
        login_uid = user.uid if logon is not None else None
        self.credentials = inner(
            '"Uid":%d,"Euid":%d,"Gid":%d,"Egid":%d,"LoginUid":%s,"AuditSessionId":%s,'
            '"Tty":%s,' % (user.uid, user.uid, user.gid, user.gid, opt(login_uid), opt(logon),
                           js(tty)))
        self.placement = inner(
            '"PidNamespace":%d,"MountNamespace":%d,"NetNamespace":%d,"CgroupId":%d,'
            '"Cgroup":%s,"ContainerId":%s,' % (namespaces + (self.cgroup_id, js(cgroup),
                                                             js(container))))
        self.namespace_pid = 0

    def as_user(self, user):
        """The same session after sudo/su/setuid to user."""
        other = Session(self.device, user, self.logon, self.tty, self.cgroup, self.container,
                        self.namespaces, self.root, self.filesystem, self.exe_device,
                        self.cgroup_id)
        other.namespace_pid = self.namespace_pid
        return other


class Proc:
    """One process image (a pid can have several after exec without fork)."""

    __slots__ = ("pid", "ctime", "ctime_text", "binary", "command_line", "session", "parent",
                 "unique_id", "exec_sequence", "ns_pid", "_initiating")

    def __init__(self, pid, ctime, binary, command_line, session, parent, unique_id,
                 exec_sequence=1, ns_pid=None):
        self.pid, self.ctime, self.binary = pid, ctime, binary
        self.ctime_text = datetime_text(ctime)
        self.command_line, self.session, self.parent = command_line, session, parent
        self.unique_id, self.exec_sequence = unique_id, exec_sequence
        self.ns_pid = pid if ns_pid is None else ns_pid
        self._initiating = None

    def initiating(self):
        """Columns 28-55 of a record whose initiating process is this one."""
        if self._initiating is None:
            parent = self.parent
            self._initiating = (
                '%s%s"InitiatingProcessId":%d,"InitiatingProcessCommandLine":%s,'
                '"InitiatingProcessCreationTime":"%s","InitiatingProcessFolderPath":%s,'
                '"InitiatingProcessParentId":%d,"InitiatingProcessParentFileName":%s,'
                '"InitiatingProcessParentCreationTime":%s,"InitiatingProcessSignerType":"",'
                '"InitiatingProcessSignatureStatus":"",' % (
                    self.session.initiating_account, self.binary.initiating_fragment, self.pid,
                    js(self.command_line), self.ctime_text, js(self.binary.path),
                    parent.pid if parent else 0, js(parent.binary.name) if parent else '""',
                    '"%s"' % parent.ctime_text if parent else "null"))
        return self._initiating


class Device:
    """One host: identity, counters, users, long-running processes."""

    DOMAINS = ("prod.example.com", "corp.example.com", "build.example.net", "lab.example.org")
    ROLES = ("web", "db", "ci", "k8s", "workstation")

    def __init__(self, generator, index, start_ticks):
        rng = generator.rng
        self.generator = generator
        self.role = self.ROLES[index % len(self.ROLES)]
        number = index // len(self.ROLES) + 1
        prefix = {"web": "web", "db": "db", "ci": "ci-runner", "k8s": "k8s-node",
                  "workstation": "ws"}[self.role]
        self.short = "%s-%02d" % (prefix, number)
        self.name = "%s.%s" % (self.short, self.DOMAINS[index % len(self.DOMAINS)])
        self.id = digest("sha1", "device", generator.seed, self.name)
        self.device_fragment = '"DeviceId":"%s","DeviceName":%s,"ActionType":"ProcessCreated",' % (
            self.id, js(self.name))
        self.report_id = rng.randrange(1, 2_000_000)
        self.boot = start_ticks - rng.randrange(1, 40 * 86400) * TICKS_PER_SECOND
        self.pid = rng.randrange(600, 4000)
        self.next_logon = rng.randrange(1, 400)
        self.next_cgroup = rng.randrange(2000, 9000)
        self.cgroups = {"": 1}
        self.inodes = {}
        root = User("root", 0, 0, "/root")
        self.root_user = root
        people = rng.sample(("alice", "bob", "carol", "dave", "erin", "frank", "grace",
                             "heidi"), 3)
        self.people = [User(name, 1000 + i, 1000 + i, "/home/" + name)
                       for i, name in enumerate(people)]
        self.service_users = {
            "www-data": User("www-data", 33, 33, "/var/www"),
            "postgres": User("postgres", 107, 114, "/var/lib/postgresql"),
            "nagios": User("nagios", 108, 115, "/var/lib/nagios"),
            "gitlab-runner": User("gitlab-runner", 998, 998, "/home/gitlab-runner"),
            "rport": User("rport", 997, 997, "/var/lib/rport"),
        }
        self.wine = {}
        self._start_daemons(generator.catalog)

    # -- counters -----------------------------------------------------------------

    def new_pid(self):
        self.pid += 1 + int(self.generator.random() * 4)
        if self.pid >= PID_MAX:
            self.pid = 300 + self.pid % 1000
        return self.pid

    def new_report_id(self):
        self.report_id += 1
        return self.report_id

    def new_logon(self):
        self.next_logon += 1
        return self.next_logon

    def cgroup_id(self, cgroup):
        """cgroup v2 ids are inode numbers: new cgroups get higher ones.  Units
        keep theirs; session and container scopes are new each time."""
        known = self.cgroups.get(cgroup)
        if known is not None:
            return known
        self.next_cgroup += self.generator.rng.randrange(1, 60)
        if not cgroup.startswith(("session-", "docker-", "cri-containerd-")):
            self.cgroups[cgroup] = self.next_cgroup
        return self.next_cgroup

    def inode(self, root, path):
        key = (root, path)
        if key not in self.inodes:
            self.inodes[key] = 130000 + int(digest("md5", self.id, root, path)[:6], 16)
        return self.inodes[key]

    def service(self, unit, user=None):
        return Session(self, user or self.root_user, cgroup=unit)

    # -- processes found at agent start -----------------------------------------

    def _daemon(self, path, argv, unit, user=None, offset_s=3.0):
        """A service systemd started at boot (found by the agent's task scan)."""
        rng = self.generator.rng
        ctime = self.boot + int(offset_s * TICKS_PER_SECOND) + rng.randrange(TICKS_PER_SECOND)
        return Proc(self.new_pid(), ctime, self.generator.catalog[path], quote_argv(argv),
                    self.service(unit, user), self.systemd, str(rng.getrandbits(63)))

    def _start_daemons(self, catalog):
        rng = self.generator.rng
        # pid 1 starts in the boot's first second; services follow (_daemon)
        self.systemd = Proc(1, self.boot + rng.randrange(TICKS_PER_SECOND),
                            catalog["/usr/lib/systemd/systemd"], "/sbin/init",
                            Session(self, self.root_user), None, str(rng.getrandbits(63)))
        self.pid = rng.randrange(300, 700)
        self.sshd = self._daemon("/usr/sbin/sshd", ["sshd: /usr/sbin/sshd -D [listener] 0 of "
                                                    "10-100 startups"], "ssh.service")
        self.cron = self._daemon("/usr/sbin/cron", ["/usr/sbin/cron", "-f"], "cron.service")
        self.nrpe = self._daemon("/usr/sbin/nrpe", ["/usr/sbin/nrpe", "-c",
                                                   "/etc/nagios/nrpe.cfg", "-f"],
                                 "nagios-nrpe-server.service", self.service_users["nagios"])
        if self.role in ("ci", "k8s"):
            self.containerd = self._daemon("/usr/bin/containerd", ["/usr/bin/containerd"],
                                           "containerd.service", offset_s=6)
        if self.role == "ci":
            self.runner = self._daemon("/usr/bin/gitlab-runner", [
                "/usr/bin/gitlab-runner", "run", "--working-directory", "/home/gitlab-runner",
                "--config", "/etc/gitlab-runner/config.toml", "--service", "gitlab-runner",
                "--user", "gitlab-runner"], "gitlab-runner.service", offset_s=9)
        if self.role == "workstation":
            person = self.people[0]
            logon = self.new_logon()
            desktop = Session(self, person, logon=logon, cgroup="session-%d.scope" % logon)
            self.desktop_session = desktop
            shell = Proc(self.new_pid(), self.boot + 40 * TICKS_PER_SECOND,
                         catalog["/usr/bin/gnome-shell"], "/usr/bin/gnome-shell", desktop,
                         self.systemd, str(rng.getrandbits(63)))
            self.terminal_server = Proc(
                self.new_pid(), self.boot + 90 * TICKS_PER_SECOND,
                catalog["/usr/libexec/gnome-terminal-server"],
                "/usr/libexec/gnome-terminal-server", desktop, shell,
                str(rng.getrandbits(63)))


# ---------------------------------------------------------------------------
# The generator: scenarios emit records through spawn().

RECORD = (
    '{"Timestamp":"%s",%s%s"ProcessId":%d,"ProcessCommandLine":%s,'
    '"ProcessIntegrityLevel":"","ProcessTokenElevation":"","ProcessCreationTime":"%s",%s%s'
    '"ReportId":%d,"AppGuardContainerId":"","AdditionalFields":%s,'
    '"InitiatingProcessSessionId":%s,"IsInitiatingProcessRemoteSession":null,'
    '"InitiatingProcessRemoteSessionDeviceName":"","InitiatingProcessRemoteSessionIP":"",'
    '"CreatedProcessSessionId":%s,"IsProcessRemoteSession":null,'
    '"ProcessRemoteSessionDeviceName":"","ProcessRemoteSessionIP":"","ProcessUniqueId":"%s",'
    '"InitiatingProcessUniqueId":"%s"}\n')

# AdditionalFields, already escaped as the content of a JSON string: every
# %s piece is escaped the same way (inner(), js2()).
ADDITIONAL = '"%s"' % inner(
    '{%s"Comm":%s,"Tid":%d,"NamespacePid":%d,%s"Cwd":%s,%s"Filename":%s,%s'
    '"ArgvCapturedBytes":%d,"ArgvTotalBytes":%d,"ArgvTruncated":false,"HashStatus":"%s",'
    '"InitiatingProcessHashStatus":"%s","ExecSequence":%d,"ExecWithoutFork":%s%s%s}')


class Finished(Exception):
    """Raised by emit() once --count records are written."""


class Generator:
    def __init__(self, args, out):
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.random = self.rng.random
        self.out = out
        self.count = args.count
        self.emitted = 0
        self.end = args.end
        self.start = self.end - int(args.span_days * 86400 * TICKS_PER_SECOND)
        self.step = max(1, (self.end - self.start) // max(1, self.count))
        self.catalog = Catalog()
        self.devices = [Device(self, i, self.start) for i in range(args.devices)]
        self.buffer = []
        self.kinds = {"background": 0, "rmm": 0, "near-miss": 0}
        self.scenario_kind = "background"
        self.rmm_fraction = args.rmm_fraction
        self.near_fraction = args.near_miss_fraction
        self.rmm_round, self.near_round = [], []
        self.clock = self.start
        self.exe_fragments = {}

    # -- time -------------------------------------------------------------------

    def begin_scenario(self):
        """Scenario start: the slot of the next record, plus jitter inside it."""
        base = self.start + self.emitted * self.step
        self.clock = max(self.clock, base + self.rng.randrange(self.step))

    def tick(self, low_ms=1, high_ms=40):
        """Time of the next step of the scenario: a few ms later, never past the
        next slots, so Timestamps never decrease."""
        delta = int((low_ms + self.random() * (high_ms - low_ms)) * TICKS_PER_MS)
        room = self.start + (self.emitted + 1) * self.step - self.clock
        self.clock += max(1, min(delta, room)) if room > 0 else 0
        if self.clock > self.end:
            self.clock = self.end
        return self.clock

    # -- records ------------------------------------------------------------------

    def exe_fragment(self, session, binary):
        key = (session.device.id, session.root, binary.linux_path)
        fragment = self.exe_fragments.get(key)
        if fragment is None:
            device = session.device
            if binary.memfd:
                fragment = ('"ExeDevice":"0:1","ExeInode":%d,"ExeCtime":"%s","ExeMtime":"%s",'
                            '"ExeNlink":0,"ExeMode":"100700","ExeFileSystem":"tmpfs",'
                            '"Memfd":true,"Deleted":false,' % (
                                device.inode("memfd", binary.linux_path),
                                datetime_text(device.boot), datetime_text(device.boot)))
            else:
                path = binary.wine_prefix_path or binary.linux_path
                fragment = ('"ExeDevice":%s,"ExeInode":%d,"ExeCtime":"%s","ExeMtime":"%s",'
                            '"ExeNlink":1,"ExeMode":"%s","ExeFileSystem":%s,"Memfd":false,'
                            '"Deleted":false,' % (
                                js(session.exe_device), device.inode(session.root, path),
                                datetime_text(binary.mtime), datetime_text(binary.mtime),
                                "100644" if binary.is_pe else "100755",
                                js(session.filesystem)))
            fragment = self.exe_fragments[key] = inner(fragment)
        return fragment

    def spawn(self, parent, binary, argv, session=None, cwd=None, filename=None,
              interpreter=None, fork=True, command_line=None, wine=None, ns_pid=None,
              mark=False):
        """parent forks (unless fork=False: exec in place) and execs binary.
        Writes the record; returns the new image.  filename is the path the
        caller asked for (default: the binary's); interpreter (a script run
        through its #! line) makes argv[1] the script; mark counts the record
        as the scenario's kind (an RMM tool, a near-miss), not background."""
        device = parent.session.device
        session = session or parent.session
        t = self.tick()
        rng = self.rng
        if fork:
            pid = device.new_pid()
            ctime = t - 200 - int(self.random() * 19800)
            if ctime <= parent.ctime:
                ctime = parent.ctime + 1
            unique = str(rng.getrandbits(63))
            sequence = 1
            initiator = parent
            if ns_pid is None and session.container:
                session.namespace_pid += rng.randrange(1, 3)
                ns_pid = session.namespace_pid
        else:
            pid, ctime, unique = parent.pid, parent.ctime, parent.unique_id
            sequence = parent.exec_sequence + 1
            initiator = parent
            if ns_pid is None:
                ns_pid = parent.ns_pid
        if isinstance(binary, str):
            binary = self.catalog[binary]
        quoted, argv_bytes = argv_facts(argv)
        if command_line is None:
            command_line = quoted
        proc = Proc(pid, ctime, binary, command_line, session,
                    parent if fork else parent.parent, unique, sequence, ns_pid)
        hashed = self.random() > 0.0003
        script = ""
        if interpreter:
            script = inner('"Interpreter":%s,"ScriptPath":%s,' % (js(interpreter), js(argv[1])))
        # the kernel names a task after the file asked for (the script for a script)
        if wine:
            comm = binary.name
        else:
            comm = (argv[1] if interpreter else filename or binary.linux_path).rsplit("/", 1)[-1]
        additional = ADDITIONAL % (
            session.credentials, js2(comm[:15]), pid, ns_pid if ns_pid else pid,
            session.placement, js2(cwd or session.user.home), self.exe_fragment(session, binary),
            js2(filename or binary.linux_path), script, argv_bytes, argv_bytes,
            "ok" if hashed else "unavailable", "ok", sequence,
            "false" if fork else "true", binary.identity, inner(wine) if wine else "")
        self.emit(device, t, binary.fragment if hashed else binary.fragment_unhashed, pid,
                  command_line, proc.ctime_text, session, initiator, additional, unique,
                  self.scenario_kind if mark else "background")
        return proc

    def fork_only(self, parent, session=None):
        """A fork that does not exec (cron's job child, sshd's session child,
        the middle of a double fork): no record of its own, but it is the
        initiating process of what it starts."""
        device = parent.session.device
        return Proc(device.new_pid(), max(self.clock - 1, parent.ctime + 1), parent.binary,
                    parent.command_line, session or parent.session, parent,
                    str(self.rng.getrandbits(63)))

    def emit(self, device, t, file_fragment, pid, command_line, ctime_text, session,
             initiator, additional, unique, kind):
        if self.emitted >= self.count:
            raise Finished()
        self.buffer.append(RECORD % (
            datetime_text(t), device.device_fragment, file_fragment, pid, js(command_line),
            ctime_text, session.account, initiator.initiating(), device.new_report_id(),
            additional, opt(initiator.session.logon), opt(session.logon), unique,
            initiator.unique_id))
        self.emitted += 1
        self.kinds[kind] += 1
        if len(self.buffer) >= 4096:
            self.flush()

    def flush(self):
        self.out.write("".join(self.buffer))
        self.buffer.clear()

    # -- the main loop ------------------------------------------------------------

    def run(self):
        background = [(weight, scenario) for scenario, weight in BACKGROUND]
        weights = [w for w, _ in background]
        scenarios = [s for _, s in background]
        try:
            while self.emitted < self.count:
                self.begin_scenario()
                device = self.devices[self.rng.randrange(len(self.devices))]
                self.scenario_kind = "background"
                if self.due(self.rmm_fraction, "rmm"):
                    self.scenario_kind = "rmm"
                    self.next_profile(self.rmm_round, RMM_PROFILES)(self, self.rmm_device())
                elif self.due(self.near_fraction, "near-miss"):
                    self.scenario_kind = "near-miss"
                    self.next_profile(self.near_round, NEAR_MISSES)(self, self.rmm_device())
                else:
                    scenario = self.rng.choices(scenarios, weights)[0]
                    if not scenario(self, device):
                        continue
        except Finished:
            pass
        self.flush()

    def due(self, fraction, kind):
        """Keeps the share of kind close to fraction, at random moments."""
        return (fraction > 0 and self.kinds[kind] < fraction * (self.emitted + 1)
                and self.rng.random() < 0.25)

    def rmm_device(self):
        """Remote-management tools land mostly on workstations."""
        workstations = [d for d in self.devices if d.role == "workstation"]
        if workstations and self.rng.random() < 0.7:
            return workstations[self.rng.randrange(len(workstations))]
        return self.devices[self.rng.randrange(len(self.devices))]

    def next_profile(self, pending, profiles):
        if not pending:
            pending.extend(profiles)
            self.rng.shuffle(pending)
        return pending.pop()


# ---------------------------------------------------------------------------
# Background scenarios.  Each takes (generator, device) and returns False when
# it does not apply to the device (another scenario is drawn).

def shell_c(g, parent, command, cwd="/"):
    """parent runs /bin/sh -c COMMAND (dash on Debian)."""
    return g.spawn(parent, "/usr/bin/dash", ["/bin/sh", "-c", command], cwd=cwd,
                   filename="/bin/sh")


def cron_job(g, device):
    rng = g.rng
    logon = device.new_logon()
    user = device.root_user
    choice = rng.randrange(6)
    if choice == 0 and device.role == "web":
        user = device.service_users["www-data"]
    elif choice == 0 and device.role == "db":
        user = device.service_users["postgres"]
    session = Session(device, user, logon=logon, cgroup="cron.service")
    # cron forks a child per job (PAM opens the job's session in it), which
    # runs the command through /bin/sh
    job = g.fork_only(device.cron, session)
    if choice == 0 and device.role == "web":
        sh = shell_c(g, job, "/usr/bin/php8.2 /var/www/app/artisan schedule:run "
                     ">> /dev/null 2>&1", cwd="/var/www")
        g.spawn(sh, "/usr/bin/php8.2", ["/usr/bin/php8.2", "/var/www/app/artisan",
                                         "schedule:run"], cwd="/var/www")
    elif choice == 0 and device.role == "db":
        sh = shell_c(g, job, "pg_dump -Fc appdb | gzip > /var/backups/appdb.dump.gz")
        g.spawn(sh, "/usr/lib/postgresql/15/bin/pg_dump", ["pg_dump", "-Fc", "appdb"],
                filename="/usr/lib/postgresql/15/bin/pg_dump")
        g.spawn(sh, "/usr/bin/gzip", ["gzip"], filename="/usr/bin/gzip")
    elif choice == 1:
        sh = shell_c(g, job, "command -v debian-sa1 > /dev/null && debian-sa1 1 1")
        sa1 = g.spawn(sh, "/usr/bin/dash", ["/bin/sh", "/usr/lib/sysstat/debian-sa1", "1",
                                            "1"], filename="/usr/lib/sysstat/debian-sa1",
                      interpreter="/bin/sh")
        g.spawn(sa1, "/usr/lib/sysstat/sadc", ["/usr/lib/sysstat/sadc", "-F", "-L", "-S",
                                               "DISK", "1", "1", "/var/log/sysstat"])
    elif choice == 2:
        sh = shell_c(g, job, "cd / && run-parts --report /etc/cron.hourly")
        g.spawn(sh, "/usr/bin/run-parts", ["run-parts", "--report", "/etc/cron.hourly"],
                filename="/usr/bin/run-parts")
    elif choice == 3:
        check = "https://hc-ping.com/%s" % digest("md5", device.id, "hc")[:32]
        sh = shell_c(g, job, "/usr/local/bin/backup.sh && curl -fsS -m 10 --retry 5 "
                     "-o /dev/null " + check)
        backup = g.spawn(sh, "/usr/bin/bash", ["/bin/bash", "/usr/local/bin/backup.sh"],
                         filename="/usr/local/bin/backup.sh", interpreter="/bin/bash")
        g.spawn(backup, "/usr/bin/tar", ["tar", "-czf", "/var/backups/etc-%s.tar.gz" %
                                         time.strftime("%Y%m%d", time.gmtime(
                                             g.clock // TICKS_PER_SECOND)), "/etc"],
                filename="/usr/bin/tar")
        g.spawn(sh, "/usr/bin/curl", ["curl", "-fsS", "-m", "10", "--retry", "5", "-o",
                                      "/dev/null", check], filename="/usr/bin/curl")
    elif choice == 4 and rng.random() < 0.5:
        sh = shell_c(g, job, "test -x /usr/sbin/anacron || { cd / && run-parts "
                     "--report /etc/cron.daily; }")
        g.spawn(sh, "/usr/bin/run-parts", ["run-parts", "--report", "/etc/cron.daily"],
                filename="/usr/bin/run-parts")
    elif choice == 4:
        command = ["nice", "-n", "19", "ionice", "-c3", "find", "/var/tmp", "-type", "f",
                   "-mtime", "+7", "-delete"]
        sh = shell_c(g, job, " ".join(command))
        nice = g.spawn(sh, "/usr/bin/nice", command, filename="/usr/bin/nice")
        ionice = g.spawn(nice, "/usr/bin/ionice", command[3:], filename="/usr/bin/ionice",
                         fork=False)
        g.spawn(ionice, "/usr/bin/find", command[5:], filename="/usr/bin/find", fork=False)
    else:
        sh = shell_c(g, job, "/usr/bin/flock -n /run/lock/report.lock "
                     "/usr/bin/python3 /opt/report/collect.py --quiet")
        lock = g.spawn(sh, "/usr/bin/flock", ["/usr/bin/flock", "-n", "/run/lock/report.lock",
                                              "/usr/bin/python3", "/opt/report/collect.py",
                                              "--quiet"])
        py = g.spawn(lock, "/usr/bin/python3.11", ["/usr/bin/python3",
                                                   "/opt/report/collect.py", "--quiet"],
                     filename="/usr/bin/python3", cwd="/")
        g.spawn(py, "/usr/bin/df", ["df", "-P", "-k"], filename="/usr/bin/df")
    return True


def systemd_timer(g, device):
    rng = g.rng
    choice = rng.randrange(4)
    if choice == 0:
        session = device.service("apt-daily.service")
        daily = g.spawn(device.systemd, "/usr/bin/dash", [
            "/bin/sh", "/usr/lib/apt/apt.systemd.daily", "update"],
            session=session, filename="/usr/lib/apt/apt.systemd.daily",
            interpreter="/bin/sh", cwd="/")
        g.spawn(daily, "/usr/bin/apt-config", ["apt-config", "shell", "StampDir",
                                               "Dir::State::Periodic"])
        get = g.spawn(daily, "/usr/bin/apt-get", ["apt-get", "-qq", "-y", "update"])
        for _ in range(rng.randrange(1, 4)):
            g.spawn(get, "/usr/lib/apt/methods/http", ["/usr/lib/apt/methods/http"])
    elif choice == 1:
        session = device.service("logrotate.service")
        rotate = g.spawn(device.systemd, "/usr/sbin/logrotate", [
            "/usr/sbin/logrotate", "/etc/logrotate.conf"], session=session, cwd="/")
        sh = g.spawn(rotate, "/usr/bin/dash", ["sh", "-c", "invoke-rc.d rsyslog rotate > "
                                               "/dev/null", "logrotate_script",
                                               "/var/log/syslog"], filename="/bin/sh")
        g.spawn(sh, "/usr/bin/systemctl", ["systemctl", "kill", "-s", "HUP", "rsyslog.service"])
    elif choice == 2:
        session = device.service("systemd-tmpfiles-clean.service")
        g.spawn(device.systemd, "/usr/lib/systemd/systemd-tmpfiles", [
            "/usr/lib/systemd/systemd-tmpfiles", "--clean"], session=session, cwd="/")
    elif choice == 3 and device.role == "web":
        session = device.service("certbot.service")
        g.spawn(device.systemd, "/usr/bin/python3.11", ["/usr/bin/python3", "/usr/bin/certbot",
                                                        "-q", "renew"], session=session,
                filename="/usr/bin/certbot", interpreter="/usr/bin/python3", cwd="/")
    else:
        session = device.service("sysstat-collect.service")
        g.spawn(device.systemd, "/usr/lib/sysstat/sadc", [
            "/usr/lib/sysstat/sadc", "-F", "-L", "-S", "DISK", "1", "1", "/var/log/sysstat"],
            session=session, cwd="/")
    return True


def monitoring_check(g, device):
    rng = g.rng
    check = rng.choice((
        ["/usr/lib/nagios/plugins/check_disk", "-w", "20%", "-c", "10%", "-p", "/"],
        ["/usr/lib/nagios/plugins/check_load", "-r", "-w", "4,3,2", "-c", "8,6,4"],
        ["/usr/lib/nagios/plugins/check_procs", "-w", "250", "-c", "400", "-s", "RSZDT"],
    ))
    g.spawn(device.nrpe, check[0], check, cwd="/")
    return True


SESSION_COMMANDS = (
    (["ls", "-la"], "/usr/bin/ls"),
    (["ls", "--color=auto"], "/usr/bin/ls"),
    (["git", "status"], "/usr/bin/git"),
    (["git", "pull", "--ff-only"], "/usr/bin/git"),
    (["ps", "aux"], "/usr/bin/ps"),
    (["df", "-h"], "/usr/bin/df"),
    (["free", "-m"], "/usr/bin/free"),
    (["top", "-b", "-n", "1"], "/usr/bin/top"),
    (["tail", "-n", "200", "/var/log/syslog"], "/usr/bin/tail"),
    (["grep", "-r", "ERROR", "/var/log/app"], "/usr/bin/grep"),
    (["vim", "config.yaml"], "/usr/bin/vim.basic"),
    (["less", "/var/log/nginx/error.log"], "/usr/bin/less"),
    (["ss", "-tlnp"], "/usr/bin/ss"),
    (["ip", "-br", "addr"], "/usr/bin/ip"),
    (["journalctl", "-u", "nginx", "--since", "-1h"], "/usr/bin/journalctl"),
    (["systemctl", "status", "cron"], "/usr/bin/systemctl"),
    (["curl", "-sS", "https://api.github.com/repos/torvalds/linux/releases/latest"],
     "/usr/bin/curl"),
    (["curl", "-I", "https://www.example.com/"], "/usr/bin/curl"),
    (["curl", "-fsSL", "-o", "node_exporter.tar.gz", "https://github.com/prometheus/"
      "node_exporter/releases/download/v1.7.0/node_exporter-1.7.0.linux-amd64.tar.gz"],
     "/usr/bin/curl"),
    (["wget", "-q", "https://deb.debian.org/debian/dists/bookworm/Release"], "/usr/bin/wget"),
    (["python3", "manage.py", "migrate"], "/usr/bin/python3.11"),
    (["python3", "-m", "pip", "install", "--user", "requests"], "/usr/bin/python3.11"),
    (["openssl", "s_client", "-connect", "db.internal:5432", "-starttls", "postgres"],
     "/usr/bin/openssl"),
    (["ssh", "deploy@10.0.4.12"], "/usr/bin/ssh"),
    (["id"], "/usr/bin/id"),
    (["uname", "-a"], "/usr/bin/uname"),
    (["hostname", "-f"], "/usr/bin/hostname"),
    (["du", "-sh", "/var/lib/docker"], "/usr/bin/du"),
    (["cat", "/etc/os-release"], "/usr/bin/cat"),
    (["head", "-n", "50", "/var/log/dpkg.log"], "/usr/bin/head"),
    (["wc", "-l", "/var/log/auth.log"], "/usr/bin/wc"),
    (["sort", "-u", "hosts.txt"], "/usr/bin/sort"),
    (["sed", "-n", "1,20p", "/etc/ssh/sshd_config"], "/usr/bin/sed"),
    (["awk", "{print $1}", "/var/log/nginx/access.log"], "/usr/bin/mawk"),
    (["find", ".", "-name", "*.log", "-mtime", "-1"], "/usr/bin/find"),
    (["xargs", "-r", "rm", "-f"], "/usr/bin/xargs"),
    (["date", "-u"], "/usr/bin/date"),
    (["sleep", "5"], "/usr/bin/sleep"),
    (["env"], "/usr/bin/env"),
    (["mkdir", "-p", "tmp/build"], "/usr/bin/mkdir"),
    (["cp", "-a", "config.yaml", "config.yaml.bak"], "/usr/bin/cp"),
    (["rm", "-rf", "tmp/build"], "/usr/bin/rm"),
    (["chmod", "+x", "deploy.sh"], "/usr/bin/chmod"),
    (["stat", "/etc/passwd"], "/usr/bin/stat"),
    (["readlink", "-f", "/usr/bin/python3"], "/usr/bin/readlink"),
    (["pgrep", "-a", "nginx"], "/usr/bin/pgrep"),
    (["timeout", "10", "curl", "-s", "http://localhost:8080/healthz"], "/usr/bin/timeout"),
    (["apt", "list", "--upgradable"], "/usr/bin/apt"),
    (["dpkg", "-l", "openssl"], "/usr/bin/dpkg"),
    (["psql", "-h", "db-01.prod.example.com", "-U", "app", "appdb"],
     "/usr/lib/postgresql/15/bin/psql"),
    (["docker", "ps", "--format", "{{.Names}}"], "/usr/bin/docker"),
)

SUDO_COMMANDS = (
    (["apt-get", "update"], "/usr/bin/apt-get"),
    (["apt-get", "install", "-y", "htop"], "/usr/bin/apt-get"),
    (["systemctl", "restart", "nginx"], "/usr/bin/systemctl"),
    (["journalctl", "-xe"], "/usr/bin/journalctl"),
    (["tail", "-f", "/var/log/auth.log"], "/usr/bin/tail"),
)


def ssh_login(g, device, user=None):
    """An SSH login: the listener forks and re-execs sshd for the connection;
    after authentication (PAM sets the login uid and the audit session) that
    process forks the user's session process, which starts the login shell."""
    user = user or g.rng.choice(device.people)
    connection = g.spawn(device.sshd, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D", "-R"],
                         session=device.service("ssh.service"), cwd="/")
    logon = device.new_logon()
    session = Session(device, user, logon=logon, tty="pts%d" % g.rng.randrange(6),
                      cgroup="session-%d.scope" % logon)
    child = g.fork_only(connection, session)
    shell = g.spawn(child, "/usr/bin/bash", ["-bash"], session=session, cwd=user.home,
                    filename="/bin/bash")
    return shell, session


def terminal(g, device):
    """A terminal window on a workstation's desktop: bash on a new pty."""
    desktop = device.desktop_session
    session = Session(device, desktop.user, logon=desktop.logon,
                      tty="pts%d" % g.rng.randrange(6), cgroup=desktop.cgroup,
                      cgroup_id=desktop.cgroup_id)
    shell = g.spawn(device.terminal_server, "/usr/bin/bash", ["bash"], session=session,
                    cwd=desktop.user.home, filename="/bin/bash")
    return shell, session


def interactive_session(g, device):
    rng = g.rng
    if device.role == "workstation" and rng.random() < 0.6:
        shell, session = terminal(g, device)
    else:
        shell, session = ssh_login(g, device)
    for _ in range(rng.randrange(2, 14)):
        if rng.random() < 0.12:
            argv, path = rng.choice(SUDO_COMMANDS)
            sudo = g.spawn(shell, "/usr/bin/sudo", ["sudo"] + argv)
            root = session.as_user(device.root_user)
            g.spawn(sudo, path, argv, session=root, cwd=session.user.home,
                    filename="/usr/bin/" + argv[0])
        elif rng.random() < 0.06:
            # a pipeline: both sides are children of the shell
            g.spawn(shell, "/usr/bin/curl", ["curl", "-fsSL", "https://get.docker.com"])
            g.spawn(shell, "/usr/bin/dash", ["sh"], filename="/usr/bin/sh")
        else:
            argv, path = rng.choice(SESSION_COMMANDS)
            command = g.spawn(shell, path, argv, filename="/usr/bin/" + argv[0])
            if argv[0] == "timeout":
                # timeout runs the command it guards in a child
                g.spawn(command, "/usr/bin/curl", argv[2:], filename="/usr/bin/curl")
    return True


def build_job(g, device):
    if device.role not in ("ci", "workstation"):
        return False
    rng = g.rng
    if device.role == "ci":
        user = device.service_users["gitlab-runner"]
        session = Session(device, user, cgroup="gitlab-runner.service")
        project = "/home/gitlab-runner/builds/x8Yz/0/infra/agent"
        shell = g.spawn(device.runner, "/usr/bin/bash", ["bash", "--login"], session=session,
                        cwd=project, filename="/usr/bin/bash")
        g.spawn(shell, "/usr/bin/git", ["git", "fetch", "--prune", "origin"], cwd=project)
    else:
        shell, session = ssh_login(g, device, device.people[0])
        project = device.people[0].home + "/src/agent"
    make = g.spawn(shell, "/usr/bin/make", ["make", "-j2"], cwd=project)
    for unit in rng.sample(("main", "record", "json_writer", "reportid", "strbuf", "text",
                            "value", "schema", "hashmap", "pathname"), rng.randrange(2, 6)):
        argv = ["cc", "-O2", "-g", "-std=c11", "-Wall", "-Wextra", "-I", "lib", "-c",
                "lib/%s.c" % unit, "-o", "build/lib/%s.o" % unit]
        cc = g.spawn(make, "/usr/bin/x86_64-linux-gnu-gcc-12", argv, cwd=project,
                     filename="/usr/bin/cc")
        g.spawn(cc, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", [
            "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "-quiet", "-I", "lib", "-imultiarch",
            "x86_64-linux-gnu", "lib/%s.c" % unit, "-quiet", "-dumpbase", "%s.c" % unit,
            "-mtune=generic", "-march=x86-64", "-g", "-O2", "-Wall", "-Wextra",
            "-std=c11", "-o", "/tmp/cc%s.s" % digest("md5", unit, g.emitted)[:6]], cwd=project)
        g.spawn(cc, "/usr/bin/x86_64-linux-gnu-as", [
            "as", "--gdwarf-5", "--64", "-o", "build/lib/%s.o" % unit,
            "/tmp/cc%s.s" % digest("md5", unit, g.emitted)[:6]], cwd=project,
            filename="/usr/bin/as")
    cc = g.spawn(make, "/usr/bin/x86_64-linux-gnu-gcc-12", [
        "cc", "-o", "build/rmmhunt-agent", "build/agent/main.o", "build/librmmhunt.a",
        "-lbpf", "-lelf", "-lz", "-ljansson", "-lcrypto", "-lpthread", "-lm"], cwd=project,
        filename="/usr/bin/cc")
    collect = g.spawn(cc, "/usr/lib/gcc/x86_64-linux-gnu/12/collect2", [
        "/usr/lib/gcc/x86_64-linux-gnu/12/collect2", "-plugin",
        "/usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so", "--build-id", "--eh-frame-hdr",
        "-m", "elf_x86_64", "--hash-style=gnu", "--as-needed", "-dynamic-linker",
        "/lib64/ld-linux-x86-64.so.2", "-pie", "-o", "build/rmmhunt-agent"], cwd=project)
    g.spawn(collect, "/usr/bin/x86_64-linux-gnu-ld.bfd", [
        "/usr/bin/ld", "-plugin", "/usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so",
        "--build-id", "-m", "elf_x86_64", "-pie", "-o", "build/rmmhunt-agent"], cwd=project,
        filename="/usr/bin/ld")
    return True


CONTAINER_IMAGES = (
    ("nginx:1.25", ["nginx", "-g", "daemon off;"], "/usr/sbin/nginx", 1291400),
    ("python:3.12-slim", ["python", "app.py"], "/usr/local/bin/python3.12", 14408),
    ("postgres:16", ["postgres", "-c", "shared_buffers=256MB"],
     "/usr/lib/postgresql/16/bin/postgres", 9981712),
    ("redis:7", ["redis-server", "--appendonly", "yes"], "/usr/local/bin/redis-server",
     14931112),
    ("golang:1.21", ["go", "test", "./..."], "/usr/local/go/bin/go", 15611930),
)


def container_start(g, device):
    if device.role not in ("ci", "k8s"):
        return False
    rng = g.rng
    image, argv, path, size = rng.choice(CONTAINER_IMAGES)
    container = digest("sha256", device.id, image, rng.randrange(40), "container")
    root = "/var/lib/docker/overlay2/%s/merged" % digest("sha256", container, "layer")[:64]
    cgroup = ("docker-%s.scope" % container if device.role == "ci"
              else "cri-containerd-%s.scope" % container)
    namespaces = tuple(4026532000 + int(digest("md5", container, n)[:4], 16)
                       for n in ("pid", "mnt", "net"))
    inside = Session(device, device.root_user, cgroup=cgroup, container=container,
                     namespaces=namespaces, root=root, filesystem="overlay",
                     exe_device="0:%d" % rng.randrange(40, 400))
    host = device.service("containerd.service")
    shim = g.spawn(device.containerd, "/usr/bin/containerd-shim-runc-v2", [
        "/usr/bin/containerd-shim-runc-v2", "-namespace", "moby" if device.role == "ci"
        else "k8s.io", "-id", container, "-address", "/run/containerd/containerd.sock"],
        session=host, cwd="/run/containerd/io.containerd.runtime.v2.task/moby/" + container)
    runc = g.spawn(shim, "/usr/sbin/runc", [
        "runc", "--root", "/var/run/docker/runtime-runc/moby", "--log",
        "/run/containerd/io.containerd.runtime.v2.task/moby/%s/log.json" % container,
        "--log-format", "json", "create", "--bundle",
        "/run/containerd/io.containerd.runtime.v2.task/moby/" + container, "--pid-file",
        "/run/containerd/io.containerd.runtime.v2.task/moby/%s/init.pid" % container,
        container], cwd="/run/containerd/io.containerd.runtime.v2.task/moby/" + container,
        filename="/usr/sbin/runc")
    clone = g.spawn(runc, g.catalog["runc-memfd"], ["runc", "init"], session=inside,
                    filename="/proc/self/exe", cwd="/", ns_pid=1)
    inside.namespace_pid = 1
    binary = g.catalog.add(root + path, Binary(root + path, size, version=image,
                                               hash_key=image + path))
    entry = g.spawn(clone, binary, argv, session=inside, fork=False, cwd="/",
                    filename=path,
                    ns_pid=1)
    if image.startswith("golang"):
        for package in ("./lib", "./cmd/server"):
            g.spawn(entry, binary, ["go", "vet", package], cwd="/src")
    return True


def wine_session(g, device, user=None):
    """First Wine start of a user: wineserver and Wine's own programs."""
    user = user or device.people[0]
    key = user.name
    if key in device.wine:
        return device.wine[key]
    if device.role == "workstation" and user is device.desktop_session.user:
        shell, _ = terminal(g, device)
    else:
        shell, _ = ssh_login(g, device, user)
    g.spawn(shell, "/usr/lib/wine/wineserver64", ["/usr/lib/wine/wineserver64"])
    services = None
    for exe, args, description in WINE_PROGRAMS:
        binary = wine_binary(g, user, "C:\\windows\\system32\\" + exe, {
            "type": "PE32+", "file_version": "8.0.0.0",
            "strings": ("Microsoft Corporation", "Wine", "8.0", exe, exe, description)})
        parent = services or shell
        proc = wine_spawn(g, parent, binary, ["C:\\windows\\system32\\" + exe] + args, user)
        if exe == "services.exe":
            services = proc
    device.wine[key] = (shell, services)
    return device.wine[key]


WINE_PROGRAMS = (
    ("wineboot.exe", ["--init"], "Wine bootstrap"),
    ("services.exe", [], "Wine services"),
    ("plugplay.exe", [], "Wine plug and play service"),
    ("winedevice.exe", [], "Wine device manager"),
    ("svchost.exe", ["-k", "LocalServiceNetworkRestricted"], "Wine service host"),
    ("rpcss.exe", [], "Wine RPC subsystem"),
    ("explorer.exe", ["/desktop"], "Wine Explorer"),
)


def windows_command_line(argv):
    """A Windows command line: arguments with spaces in double quotes."""
    return " ".join('"%s"' % a if " " in a or a == "" else a for a in argv)


def wine_binary(g, user, windows_path, pe):
    """A Windows program in user's Wine prefix (C: = ~/.wine/drive_c)."""
    prefix = user.home + "/.wine"
    linux = prefix + "/drive_c/" + windows_path[3:].replace("\\", "/")
    key = "wine:" + windows_path + ":" + (pe["strings"][0] if pe else "")
    return g.catalog.add(key, Binary(linux, 100000 + int(digest("md5", key)[:6], 16),
                                     version=pe["strings"][2] if pe else "", pe=pe,
                                     windows_path=windows_path, wine_prefix_path=linux))


def wine_spawn(g, parent, binary, argv, user, double_fork=None, mark=False):
    """A Windows program started under Wine: one record, as the agent emits it.

    From a Linux shell the initiating process is the shell; from a Windows
    process (double fork) it is the forked copy of that process."""
    prefix = user.home + "/.wine"
    if double_fork is None:
        double_fork = parent.binary.is_pe
    if double_fork:
        parent = g.fork_only(parent)
    loader = ["/usr/lib/wine/wine64-preloader", "/usr/lib/wine/wine64"] + argv
    wine = ',"WineLoader":"/usr/lib/wine/wine64-preloader","WinePrefix":%s,"WineLinuxPath":%s' % (
        js(prefix), js(binary.linux_path))
    return g.spawn(parent, binary, loader, command_line=windows_command_line(argv),
                   cwd=prefix + "/drive_c/windows/system32" if double_fork else user.home,
                   filename="/usr/bin/wine", wine=wine, mark=mark)


def wine_use(g, device):
    if device.role != "workstation":
        return False
    rng = g.rng
    shell, services = wine_session(g, device)
    user = device.people[0]
    exe, product, company, description = rng.choice((
        ("notepad.exe", "Wine", "Microsoft Corporation", "Wine Notepad"),
        ("winecfg.exe", "Wine", "Microsoft Corporation", "Wine configuration editor"),
        ("7zFM.exe", "7-Zip", "Igor Pavlov", "7-Zip File Manager"),
        ("notepad++.exe", "Notepad++", "Don HO don.h@free.fr", "Notepad++"),
    ))
    folder = {"7zFM.exe": "C:\\Program Files\\7-Zip\\",
              "notepad++.exe": "C:\\Program Files\\Notepad++\\"}.get(
                  exe, "C:\\windows\\system32\\")
    binary = wine_binary(g, user, folder + exe, {
        "type": "PE32+", "file_version": "8.0.0.0",
        "strings": (company, product, "8.0", exe, exe, description)})
    wine_spawn(g, shell, binary, [folder + exe], user)
    return True


BACKGROUND = (
    (cron_job, 28),
    (systemd_timer, 10),
    (monitoring_check, 22),
    (interactive_session, 14),
    (build_job, 6),
    (container_start, 8),
    (wine_use, 1),
)


# ---------------------------------------------------------------------------
# Remote-management tools the rule pack finds (one profile per rule at least).

# rule, Windows path, company, product, description, version, original file name, args
WINDOWS_RMM = (
    ("rmm_action1_createproc", "C:\\Windows\\Action1\\action1_agent.exe",
     "Action1 Corporation", "Action1 RMM Agent", "Action1 Agent", "5.195.0.1",
     "action1_agent.exe", ["service"]),
    ("rmm_aeroadmin_createproc", "C:\\Users\\Public\\Downloads\\AeroAdmin.exe",
     "AeroAdmin LLC", "AeroAdmin", "AeroAdmin", "4.9.0.3812", "AeroAdmin.exe", []),
    ("rmm_ammyy_createproc", "C:\\Users\\Public\\AA_v3.exe", "Ammyy LLC", "Ammyy Admin",
     "Ammyy Admin", "3.10.0.0", "AA_v3.exe", ["-outid"]),
    ("rmm_anydesk_createproc", "C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe",
     "AnyDesk Software GmbH", "AnyDesk", "AnyDesk", "8.0.8.0", "AnyDesk.exe", ["--service"]),
    ("rmm_anyviewer_createproc", "C:\\Program Files (x86)\\AnyViewer\\RCService.exe",
     "AOMEI International Network Limited", "AnyViewer", "AnyViewer Service", "3.2.0.0",
     "RCService.exe", []),
    ("rmm_atera_createproc", "C:\\Program Files\\ATERA Networks\\AteraAgent\\AteraAgent.exe",
     "Atera Networks", "AteraAgent", "AteraAgent", "1.8.6.7", "AteraAgent.exe", []),
    ("rmm_awesun_createproc", "C:\\Program Files\\Aweray\\AweSun\\AweSun.exe",
     "AweRay Limited", "AweSun", "AweSun", "2.0.0.0", "AweSun.exe", ["--mod=service"]),
    ("rmm_barracudarmm_createproc",
     "C:\\Program Files (x86)\\Barracuda MSP\\Service Center\\SCAgent.exe",
     "Barracuda MSP", "Managed Workplace", "Service Center Agent", "12.0.0.0", "SCAgent.exe",
     []),
    ("rmm_beyondtrust_createproc",
     "C:\\ProgramData\\bomgar-scc-0x6491c2b5\\bomgar-scc.exe", "BeyondTrust Corporation",
     "BeyondTrust Remote Support", "Remote Support Customer Client", "23.2.1.0",
     "bomgar-scc.exe", ["-service"]),
    ("rmm_chromerdp_createproc",
     "C:\\Program Files (x86)\\Google\\Chrome Remote Desktop\\118.0.5993.11\\remoting_host.exe",
     "Google LLC", "Chrome Remote Desktop", "Host Process", "118.0.5993.11",
     "remoting_host.exe", ["--type=daemon"]),
    ("rmm_connectwise_createproc",
     "C:\\Program Files (x86)\\ScreenConnect Client (a6f47c1b2e3d9f80)\\"
     "ScreenConnect.ClientService.exe", "ScreenConnect Software", "ScreenConnect",
     "ScreenConnect Client Service", "23.9.8.8811", "ScreenConnect.ClientService.exe",
     ["?e=Access&y=Guest&h=relay.example.net&p=8041&s=6c1d2f9e"]),
    ("rmm_dameware_createproc", "C:\\Windows\\dwrcs\\DWRCS.EXE", "SolarWinds Worldwide, LLC",
     "DameWare Mini Remote Control", "DameWare Mini Remote Control Service", "12.2.4.11",
     "DWRCS.EXE", []),
    ("rmm_desktopnow_createproc",
     "C:\\Program Files (x86)\\NCH Software\\DesktopNow\\desktopnow.exe", "NCH Software",
     "DesktopNow", "DesktopNow Remote Access", "1.08", "desktopnow.exe", []),
    ("rmm_distantdesktop_createproc", "C:\\Users\\Public\\Downloads\\dd.exe",
     "Distant Software", "Distant Desktop", "Distant Desktop", "1.5.3.0", "dd.exe", []),
    ("rmm_fleetdeck_createproc", "C:\\Program Files\\FleetDeck\\fleetdeck_agent_svc.exe",
     "FleetDeck Inc", "FleetDeck Agent", "FleetDeck Agent Service", "1.4.3.0",
     "fleetdeck_agent_svc.exe", []),
    ("rmm_getscreen_createproc", "C:\\Program Files\\Getscreen.me\\getscreen.exe",
     "Getscreen.me", "Getscreen.me", "Getscreen.me agent", "2.21.3.0", "getscreen.exe",
     ["-service"]),
    ("rmm_islonline_createproc",
     "C:\\Program Files (x86)\\ISL Online\\ISL Light\\ISLLight.exe", "XLAB d.o.o.",
     "ISL Light", "ISL Light Client", "4.4.2333.12", "ISLLight.exe", []),
    ("rmm_iperiusremote_createproc", "C:\\ProgramData\\IperiusRemote\\IperiusRemote.exe",
     "Enter Srl", "Iperius Remote", "Iperius Remote", "4.2.0.0", "IperiusRemote.exe", []),
    ("rmm_level_createproc", "C:\\Program Files\\Level\\level.exe", "", "", "", "", "", []),
    ("rmm_litemanager_createproc",
     "C:\\Program Files (x86)\\LiteManagerFree - Server\\ROMServer.exe", "LiteManager Team",
     "LiteManager", "LiteManager Server", "5.0.0.0", "ROMServer.exe", []),
    ("rmm_logmein_createproc", "C:\\Program Files (x86)\\LogMeIn\\x64\\LogMeIn.exe",
     "LogMeIn, Inc.", "LogMeIn", "LogMeIn", "4.1.14895", "LogMeIn.exe", []),
    ("rmm_msp360_cloudberry_createproc",
     "C:\\Program Files\\MSP360 Remote Assistant\\Remote Desktop.exe", "MSP360",
     "MSP360 Remote Assistant", "Remote Assistant", "2.9.0.0", "Remote Desktop.exe", []),
    ("rmm_meshcentral_createproc", "C:\\Program Files\\Mesh Agent\\MeshAgent.exe", "",
     "MeshCentral Background Service Agent", "MeshCentral Agent", "2022.8.2.0",
     "MeshAgent.exe", []),
    ("rmm_nable_createproc",
     "C:\\Program Files (x86)\\N-able Technologies\\Windows Agent\\bin\\agent.exe",
     "N-able Technologies", "Windows Agent", "Windows Agent", "2023.4.0.0", "agent.exe", []),
    ("rmm_naverisk_createproc", "C:\\Program Files (x86)\\Naverisk\\Agent\\AgentService.exe",
     "NavMK1 Limited", "Naverisk Agent", "Naverisk Agent Service", "9.4.0.0",
     "AgentService.exe", []),
    ("rmm_netsupport_createproc", "C:\\Users\\Public\\Music\\client32.exe",
     "NetSupport Ltd", "NetSupport Remote Control", "NetSupport Client Application",
     "12.10.0.0", "client32.exe", ["/*"]),
    ("rmm_ninjarmm_createproc",
     "C:\\Program Files (x86)\\acme-5.7.8836\\NinjaRMMAgent.exe", "NinjaRMM LLC",
     "NinjaRMM Agent", "NinjaRMM Agent", "5.7.8836.0", "NinjaRMMAgent.exe", ["/service"]),
    ("rmm_optitune_createproc",
     "C:\\Program Files (x86)\\Bravura Software\\OptiTune\\OTService.exe",
     "Bravura Software LLC", "OptiTune", "OptiTune Service", "5.2.0.0", "OTService.exe", []),
    ("rmm_pdq_createproc", "C:\\Program Files\\PDQ\\PDQConnectAgent\\pdq-connect-agent.exe",
     "PDQ.com Corporation", "PDQConnectAgent", "PDQ Connect Agent", "4.3.0.0",
     "pdq-connect-agent.exe", []),
    ("rmm_panorama9_createproc", "C:\\Program Files (x86)\\Panorama9\\p9agent.exe",
     "Panorama9", "Panorama9 Agent", "Panorama9 Agent", "3.7.0.0", "p9agent.exe", []),
    ("rmm_pcvisit_createproc",
     "C:\\Program Files (x86)\\pcvisit Software AG\\pcvisit Host\\pcvisit_service.exe",
     "pcvisit Software AG", "pcvisit Host", "pcvisit Host Service", "20.1.0.0",
     "pcvisit_service.exe", []),
    ("rmm_pulseway_createproc", "C:\\Program Files\\Pulseway\\PCMonitorSrv.exe",
     "MMSoft Design Ltd.", "Pulseway", "Pulseway Service", "9.4.0.0", "PCMonitorSrv.exe",
     []),
    ("rmm_rport_createproc", "C:\\Program Files\\rport\\rport.exe", "RealVNC Ltd", "rport",
     "rport windows client", "0.9.12", "main.go", ["-c", "C:\\Program Files\\rport\\"
                                                   "rport.conf"]),
    ("rmm_realvnc_createproc", "C:\\Program Files\\RealVNC\\VNC Server\\vncserver.exe",
     "RealVNC Ltd", "VNC Server", "VNC Server", "7.6.0.0", "vncserver.exe", ["-service"]),
    ("rmm_remotedesktopplus_createproc", "C:\\Users\\Public\\Downloads\\rdp.exe",
     "www.donkz.nl", "Remote Desktop Plus", "Remote Desktop Plus", "7.0.0.0", "rdp.exe",
     ["/v:10.0.8.15"]),
    ("rmm_remotepc_createproc",
     "C:\\Program Files (x86)\\RemotePC\\RemotePCService.exe", "IDrive Inc.", "RemotePC",
     "RemotePC Service", "7.6.80.0", "RemotePCService.exe", []),
    ("rmm_remoteutilities_createproc",
     "C:\\Program Files (x86)\\Remote Utilities - Host\\rutserv.exe", "Remote Utilities LLC",
     "Remote Utilities - Host", "Remote Utilities Host Service", "7.2.2.0", "rutserv.exe",
     ["-service"]),
    ("rmm_rustdesk_createproc", "C:\\Program Files\\RustDesk\\rustdesk.exe", "Purslane Ltd",
     "RustDesk", "RustDesk Remote Desktop", "1.2.3.0", "rustdesk.exe", ["--service"]),
    ("rmm_screenmeet_createproc", "C:\\Program Files\\ScreenMeet\\ScreenMeetSupport.exe",
     "Projector Inc.", "ScreenMeet Support", "ScreenMeet Support", "4.3.0.0",
     "ScreenMeetSupport.exe", []),
    ("rmm_servereye_createproc",
     "C:\\Program Files (x86)\\Server-Eye\\service\\ServerEye.Service.exe",
     "Krämer IT Solutions GmbH", "Server-Eye", "Server-Eye Service", "4.0.0.0",
     "ServerEye.Service.exe", []),
    ("rmm_showmypc_createproc", "C:\\Users\\Public\\Downloads\\ShowMyPC3150.exe", "ShowMyPC",
     "ShowMyPC", "ShowMyPC", "3.1.5.0", "ShowMyPC.exe", []),
    ("rmm_simplehelp_createproc",
     "C:\\ProgramData\\JWrapper-Remote Access\\JWAppsSharedConfig\\Remote Access.exe",
     "SimpleHelp Ltd", "SimpleHelp Remote Access", "Remote Access", "5.5.0.0",
     "Remote Access.exe", []),
    ("rmm_splashtop_createproc",
     "C:\\Program Files (x86)\\Splashtop\\Splashtop Remote\\Server\\SRServer.exe",
     "Splashtop Inc.", "Splashtop Streamer", "Splashtop Remote Server", "3.6.2.0",
     "SRServer.exe", []),
    ("rmm_supremo_createproc", "C:\\Program Files (x86)\\Supremo\\Supremo.exe",
     "NanoSystems S.r.l.", "SupRemo", "SupRemo", "4.10.3.0", "Supremo.exe", []),
    ("rmm_syncromsp_createproc",
     "C:\\Program Files\\RepairTech\\Syncro\\Syncro.Service.Runner.exe", "Servably, Inc.",
     "Syncro", "Syncro Service Runner", "1.0.184.0", "Syncro.Service.Runner.exe", []),
    ("rmm_tacticalrmm_createproc", "C:\\Program Files\\TacticalAgent\\tacticalrmm.exe",
     "AmidaWare Inc", "Tactical RMM Agent", "Tactical RMM Agent", "2.6.0.0",
     "tacticalrmm.exe", ["-m", "svc"]),
    ("rmm_teamviewer_createproc", "C:\\Program Files\\TeamViewer\\TeamViewer_Service.exe",
     "TeamViewer Germany GmbH", "TeamViewer", "TeamViewer 15", "15.48.4.0",
     "TeamViewer_Service.exe", []),
    ("rmm_tigervnc_createproc", "C:\\Program Files\\TigerVNC Server\\winvnc4.exe",
     "TigerVNC project", "TigerVNC Server", "TigerVNC Server", "1.13.1.0", "winvnc4.exe",
     ["-noconsole"]),
    ("rmm_tightvnc_createproc", "C:\\Program Files\\TightVNC\\tvnserver.exe", "GlavSoft LLC.",
     "TightVNC", "TightVNC Server", "2.8.81.0", "tvnserver.exe", ["-service"]),
    ("rmm_ultraviewer_createproc",
     "C:\\Program Files (x86)\\UltraViewer\\UltraViewer_Service.exe", "DucFabulous",
     "UltraViewer", "UltraViewer Service", "6.6.0.0", "UltraViewer_Service.exe", []),
    ("rmm_xmreality_createproc", "C:\\Program Files\\XMReality\\XMReality.exe", "XMReality AB",
     "XMReality Remote Guidance", "XMReality", "6.10.0.0", "XMReality.exe", []),
    ("rmm_zohoassist_createproc", "C:\\Program Files (x86)\\ZohoMeeting\\agent.exe",
     "Zoho Corporation Pvt. Ltd.", "Zoho Assist", "Zoho Assist Agent", "111.0.3.0",
     "ZA_Agent.exe", []),
    ("rmm_mremoteng_createproc", "C:\\Program Files (x86)\\mRemoteNG\\mRemoteNG.exe",
     "mRemoteNG", "mRemoteNG", "Multi-Remote Next Generation Connection Manager", "1.76.20.0",
     "mRemoteNG.exe", []),
    ("rmm_parsec.app_createproc", "C:\\Program Files\\Parsec\\parsecd.exe",
     "Parsec Cloud, Inc.", "Parsec", "Parsec", "150.93.0.0", "parsecd.exe", []),
    ("rmm_dwservice_createproc", "C:\\Program Files\\DWAgent\\native\\dwagsvc.exe", "", "",
     "", "", "", ["run"]),
    ("openrport_windows_client", "C:\\Program Files\\openrport\\rport.exe", "OpenRport",
     "rport", "rport windows client", "0.9.13", "main.go",
     ["-c", "C:\\Program Files\\openrport\\rport.conf"]),
)


def windows_tool(entry, via_service=None):
    """A profile: a Windows RMM program run under Wine on a workstation-like host."""
    rule, path, company, product, description, version, original, args = entry

    def profile(g, device):
        user = device.people[0]
        shell, services = wine_session(g, device, user)
        pe = None
        if company or product:
            pe = {"type": "PE32+", "file_version": version if version.count(".") == 3
                  else version + ".0",
                  "strings": (company, product, version, path.rsplit("\\", 1)[-1], original,
                              description)}
        binary = wine_binary(g, user, path, pe)
        service = via_service if via_service is not None else g.rng.random() < 0.5
        wine_spawn(g, services if service else shell, binary, [path] + args, user, mark=True)
        return True
    profile.rule = rule
    return profile


def rport_msi(g, device):
    """The MSI build of the RPort client: company 'RealVNC Ltd.'."""
    user = device.people[0]
    shell, services = wine_session(g, device, user)
    path = "C:\\Program Files\\RPort\\rport.exe"
    binary = wine_binary(g, user, path, {
        "type": "PE32+", "file_version": "0.9.12.0",
        "strings": ("RealVNC Ltd.", "rport", "0.9.12", "rport.exe",
                    "https://github.com/realvnc-labs/rport", "RPort client for Windows")})
    wine_spawn(g, services, binary, [path, "--service", "start", "-c",
                                     "C:\\Program Files\\RPort\\rport.conf"], user, mark=True)
    return True


RPORT_GO = {
    "cloudradar-monitoring": ("github.com/cloudradar-monitoring/rport", "go1.16.15",
                              "0.5.0"),
    "realvnc-labs": ("github.com/realvnc-labs/rport", "go1.20.8", "0.9.12"),
    "openrport": ("github.com/openrport/openrport", "go1.21.3", "0.9.13"),
}


def rport_binary(g, path, namespace, server=False, package=""):
    module, go_version, release = RPORT_GO[namespace]
    main = module + ("/cmd/rportd" if server else "/cmd/rport")
    go = {"go": go_version, "main": main, "module": module,
          "revision": digest("sha1", module, release), "vcs_time": "2023-09-14T08:21:37Z"}
    return g.catalog.add("rport:" + path + namespace, Binary(
        path, 21_000_000 if server else 11_800_000, package,
        release + "-1" if package else release, go=go, static=True))


def linux_rport_service(g, device):
    """rport.service: systemd runs the packaged client as user rport."""
    binary = rport_binary(g, "/usr/bin/rport", "realvnc-labs", package="rport")
    session = device.service("rport.service", device.service_users["rport"])
    g.spawn(device.systemd, binary, ["/usr/bin/rport", "-c", "/etc/rport/rport.conf"],
            session=session, cwd="/", mark=True)
    return True


def linux_rport_install(g, device):
    """An admin installs the client as a service from /usr/local/bin."""
    shell, session = ssh_login(g, device)
    binary = rport_binary(g, "/usr/local/bin/rport", "cloudradar-monitoring")
    argv = ["rport", "--service", "install", "--service-user", "rport", "--config",
            "/etc/rport/rport.conf"]
    sudo = g.spawn(shell, "/usr/bin/sudo", ["sudo"] + argv)
    g.spawn(sudo, binary, argv, session=session.as_user(device.root_user),
            filename="/usr/local/bin/rport", mark=True)
    return True


def linux_rport_renamed(g, device):
    """The client renamed and hidden, connection on the command line: only its
    Go build info gives it away."""
    shell, session = ssh_login(g, device)
    binary = rport_binary(g, "/dev/shm/.cache/kworker", "openrport")
    g.spawn(shell, binary, ["./kworker", "--auth", "clientAuth1:1234", "--fingerprint",
                            "2a:c8:79:09:80:ba:7c:60:05:e5:2c:99:6d:75:56:24",
                            "rport.example.net:8080", "R:2222:127.0.0.1:22"],
            cwd="/dev/shm/.cache", filename="./kworker", mark=True)
    return True


def linux_rport_manual(g, device):
    """A client run by hand from a download folder, with --auth and --fingerprint."""
    shell, session = ssh_login(g, device)
    binary = rport_binary(g, session.user.home + "/rport_0.9.12_Linux_x86_64/rport",
                          "realvnc-labs")
    g.spawn(shell, binary, ["./rport", "--auth", "client1:s3cr3t", "--fingerprint",
                            "36:98:56:12:f3:dc:e5:8d:ac:96:48:23:b6:f0:42:15",
                            "rport.example.net:8080", "R:3389"],
            cwd=session.user.home + "/rport_0.9.12_Linux_x86_64", filename="./rport", mark=True)
    return True


def linux_dwagent(g, device):
    """DWAgent on Linux: the service binary from /usr/share/dwagent."""
    binary = g.catalog.add("dwagsvc", Binary("/usr/share/dwagent/native/dwagsvc", 64320))
    session = device.service("dwagent.service")
    svc = g.spawn(device.systemd, binary, ["/usr/share/dwagent/native/dwagsvc", "run"],
                  session=session, cwd="/usr/share/dwagent", mark=True)
    runtime = g.catalog.add("dwagent-runtime", Binary(
        "/usr/share/dwagent/runtime/bin/dwagent", 14432))
    g.spawn(svc, runtime, ["/usr/share/dwagent/runtime/bin/dwagent", "-S", "-m", "agent"],
            cwd="/usr/share/dwagent", mark=True)
    return True


def tag(rule, function):
    function.rule = rule
    return function


RMM_PROFILES = [windows_tool(entry) for entry in WINDOWS_RMM] + [
    tag("rmm_rport_createproc", rport_msi),
    tag("linux_rport_client", linux_rport_service),
    tag("linux_rport_client", linux_rport_install),
    tag("linux_rport_client", linux_rport_renamed),
    tag("linux_rport_client", linux_rport_manual),
    tag("rmm_dwservice_createproc", linux_dwagent),
]


# ---------------------------------------------------------------------------
# Near-misses: records that resemble a rule's target and must not hit it.

def near_vncviewer(g, device):
    """RealVNC's viewer: company 'RealVNC Ltd', product 'vncviewer' (not RPort)."""
    return windows_tool(("", "C:\\Program Files\\RealVNC\\VNC Viewer\\vncviewer.exe",
                         "RealVNC Ltd", "vncviewer", "VNC Viewer", "7.6.0.0", "vncviewer.exe",
                         ["10.0.3.7::5900"]), via_service=False)(g, device)


def near_rportd_pe(g, device):
    """A PE whose product is 'rportd': 'rportd' has 'rport' is false."""
    return windows_tool(("", "C:\\Program Files\\rportd\\rportd.exe", "RealVNC Ltd",
                         "rportd", "rport server", "0.9.12", "main.go",
                         ["-c", "C:\\Program Files\\rportd\\rportd.conf"]))(g, device)


def near_rportd_linux(g, device):
    """The RPort server on Linux: main package .../cmd/rportd, config rportd.conf."""
    binary = rport_binary(g, "/usr/local/bin/rportd", "realvnc-labs", server=True)
    session = device.service("rportd.service", device.service_users["rport"])
    g.spawn(device.systemd, binary, ["/usr/local/bin/rportd", "--data-dir", "/var/lib/rport",
                                     "-c", "/etc/rport/rportd.conf"], session=session, cwd="/", mark=True)
    return True


def near_rport_admin(g, device):
    """Commands that mention the client's files without running the client."""
    shell, session = ssh_login(g, device)
    root = session.as_user(device.root_user)
    for argv, path in ((["vim", "/etc/rport/rport.conf"], "/usr/bin/vim.basic"),
                       (["systemctl", "restart", "rport"], "/usr/bin/systemctl"),
                       (["journalctl", "-u", "rport", "-f"], "/usr/bin/journalctl"),
                       (["apt-get", "install", "-y", "rport"], "/usr/bin/apt-get"),
                       (["cat", "/etc/rport/rport.conf"], "/usr/bin/cat")):
        sudo = g.spawn(shell, "/usr/bin/sudo", ["sudo"] + argv)
        g.spawn(sudo, path, argv, session=root, filename="/usr/bin/" + argv[0], mark=True)
    return True


def near_chisel(g, device):
    """chisel, rport's ancestor, takes --fingerprint and --auth too."""
    shell, session = ssh_login(g, device)
    binary = g.catalog.add("chisel", Binary(session.user.home + "/bin/chisel", 8_900_000,
                                            go={"go": "go1.21.1",
                                                "main": "github.com/jpillora/chisel",
                                                "module": "github.com/jpillora/chisel",
                                                "version": "v1.9.1"}, static=True))
    g.spawn(shell, binary, ["chisel", "client", "--auth", "user:pass", "--fingerprint",
                            "Hn8a0zZ0sLk6dTtaVHGZ9cSwOTcuM1b3mfZUfIcIVuc=",
                            "https://tunnel.example.net", "R:socks"],
            filename=session.user.home + "/bin/chisel", mark=True)
    return True


def near_download(g, device):
    """Downloading RMM installers: command lines name the tools, no version info."""
    shell, session = ssh_login(g, device)
    for url in ("https://download.anydesk.com/linux/anydesk_6.3.0-1_amd64.deb",
                "https://download.teamviewer.com/download/linux/teamviewer_amd64.deb",
                "https://github.com/realvnc-labs/rport/releases/download/0.9.12/"
                "rport_0.9.12_Linux_x86_64.tar.gz"):
        g.spawn(shell, "/usr/bin/curl", ["curl", "-fsSLO", url], cwd=session.user.home, mark=True)
    return True


NEAR_MISSES = [near_vncviewer, near_rportd_pe, near_rportd_linux, near_rport_admin,
               near_chisel, near_download]


# ---------------------------------------------------------------------------

def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be at least 1")
    return value


def fraction(text):
    value = float(text)
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"{text}: must be between 0 and 0.5")
    return value


def span(text):
    value = float(text)
    if not 0.0 < value <= 3650:
        raise argparse.ArgumentTypeError(f"{text}: must be in (0, 3650] days")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write realistic DeviceProcessEvents records (NDJSON) for tests and "
                    "benchmarks. Same --seed and --end: same output.")
    parser.add_argument("--count", type=int, default=10000,
                        help="number of records (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--span-days", type=span, default=5.0,
                        help="records spread over this many days ending at --end (default 5)")
    parser.add_argument("--end", type=parse_end, default="now",
                        help="end of the span: 'now' (default) or UTC "
                             "YYYY-MM-DDTHH:MM:SS[.fffffff][Z]")
    parser.add_argument("--devices", type=positive_int, default=8,
                        help="number of hosts (default 8)")
    parser.add_argument("--rmm-fraction", type=fraction, default=0.001,
                        help="share of records that are RMM tools the rules find "
                             "(default 0.001)")
    parser.add_argument("--near-miss-fraction", type=fraction, default=None,
                        help="share of near-miss records (default: --rmm-fraction)")
    parser.add_argument("--output", default="-", help="output file, - for stdout (default)")
    parser.add_argument("--quiet", action="store_true", help="no summary on stderr")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must not be negative")
    if args.near_miss_fraction is None:
        args.near_miss_fraction = args.rmm_fraction
    started = time.monotonic()
    try:
        out = (sys.stdout if args.output == "-" else
               open(args.output, "w", encoding="utf-8", newline="\n"))
    except OSError as error:
        parser.exit(1, f"gen_records: {args.output}: {error.strerror}\n")
    try:
        generator = Generator(args, out)
        generator.run()
        out.flush()
    except BrokenPipeError:
        sys.stderr.close()
        return 1
    except OSError as error:
        parser.exit(1, f"gen_records: {args.output}: {error.strerror}\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if not args.quiet:
        kinds = generator.kinds
        print("gen_records: %d records (%d background, %d rmm, %d near-miss) on %d devices, "
              "%s .. %s, %.1f s" % (
                  generator.emitted, kinds["background"], kinds["rmm"], kinds["near-miss"],
                  len(generator.devices), datetime_text(generator.start),
                  datetime_text(generator.end), time.monotonic() - started), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

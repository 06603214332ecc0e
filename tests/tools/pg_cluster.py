#!/usr/bin/env python3
"""A throwaway PostgreSQL cluster on loopback, for the tests and benchmarks
of the collector's PostgreSQL store (not a mock: Debian's postgresql
server, initdb into a temporary directory).

    python3 tests/tools/pg_cluster.py start DIR    prints the cluster's URL
    python3 tests/tools/pg_cluster.py stop DIR
    python3 tests/tools/pg_cluster.py createdb DIR NAME   prints NAME's URL

As a module: PostgresCluster(directory).start() ... .create_database(name)
... .stop().  The server never runs as root: as root, initdb and the server
run as the `postgres` user (runuser), which owns the directory.  It listens
on 127.0.0.1 on a free port and on a socket in the directory; connections
from loopback are trusted (the cluster lives as long as a test run).
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUPERUSER = "rmmhunt"


def server_binaries():
    """Debian's /usr/lib/postgresql/VERSION/bin, the newest; None when absent."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    def __init__(self, directory=None, settings=None):
        self.bin = server_binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL's server is not installed (apt-get install postgresql)")
        self.directory = Path(directory or tempfile.mkdtemp(prefix="rmmhunt-pg-"))
        self.data = self.directory / "data"
        self.port_file = self.directory / "port"
        self.port = int(self.port_file.read_text()) if self.port_file.exists() else None
        self.settings = dict(settings or {})

    def run_as_owner(self, *args, **kwargs):
        command = [str(arg) for arg in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--"] + command
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        os.chmod(self.directory, 0o700)
        if not self.data.exists():
            self.run_as_owner(self.bin / "initdb", "-D", self.data, "-U", SUPERUSER, "-A", "trust",
                              "-E", "UTF8", "--locale=C", "--no-sync")
        # a restart keeps its port: clients (collectors) reconnect to it
        self.port = self.port or free_port()
        options = [f"-c listen_addresses=127.0.0.1", f"-p {self.port}",
                   f"-k {self.directory}"]
        options += [f"-c {key}={value}" for key, value in self.settings.items()]
        try:
            self.run_as_owner(self.bin / "pg_ctl", "-D", self.data, "-l",
                              self.directory / "server.log", "-o", " ".join(options), "-w",
                              "-t", "60", "start")
        except subprocess.CalledProcessError as error:
            log = (self.directory / "server.log")
            raise RuntimeError("PostgreSQL did not start: " + error.stderr +
                               (log.read_text() if log.exists() else "")) from error
        self.port_file.write_text(f"{self.port}\n")
        return self

    def stop(self, remove=True):
        if self.data.exists():
            subprocess.run((["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
                           + [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                              "-w", "stop"], capture_output=True)
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database="postgres"):
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql, database="postgres"):
        """Runs sql with psql; returns its output (unaligned, tuples only)."""
        result = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d",
                                 self.url(database), "-c", sql],
                                check=True, capture_output=True, text=True)
        return result.stdout

    def psql_file(self, path, database):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(database),
                        "-f", str(path)], check=True, capture_output=True, text=True)

    def create_database(self, name):
        """A fresh empty database (dropped first if it exists); its URL."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        return self.url(name)


def main(argv):
    if len(argv) >= 3 and argv[1] == "start":
        settings = dict(item.split("=", 1) for item in argv[3:])
        print(PostgresCluster(argv[2], settings).start().url())
    elif len(argv) == 3 and argv[1] == "stop":
        PostgresCluster(argv[2]).stop(remove=False)
    elif len(argv) == 4 and argv[1] == "createdb":
        cluster = PostgresCluster(argv[2])
        print(cluster.create_database(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

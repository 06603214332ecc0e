"""Helpers for the collector's end-to-end tests: a real rmmhunt-collector
(TLS with a certificate made by openssl here, or plain HTTP on loopback),
batches built as docs/fleet.md says (gzip'd NDJSON), and a small HTTPS
client on the standard library (http.client + ssl).

Records come from tests/tools/gen_records.py, the realistic generator the
other tests and benchmarks use, with DeviceId/DeviceName set to the
enrolled device's.
"""
import contextlib
import gzip
import http.client
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR = ROOT / "build" / "rmmhunt-collector"
CLI = ROOT / "build" / "rmmhunt"
GEN_RECORDS = ROOT / "tests" / "tools" / "gen_records.py"


# ---- certificates -----------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory, name="rmmhunt test CA"):
    """A CA key and certificate; returns (cert, key) paths."""
    key, cert = directory / f"{name.replace(' ', '_')}.key", directory / f"{name.replace(' ', '_')}.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    return cert, key


def issue(directory, ca, common_name, san=None, client=False, days=2, name=None):
    """A certificate for common_name signed by ca; returns (cert, key)."""
    name = name or common_name.replace(":", "_")
    key, csr, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.pem"
    extensions = directory / f"{name}.ext"
    usage = "clientAuth" if client else "serverAuth"
    lines = ["basicConstraints=CA:FALSE", f"extendedKeyUsage={usage}"]
    if san:
        lines.append(f"subjectAltName={san}")
    extensions.write_text("\n".join(lines) + "\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={common_name}", cwd=directory)
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-out", str(cert), "-days", str(days), "-extfile", str(extensions),
            cwd=directory)
    return cert, key


# ---- the collector ----------------------------------------------------------

class Collector:
    """One rmmhunt-collector process on 127.0.0.1 (port chosen by the kernel)."""

    def __init__(self, workdir, tls=True, client_ca=False, extra_args=(), db=None):
        self.workdir = Path(workdir)
        # a SQLite file, or a postgresql:// URL (conftest.store_location)
        self.db = db or self.workdir / "collector.db"
        self.secret = "enroll-" + secrets.token_urlsafe(24)
        self.token = "analyst-" + secrets.token_urlsafe(24)
        self.secret_file = self.workdir / "enroll.secret"
        self.token_file = self.workdir / "analysts.tokens"
        self.secret_file.write_text(self.secret + "\n")
        self.token_file.write_text("# analysts\n" + self.token + "\n")
        os.chmod(self.secret_file, 0o600)
        os.chmod(self.token_file, 0o600)
        self.tls = tls
        self.client_ca = None
        self.ca = None
        self.extra_args = list(extra_args)
        if tls:
            self.ca = make_ca(self.workdir)
            self.cert, self.key = issue(self.workdir, self.ca, "localhost",
                                        san="DNS:localhost,IP:127.0.0.1")
            if client_ca:
                self.client_ca = make_ca(self.workdir, "rmmhunt fleet CA")
        self.process = None
        self.port = None
        self.stderr_path = self.workdir / "collector.stderr"

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def command(self):
        port_file = self.workdir / "port"
        args = [str(COLLECTOR), "--listen", "127.0.0.1:0", "--db", str(self.db),
                "--enroll-secret-file", str(self.secret_file),
                "--analyst-token-file", str(self.token_file), "--port-file", str(port_file)]
        if self.tls:
            args += ["--tls-cert", str(self.cert), "--tls-key", str(self.key)]
            if self.client_ca:
                args += ["--client-ca", str(self.client_ca[0])]
        else:
            args += ["--insecure-http"]
        return args + self.extra_args

    def start(self, timeout=30):
        port_file = self.workdir / "port"
        if port_file.exists():
            port_file.unlink()
        self._stderr = open(self.stderr_path, "ab")
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                        stderr=self._stderr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text())
                return self
            if self.process.poll() is not None:
                raise AssertionError(f"collector exited with {self.process.returncode}: "
                                     + self.stderr())
            time.sleep(0.02)
        raise AssertionError("collector did not start: " + self.stderr())

    def stderr(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("collector did not stop in time")
        if self.process:
            self._stderr.close()
        return self.process.returncode if self.process else None

    def alive(self):
        return self.process is not None and self.process.poll() is None

    # ---- a client ----

    def ssl_context(self, client_cert=None):
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=str(self.ca[0]))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if client_cert:
            context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
        return context

    def connection(self, timeout=30, client_cert=None):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context(client_cert))
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, bearer=None, client_cert=None,
                timeout=30):
        """Returns (status, headers dict, body bytes)."""
        connection = self.connection(timeout=timeout, client_cert=client_cert)
        headers = dict(headers or {})
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def post_json(self, path, document, bearer=None, **kwargs):
        status, headers, body = self.request(
            "POST", path, json.dumps(document).encode(),
            {"Content-Type": "application/json"}, bearer=bearer, **kwargs)
        return status, json.loads(body) if body else None

    def enroll(self, device_id, device_name="host.example", secret=None):
        status, answer = self.post_json("/v1/enroll", {
            "schema": 1, "enroll_secret": secret or self.secret, "device_id": device_id,
            "device_name": device_name, "agent_version": "0.3.0-test"})
        assert status == 200, answer
        return answer["device_key"]

    def post_batch(self, key, body, gzip_it=True, compressed=False, **kwargs):
        """gzip_it: compress body; compressed: body is gzip already."""
        headers = {"Content-Type": "application/x-ndjson"}
        if gzip_it and not compressed:
            body = gzip.compress(body)
        if gzip_it or compressed:
            headers["Content-Encoding"] = "gzip"
        status, _, answer = self.request("POST", "/v1/events", body, headers, bearer=key, **kwargs)
        try:
            return status, json.loads(answer)
        except ValueError:
            return status, answer

    def query(self, kql, token=None):
        status, answer = self.post_json("/v1/query", {"query": kql, "format": "rows"},
                                        bearer=token or self.token)
        return status, answer

    def rows(self, kql):
        status, answer = self.query(kql)
        assert status == 200, answer
        names = [column["name"] for column in answer["columns"]]
        return [dict(zip(names, row)) for row in answer["rows"]]

    def count(self, table="DeviceProcessEvents", where=""):
        rows = self.rows(f"{table} {where} | count")
        return rows[0]["Count"]

    def admin(self, *args):
        return subprocess.run([str(COLLECTOR), "devices", *args, "--db", str(self.db)],
                              capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def running_collector(prefix="rmmhunt-collector-", **kwargs):
    with tempfile.TemporaryDirectory(prefix=prefix) as directory:
        collector = Collector(directory, **kwargs).start()
        try:
            yield collector
        finally:
            collector.stop()


# ---- batches ------------------------------------------------------------------

def device_id(seed):
    """A DeviceId as the agent makes them: 40 lower-case hex."""
    import hashlib
    return hashlib.sha1(f"test-device-{seed}".encode()).hexdigest()


def generate_records(count, seed=1, end=None, devices=1, rmm_fraction=0.01, span_days=2):
    """count realistic records (dicts, table order)."""
    command = [sys.executable, str(GEN_RECORDS), "--count", str(count), "--seed", str(seed),
               "--devices", str(devices), "--rmm-fraction", str(rmm_fraction),
               "--span-days", str(span_days), "--quiet"]
    if end:
        command += ["--end", end]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in output.splitlines()]


def as_device(records, device, name="host.example"):
    out = []
    for record in records:
        record = dict(record)
        record["DeviceId"] = device
        record["DeviceName"] = name
        out.append(record)
    return out


def iso_now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%07dZ" % int((now % 1) * 1e7)


def batch_body(device, records=(), hits=(), summaries=(), batch=None, name="host.example",
               schema=1):
    """The NDJSON text of a batch (bytes, not compressed)."""
    header = {"schema": schema, "batch": batch or f"{device}-E1-{len(records)}-H0-0",
              "device_id": device, "device_name": name, "sent": iso_now()}
    lines = [json.dumps(header)]
    lines += [json.dumps({"kind": "record", "row": record}) for record in records]
    lines += [json.dumps({"kind": "hit", "rule": rule, "row": record}) for rule, record in hits]
    lines += [json.dumps(summary) for summary in summaries]
    return ("\n".join(lines) + "\n").encode()


def heartbeat(device, name="host.example", interval=60, losses=None, **extra):
    body = {"schema": 1, "device_id": device, "device_name": name, "sent": iso_now(),
            "interval_seconds": interval, "agent_version": "0.3.0-test",
            "kernel": "6.1.0-test", "os": "Debian GNU/Linux 12 (bookworm)",
            "architecture": "x86_64", "rules": {"loaded": 57, "skipped": 0},
            "losses": losses or {"probe.exec_lost": 0},
            "cache": {"bytes": 1234, "records": 10, "oldest": iso_now()},
            "outbox": {"records": 0, "hits": 0, "oldest": None, "dropped_records": 0,
                       "dropped_hits": 0},
            "last_error": ""}
    body.update(extra)
    return body


def wait_until(predicate, timeout=30, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def raw_socket(collector, timeout=30):
    """A raw (TLS) socket to the collector, for hostile clients."""
    sock = socket.create_connection(("127.0.0.1", collector.port), timeout=timeout)
    if collector.tls:
        sock = collector.ssl_context().wrap_socket(sock, server_hostname="localhost")
    return sock

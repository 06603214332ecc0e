"""Issue 8, the fleet: hostile and broken clients against a real TLS
collector, while a good agent keeps posting batches.

Each test runs one bad client (slowloris, idle connection, gzip bomb,
oversized body, too many connections, garbage JSON, wrong types, unknown
schema, revoked key, spoofed DeviceId, analyst token writing, device key
querying, ...) while a thread posts good batches with its own device key.
Each asserts the answer the bad client gets, that nothing of it was stored,
and that the good client's batches kept being stored during it, all of
them exactly once.  Every test runs against both stores: SQLite and
PostgreSQL (a throwaway cluster, conftest.postgres_cluster).
"""
import contextlib
import gzip
import json
import socket
import ssl
import threading
import time

import pytest

from conftest import BACKENDS, require_tools, store_location
from collector import (Collector, as_device, batch_body, device_id, generate_records,
                       heartbeat, raw_socket, wait_until)

IDLE_TIMEOUT = 2
REQUEST_TIMEOUT = 3
MAX_CONNECTIONS = 16
MAX_BODY = 1 << 20
MAX_DECOMPRESSED = 8 << 20


@pytest.fixture(scope="module")
def records():
    require_tools("openssl")
    return generate_records(300, seed=21)


@pytest.fixture(scope="module", params=BACKENDS)
def collector(request, tmp_path_factory):
    """One collector per store backend: every test runs against both."""
    require_tools("openssl")
    workdir = tmp_path_factory.mktemp("hostile")
    c = Collector(workdir, tls=True, db=store_location(request, request.param, workdir),
                  extra_args=[
        "--idle-timeout", str(IDLE_TIMEOUT), "--request-timeout", str(REQUEST_TIMEOUT),
        "--max-connections", str(MAX_CONNECTIONS), "--max-body", str(MAX_BODY),
        "--max-decompressed", str(MAX_DECOMPRESSED)]).start()
    yield c
    assert c.alive(), "the collector died: " + c.stderr()
    c.stop()


class GoodClient(threading.Thread):
    """Posts batches of fresh records until stopped; retries on 503."""

    def __init__(self, collector, records, name):
        super().__init__(daemon=True)
        self.collector = collector
        self.device = device_id(name)
        self.key = collector.enroll(self.device, f"{name}.example")
        self.template = as_device(records[:40], self.device, f"{name}.example")
        self.next_report = 1
        self.stored = 0
        self.batches = []  # monotonic times of acknowledged batches
        self.errors = []
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            rows = []
            for row in self.template:
                row = dict(row)
                row["ReportId"] = self.next_report
                self.next_report += 1
                rows.append(row)
            body = batch_body(self.device, rows, name=f"{self.device}.example")
            while not self.stop_flag.is_set():
                try:
                    status, answer = self.collector.post_batch(self.key, body, timeout=20)
                except (OSError, ssl.SSLError) as error:
                    self.errors.append(repr(error))
                    time.sleep(0.1)
                    continue
                if status == 503:
                    time.sleep(0.2)
                    continue
                if status != 200:
                    self.errors.append((status, answer))
                    return
                self.stored += answer["records"] + answer["duplicates"]
                self.batches.append(time.monotonic())
                break

    def during(self, started, ended):
        return sum(1 for moment in self.batches if started <= moment <= ended)


@contextlib.contextmanager
def good_client(collector, records, name):
    client = GoodClient(collector, records, name)
    client.start()
    assert wait_until(lambda: client.batches, 20), f"no good batch stored: {client.errors}"
    started = time.monotonic()
    yield client
    ended = time.monotonic()
    time.sleep(0.3)
    client.stop_flag.set()
    client.join(60)
    assert not client.errors or all(isinstance(e, str) for e in client.errors), client.errors
    assert client.during(started, ended) > 0, "the good client stalled during the attack"
    count = collector.count(where=f"| where DeviceId == '{client.device}'")
    assert count == client.next_report - 1 or count == client.stored, (count, client.stored)
    assert count >= client.stored


def hostile_device(collector, name):
    device = device_id(name)
    return device, collector.enroll(device, f"{name}.example")


def nothing_stored(collector, device):
    assert collector.count(where=f"| where DeviceId == '{device}'") == 0


def closed_within(sock, seconds):
    """Reads until the server closes; returns the seconds it took (or None)."""
    started = time.monotonic()
    sock.settimeout(0.5)
    while time.monotonic() - started < seconds:
        try:
            data = sock.recv(4096)
        except (socket.timeout, TimeoutError):
            continue
        except (ssl.SSLError, OSError):
            return time.monotonic() - started
        if not data:
            return time.monotonic() - started
    return None


def test_slowloris_headers_are_cut(collector, records):
    with good_client(collector, records, "good-slowloris"):
        sock = raw_socket(collector)
        started = time.monotonic()
        request = b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
        cut = None
        for byte in request:
            try:
                sock.send(bytes([byte]))
            except (OSError, ssl.SSLError):
                cut = time.monotonic() - started
                break
            time.sleep(0.2)
            if time.monotonic() - started > REQUEST_TIMEOUT + 5:
                break
        if cut is None:
            cut = closed_within(sock, 5)
        sock.close()
        assert cut is not None and cut < REQUEST_TIMEOUT + 5, "a trickling client was not cut"


def test_slowloris_body_is_cut_and_stores_nothing(collector, records):
    device, key = hostile_device(collector, "slow-body")
    body = gzip.compress(batch_body(device, as_device(records[:50], device)))
    with good_client(collector, records, "good-slow-body"):
        sock = raw_socket(collector)
        sock.send(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode()
                  + b"\r\nContent-Encoding: gzip\r\nContent-Length: " + str(len(body)).encode()
                  + b"\r\n\r\n")
        started = time.monotonic()
        cut = None
        for offset in range(0, len(body) - 1, 16):
            try:
                sock.send(body[offset:offset + 16])
            except (OSError, ssl.SSLError):
                cut = time.monotonic() - started
                break
            time.sleep(0.25)
            if time.monotonic() - started > REQUEST_TIMEOUT + 5:
                break
        if cut is None:
            cut = closed_within(sock, 5)
        sock.close()
        assert cut is not None and cut < REQUEST_TIMEOUT + 5
    nothing_stored(collector, device)


def test_idle_connection_is_closed(collector, records):
    with good_client(collector, records, "good-idle"):
        sock = raw_socket(collector)
        took = closed_within(sock, IDLE_TIMEOUT + 6)
        sock.close()
        assert took is not None and took >= IDLE_TIMEOUT - 0.5


def test_gzip_bomb_is_cut_at_the_decompressed_cap(collector, records):
    device, key = hostile_device(collector, "bomb")
    header = batch_body(device)
    bomb = gzip.compress(header + b" " * (MAX_DECOMPRESSED * 4), compresslevel=9)
    assert len(bomb) < MAX_BODY
    with good_client(collector, records, "good-bomb"):
        for _ in range(3):
            status, answer = collector.post_batch(key, bomb, compressed=True)
            assert status == 413, answer
            assert "decompresses to more than" in answer["error"]["message"]
    nothing_stored(collector, device)


def test_oversized_body_is_refused_before_it_is_read(collector, records):
    device, key = hostile_device(collector, "oversized")
    with good_client(collector, records, "good-oversized"):
        sock = raw_socket(collector)
        sock.send(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode()
                  + b"\r\nContent-Length: " + str(MAX_BODY * 10).encode() + b"\r\n\r\n")
        answer = b""
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
        # chunked past the limit: the connection is cut
        sock = raw_socket(collector)
        sock.send(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode()
                  + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        try:
            for _ in range(40):
                sock.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (OSError, ssl.SSLError):
            pass
        assert closed_within(sock, 10) is not None
        sock.close()
    nothing_stored(collector, device)


def test_too_many_connections_get_503_with_retry_after(collector, records):
    with good_client(collector, records, "good-crowd") as good:
        crowd = []
        try:
            for _ in range(MAX_CONNECTIONS + 8):
                crowd.append(raw_socket(collector))
            sock = crowd[-1]
            sock.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(10)
            answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
            assert b"Retry-After: " in answer
        finally:
            for sock in crowd:
                sock.close()
        moment = time.monotonic()
        assert wait_until(lambda: good.during(moment, time.monotonic() + 1) > 0, 20)


def test_garbage_and_bad_batches_store_nothing(collector, records):
    device, key = hostile_device(collector, "garbage")
    good_rows = as_device(records[:30], device)
    header_line = batch_body(device).splitlines()[0]
    wrong_type = dict(good_rows[0], ProcessId="1234")
    missing = {k: v for k, v in good_rows[0].items() if k != "SHA1"}
    null_string = dict(good_rows[0], FileName=None)
    bad_time = dict(good_rows[0], Timestamp="yesterday")
    secret_line = dict(good_rows[0], FileSize="password=" + "s" * 200)
    cases = [
        (b"\x00\xffnot json at all{{{\n", 400, "line 1: not JSON"),
        (header_line + b"\n[1,2]\n", 400, "line 2: expected a JSON object"),
        (batch_body(device, good_rows) + b"{\"kind\": \"record\", \"row\": 5\n", 400, "line 32"),
        (batch_body(device, good_rows + [wrong_type]), 400, "line 32: row.ProcessId: expected an integer"),
        (batch_body(device, good_rows + [missing]), 400, "line 32: row.SHA1: missing"),
        (batch_body(device, good_rows + [null_string]), 400, "row.FileName: expected a string"),
        (batch_body(device, good_rows + [bad_time]), 400, "row.Timestamp: expected an ISO 8601"),
        (batch_body(device, good_rows + [dict(good_rows[0], Extra=1)]), 400, "unknown column 'Extra'"),
        (batch_body(device, good_rows, schema=2), 400, "unknown schema version 2"),
        (batch_body(device, good_rows, schema="1"), 400, "schema: expected an integer"),
        (header_line + b"\n{\"kind\": \"weird\"}\n", 400, "unknown kind"),
        (b"", 400, "header line is missing"),
        (batch_body(device, good_rows + [secret_line]), 400, "row.FileSize"),
    ]
    with good_client(collector, records, "good-garbage"):
        for body, code, words in cases:
            status, answer = collector.post_batch(key, body)
            assert status == code, (words, answer)
            message = answer["error"]["message"]
            assert words in message, (words, message)
            assert answer["error"]["code"] == code
            assert "password" not in message and "sssss" not in message
        status, answer = collector.post_batch(key, b"\x1f\x8b\x08garbage", compressed=True)
        assert status == 400 and "gzip" in answer["error"]["message"]
        status, _, _ = collector.request("POST", "/v1/events", b"x",
                                         {"Content-Encoding": "br"}, bearer=key)
        assert status == 415
    nothing_stored(collector, device)


def test_identity_and_roles_under_load(collector, records):
    device, key = hostile_device(collector, "spoofer")
    victim = device_id("victim")
    victim_key = collector.enroll(victim, "victim.example")
    revoked, revoked_key = hostile_device(collector, "revoked-under-load")
    assert collector.admin("revoke", revoked).returncode == 0
    rows = as_device(records[:20], victim)
    with good_client(collector, records, "good-roles"):
        # a real key naming another DeviceId, in the header or in one record
        assert collector.post_batch(key, batch_body(victim, rows))[0] == 403
        mixed = as_device(records[:20], device) + [rows[0]]
        status, answer = collector.post_batch(key, batch_body(device, mixed))
        assert status == 403 and "line 22" in answer["error"]["message"]
        assert collector.post_json("/v1/heartbeat", heartbeat(victim), bearer=key)[0] == 403
        # a revoked key, no key, a made-up key
        assert collector.post_batch(revoked_key, batch_body(revoked, as_device(rows, revoked)))[0] == 401
        assert collector.post_batch(None, batch_body(device, mixed[:5]))[0] == 401
        assert collector.post_batch("A" * 43, batch_body(device, mixed[:5]))[0] == 401
        # an analyst token writing, a device key reading
        assert collector.post_batch(collector.token, batch_body(device, mixed[:5]))[0] == 403
        assert collector.query("DeviceProcessEvents | count", token=victim_key)[0] == 403
        assert collector.request("GET", "/v1/devices", bearer=key)[0] == 403
        # wrong method, unknown endpoint
        assert collector.request("GET", "/v1/events", bearer=key)[0] == 405
        assert collector.request("GET", "/v2/events", bearer=key)[0] == 404
    for who in (device, victim, revoked):
        nothing_stored(collector, who)

#!/usr/bin/env python3
"""Self-test of scripts/drukbox-local against docs/drukbox-api.md.

Run either way:
    python3 tests/support/test_localserver.py      (last stdout line: "N passed, N failed")
    python3 -m unittest tests/support/test_localserver.py
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localserver import LocalServer, script_path  # noqa: E402

UTC = timezone.utc
PROVISION = 0.2
HOST_FIELDS = {
    "id", "name", "status", "provider", "image", "instance_type", "disk_gb",
    "external_ssh_host", "external_ssh_port", "ssh_username", "internal_ssh_host",
    "known_hosts", "tailscale_device_id", "private_key", "last_error", "created_at",
    "updated_at", "activated_at", "expires_at",
}
ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def future(seconds: float = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def call(url: str, method: str, path: str, token: str | None = None, body=None):
    """A bare API call for servers not started through LocalServer: (status, JSON)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"null")


def quietly(func, *args):
    """Runs func(*args) in a daemon thread, ignoring its outcome."""
    def run():
        try:
            func(*args)
        except Exception:  # noqa: BLE001 - the server is being stopped under it
            pass
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


class ServerTestCase(unittest.TestCase):
    """One server per class, reset (hosts, faults, stats, config) before each test."""

    server_args: tuple = ()
    server_kwargs: dict = {}
    srv: LocalServer

    @classmethod
    def setUpClass(cls) -> None:
        kwargs = {"provision_seconds": PROVISION, **cls.server_kwargs}
        cls.srv = LocalServer(*cls.server_args, **kwargs)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.srv.stop()

    def setUp(self) -> None:
        self.srv.reset()

    # -- helpers --
    def create(self, body=None, headers=None, expect=201):
        status, data = self.srv.api("POST", "/hosts", {} if body is None else body, headers)
        self.assertEqual(status, expect, data)
        return data

    def assert_validation(self, status, data, loc):
        self.assertEqual(status, 422, data)
        self.assertIsInstance(data["detail"], list)
        locs = [entry["loc"] for entry in data["detail"]]
        self.assertIn(loc, locs)
        for entry in data["detail"]:
            self.assertIsInstance(entry["msg"], str)
            self.assertIsInstance(entry["type"], str)

    def connection(self, timeout=10.0) -> http.client.HTTPConnection:
        parts = urlsplit(self.srv.url)
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.srv.token}"}

    def raw_exchange(self, data: bytes, timeout=10.0) -> bytes:
        """Sends raw bytes, returns everything the server answers until it closes."""
        parts = urlsplit(self.srv.url)
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
            sock.sendall(data)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)


class AuthAndRoutingTests(ServerTestCase):
    def test_healthz_needs_no_auth(self):
        self.assertEqual(self.srv.api("GET", "/healthz", auth=False), (200, {"status": "ok"}))

    def test_missing_token_is_401(self):
        for method, path in (("GET", "/hosts"), ("POST", "/hosts"), ("GET", "/doctor"),
                             ("GET", f"/hosts/{uuid.uuid4()}")):
            self.assertEqual(self.srv.api(method, path, auth=False),
                             (401, {"detail": "service token required"}), path)

    def test_non_bearer_scheme_is_401(self):
        status, data = self.srv.api("GET", "/hosts", auth=False,
                                    headers={"Authorization": "Basic Zm9vOmJhcg=="})
        self.assertEqual((status, data), (401, {"detail": "service token required"}))

    def test_wrong_token_is_403(self):
        status, data = self.srv.api("GET", "/hosts", auth=False,
                                    headers={"Authorization": "Bearer nope"})
        self.assertEqual((status, data), (403, {"detail": "service token rejected"}))

    def test_unknown_route_404_and_wrong_method_405(self):
        self.assertEqual(self.srv.api("GET", "/nope"), (404, {"detail": "Not Found"}))
        self.assertEqual(self.srv.api("GET", "/hosts/"), (404, {"detail": "Not Found"}))
        status, data, headers = self.srv.request("PUT", "/hosts", {})
        self.assertEqual((status, json.loads(data)), (405, {"detail": "Method Not Allowed"}))
        self.assertIn("GET", headers["allow"])
        self.assertEqual(self.srv.api("POST", "/healthz")[0], 405)

    def test_json_content_type_and_query_ignored(self):
        status, _, headers = self.srv.request("GET", "/hosts?limit=1")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")


class CreateValidationTests(ServerTestCase):
    def post(self, body, headers=None):
        return self.srv.api("POST", "/hosts", body, headers)

    def test_env_key_pattern(self):
        self.assert_validation(*self.post({"env": {"1BAD": "x"}}), ["body", "env", "1BAD"])
        self.assert_validation(*self.post({"env": {"A-B": "x"}}), ["body", "env", "A-B"])

    def test_env_reserved_key(self):
        self.assert_validation(*self.post({"env": {"TAILSCALE_AUTHKEY": "x"}}),
                               ["body", "env", "TAILSCALE_AUTHKEY"])

    def test_env_value_and_shape(self):
        self.assert_validation(*self.post({"env": {"A": 1}}), ["body", "env", "A"])
        self.assert_validation(*self.post({"env": ["A=1"]}), ["body", "env"])

    def test_expires_at_past_offsetless_and_garbage(self):
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        self.assert_validation(*self.post({"expires_at": past}), ["body", "expires_at"])
        self.assert_validation(*self.post({"expires_at": "2099-01-01T00:00:00"}),
                               ["body", "expires_at"])
        self.assert_validation(*self.post({"expires_at": "tomorrow"}), ["body", "expires_at"])
        self.assert_validation(*self.post({"expires_at": 4102444800}), ["body", "expires_at"])

    def test_expires_at_null_is_permanent(self):
        self.assertIsNone(self.create({"expires_at": None})["expires_at"])

    def test_expires_at_explicit_and_default_lease(self):
        when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=5)
        host = self.create({"expires_at": when.astimezone(timezone(timedelta(hours=2))).isoformat()})
        self.assertEqual(parse_time(host["expires_at"]), when)
        self.assertRegex(host["expires_at"], ISO_RE)
        host = self.create()
        lease = parse_time(host["expires_at"]) - parse_time(host["created_at"])
        self.assertAlmostEqual(lease.total_seconds(), 86400, delta=5)

    def test_bad_idempotency_keys(self):
        for key in ("has space", "a" * 256, "ümlaut", "semi;colon"):
            self.assert_validation(*self.post({}, {"Idempotency-Key": key}),
                                   ["header", "idempotency-key"])
        self.assertEqual(self.srv.api("GET", "/hosts")[1], [])

    def test_longest_idempotency_key_is_fine(self):
        self.create({}, {"Idempotency-Key": "aZ09_-:." * 31 + "abcdefg"})

    def test_unknown_provider_400_lists_available(self):
        status, data = self.post({"provider": "aws"})
        self.assertEqual(status, 400)
        self.assertIn("docker", data["detail"])
        self.assertIn("exe", data["detail"])

    def test_exe_cannot_size(self):
        self.assertEqual(self.post({"provider": "exe", "instance_type": "large"})[0], 400)
        self.assertEqual(self.post({"provider": "exe", "disk_gb": 10})[0], 400)
        host = self.create({"provider": "exe"})
        self.assertEqual((host["provider"], host["instance_type"], host["disk_gb"]),
                         ("exe", None, None))

    def test_disk_gb(self):
        for bad in (0, -1, True, "10", 2.5):
            self.assert_validation(*self.post({"disk_gb": bad}), ["body", "disk_gb"])
        host = self.create({"disk_gb": 40, "instance_type": "cx22"})
        self.assertEqual((host["disk_gb"], host["instance_type"]), (40, "cx22"))

    def test_blank_strings(self):
        self.assert_validation(*self.post({"instance_type": "  "}), ["body", "instance_type"])
        self.assert_validation(*self.post({"image": ""}), ["body", "image"])
        self.assert_validation(*self.post({"image": 5}), ["body", "image"])

    def test_body_must_be_object_and_json(self):
        self.assert_validation(*self.post([1, 2]), ["body"])
        status, data = self.post(b'{"image": ')
        self.assertEqual(status, 422)
        self.assertEqual(data["detail"][0]["loc"][0], "body")

    def test_unknown_fields_ignored_and_image_kept(self):
        host = self.create({"image": "ubuntu-24.04", "colour": "blue", "env": {"A_1": "x"}})
        self.assertEqual(host["image"], "ubuntu-24.04")
        self.assertNotIn("colour", host)
        self.assertNotIn("env", host)

    def test_errors_are_collected(self):
        status, data = self.post({"image": "", "disk_gb": 0}, {"Idempotency-Key": "bad key"})
        self.assertEqual(status, 422)
        self.assertEqual(len(data["detail"]), 3)


class HostLifecycleTests(ServerTestCase):
    def test_created_record_shape(self):
        host = self.create()
        self.assertEqual(set(host), HOST_FIELDS)
        parsed = uuid.UUID(host["id"])
        self.assertEqual(parsed.version, 7)
        self.assertEqual(parsed.variant, uuid.RFC_4122)
        millis = parsed.int >> 80
        self.assertAlmostEqual(millis / 1000, parse_time(host["created_at"]).timestamp(), delta=1)
        self.assertRegex(host["name"], r"^sb-[0-9a-f]{12}$")
        self.assertEqual(host["status"], "active")
        self.assertEqual((host["provider"], host["image"]), ("docker", "debian-12"))
        self.assertEqual(host["ssh_username"], "sandbox")
        self.assertEqual(host["external_ssh_port"], 22)
        self.assertIsNone(host["internal_ssh_host"])
        self.assertIsNone(host["tailscale_device_id"])
        self.assertEqual(host["last_error"], "")
        for name in ("created_at", "updated_at", "activated_at", "expires_at"):
            self.assertRegex(host[name], ISO_RE)
        self.assertTrue(host["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n"))
        self.assertTrue(host["private_key"].endswith("-----END OPENSSH PRIVATE KEY-----\n"))
        address, kind, key = host["known_hosts"].strip().split(" ")
        self.assertEqual((address, kind), (host["external_ssh_host"], "ssh-ed25519"))
        blob = base64.b64decode(key)
        self.assertEqual(blob, struct.pack(">I", 11) + b"ssh-ed25519"
                         + struct.pack(">I", 32) + blob[-32:])

    def test_private_key_is_a_usable_openssh_key(self):
        if not shutil.which("ssh-keygen"):
            self.skipTest("ssh-keygen not installed")
        host = self.create()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "key")
            with open(path, "w") as handle:
                handle.write(host["private_key"])
            os.chmod(path, 0o600)
            result = subprocess.run(["ssh-keygen", "-y", "-f", path], capture_output=True,
                                    text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith("ssh-ed25519 AAAA"))

    def test_get_and_list_never_show_private_key(self):
        first, second = self.create(), self.create()
        status, got = self.srv.api("GET", f"/hosts/{first['id']}")
        self.assertEqual(status, 200)
        self.assertIsNone(got["private_key"])
        self.assertEqual({k: v for k, v in got.items() if k != "private_key"},
                         {k: v for k, v in first.items() if k != "private_key"})
        status, listing = self.srv.api("GET", "/hosts")
        self.assertEqual([h["id"] for h in listing], [second["id"], first["id"]])
        self.assertTrue(all(h["private_key"] is None for h in listing))
        self.assertNotIn(first["private_key"], json.dumps(self.srv.get_host_raw(first["id"])))

    def test_get_unknown_and_malformed_id(self):
        status, data = self.srv.api("GET", f"/hosts/{uuid.uuid4()}")
        self.assertEqual((status, data), (404, {"detail": "host not found", "error_code": "NOT_FOUND"}))
        self.assert_validation(*self.srv.api("GET", "/hosts/not-a-uuid"), ["path", "host_id"])
        self.assert_validation(*self.srv.api("DELETE", "/hosts/123"), ["path", "host_id"])
        self.assert_validation(*self.srv.api("POST", "/hosts/xyz/renew"), ["path", "host_id"])

    def test_idempotent_replay(self):
        key = {"Idempotency-Key": "create-1:a.b"}
        first = self.create({}, key)
        again = self.create({"image": "other"}, key)
        self.assertEqual(again["id"], first["id"])
        self.assertIsNotNone(first["private_key"])
        self.assertIsNone(again["private_key"])
        self.assertEqual(len(self.srv.api("GET", "/hosts")[1]), 1)
        self.assertEqual(self.create({}, {"Idempotency-Key": "other"})["id"] != first["id"], True)

    def test_replay_waits_for_an_unfinished_create(self):
        self.srv.config(provision_seconds=0.8)
        key = {"Idempotency-Key": "slow"}
        results = {}
        worker = threading.Thread(target=lambda: results.update(first=self.srv.api("POST", "/hosts", {}, key)))
        worker.start()
        time.sleep(0.2)
        started = time.monotonic()
        second = self.create({}, key)
        worker.join(10)
        status, first = results["first"]
        self.assertEqual(status, 201)
        self.assertGreater(time.monotonic() - started, 0.3)
        self.assertEqual(second["id"], first["id"])
        self.assertEqual(second["status"], "active")
        self.assertIsNone(second["private_key"])
        self.assertIsNotNone(first["private_key"])
        self.assertEqual(len(self.srv.api("GET", "/hosts")[1]), 1)

    def test_key_starts_fresh_after_delete(self):
        key = {"Idempotency-Key": "reuse"}
        first = self.create({}, key)
        self.assertEqual(self.srv.api("DELETE", f"/hosts/{first['id']}")[0], 204)
        second = self.create({}, key)
        self.assertNotEqual(second["id"], first["id"])
        self.assertIsNotNone(second["private_key"])

    def test_staged_statuses_and_409_while_provisioning(self):
        self.srv.config(provision_seconds=1.2)
        results = {}
        worker = threading.Thread(target=lambda: results.update(r=self.srv.api("POST", "/hosts", {})))
        worker.start()
        seen, host_id, conflict = [], None, None
        deadline = time.monotonic() + 10
        while worker.is_alive() and time.monotonic() < deadline:
            listing = self.srv.api("GET", "/hosts")[1]
            if listing:
                host_id = listing[0]["id"]
                status = listing[0]["status"]
                if not seen or seen[-1] != status:
                    seen.append(status)
                if conflict is None and status in ("provisioning", "creating_network"):
                    conflict = self.srv.api("DELETE", f"/hosts/{host_id}")
            time.sleep(0.04)
        worker.join(10)
        status, host = results["r"]
        self.assertEqual(status, 201)
        self.assertEqual(host["id"], host_id)
        # The host turns active before its 201 reaches the worker thread, so
        # the last listing before the thread ends may already show it.
        stages = ["provisioning", "creating_network", "creating_vm", "bootstrapping"]
        self.assertIn(seen, (stages, stages + ["active"]))
        self.assertEqual(conflict, (409, {"detail": "host is still provisioning",
                                          "error_code": "HOST_STATE"}))

    def test_provisioning_failure_is_502_and_row_stays(self):
        self.srv.config(fail_next=1, fail_message="provider quota exceeded")
        key = {"Idempotency-Key": "will-fail"}
        status, data = self.srv.api("POST", "/hosts", {}, key)
        self.assertEqual((status, data), (502, {"detail": "provider quota exceeded",
                                                "error_code": "PROVISIONING_FAILED"}))
        listing = self.srv.api("GET", "/hosts")[1]
        self.assertEqual(len(listing), 1)
        self.assertEqual((listing[0]["status"], listing[0]["last_error"]),
                         ("error", "provider quota exceeded"))
        self.assertEqual(self.srv.api("POST", "/hosts", {}, key)[0], 502)  # replay
        self.assertEqual(len(self.srv.api("GET", "/hosts")[1]), 1)
        self.assertEqual(self.create()["status"], "active")  # fail_next is used up
        self.assertEqual(self.srv.api("DELETE", f"/hosts/{listing[0]['id']}")[0], 204)

    def test_renew(self):
        host = self.create({"expires_at": future(60)})
        status, renewed = self.srv.api("POST", f"/hosts/{host['id']}/renew")
        self.assertEqual(status, 200)
        self.assertGreater(parse_time(renewed["expires_at"]), parse_time(host["expires_at"]))
        self.assertIsNone(renewed["private_key"])
        when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        status, renewed = self.srv.api("POST", f"/hosts/{host['id']}/renew",
                                       {"expires_at": when.isoformat()})
        self.assertEqual((status, parse_time(renewed["expires_at"])), (200, when))
        status, renewed = self.srv.api("POST", f"/hosts/{host['id']}/renew", {"expires_at": None})
        self.assertEqual(status, 200)
        self.assertIsNotNone(renewed["expires_at"])  # never permanent
        permanent = self.create({"expires_at": None})
        status, renewed = self.srv.api("POST", f"/hosts/{permanent['id']}/renew", {})
        self.assertEqual(status, 200)
        self.assertIsNotNone(renewed["expires_at"])

    def test_renew_errors(self):
        host = self.create()
        path = f"/hosts/{host['id']}/renew"
        past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        self.assert_validation(*self.srv.api("POST", path, {"expires_at": past}), ["body", "expires_at"])
        self.assert_validation(*self.srv.api("POST", path, {"expires_at": "2099-01-01T00:00:00"}),
                               ["body", "expires_at"])
        self.assertEqual(self.srv.api("POST", f"/hosts/{uuid.uuid4()}/renew")[0], 404)
        self.srv.patch_host(host["id"], status="error")
        self.assertEqual(self.srv.api("POST", path),
                         (409, {"detail": "cannot renew a host in status error",
                                "error_code": "HOST_STATE"}))
        self.srv.patch_host(host["id"], status="bootstrapping")
        self.assertEqual(self.srv.api("POST", path)[0], 200)

    def test_delete(self):
        host = self.create()
        self.assertEqual(self.srv.api("DELETE", f"/hosts/{host['id']}"), (204, None))
        self.assertEqual(self.srv.api("GET", f"/hosts/{host['id']}")[0], 404)
        self.assertEqual(self.srv.api("DELETE", f"/hosts/{host['id']}"),
                         (404, {"detail": "host not found", "error_code": "NOT_FOUND"}))

    def test_delete_teardown_failure_and_delay(self):
        host = self.create()
        self.srv.config(teardown_fail_next=1, delete_seconds=0.3)
        started = time.monotonic()
        status, data = self.srv.api("DELETE", f"/hosts/{host['id']}")
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(status, 503)
        self.assertEqual(data["error_code"], "HOST_TEARDOWN")
        self.assertTrue(data["detail"].startswith("teardown failed: "))
        self.assertEqual(self.srv.api("GET", f"/hosts/{host['id']}")[0], 200)
        self.assertEqual(self.srv.api("DELETE", f"/hosts/{host['id']}")[0], 204)


class DoctorTests(ServerTestCase):
    def test_doctor_ok(self):
        status, data = self.srv.api("GET", "/doctor")
        self.assertEqual(status, 200)
        self.assertEqual((data["ok"], data["active_provider"], data["tailscale_enabled"]),
                         (True, "docker", False))
        self.assertEqual([c["name"] for c in data["checks"]], ["db", "provider", "tailscale"])
        for check in data["checks"]:
            self.assertEqual(set(check), {"name", "status", "detail", "latency_ms", "hint"})
            self.assertEqual((check["status"], check["hint"]), ("ok", None))

    def test_doctor_failures_are_still_200(self):
        self.srv.config(doctor_fail=["db", "tailscale"], doctor_timeout=["provider"])
        status, data = self.srv.api("GET", "/doctor")
        self.assertEqual((status, data["ok"]), (200, False))
        checks = {c["name"]: c for c in data["checks"]}
        self.assertEqual((checks["db"]["status"], checks["db"]["hint"]),
                         ("fail", "check_database_url_and_engine"))
        self.assertEqual((checks["provider"]["detail"], checks["provider"]["hint"]),
                         ("timed out after 5s", "check_provider_credentials"))
        self.assertEqual(checks["tailscale"]["hint"], "check_tailscale_authkey")

    def test_bad_config_is_rejected(self):
        status, _ = self.srv.request("POST", "/_local/config", {"doctor_fail": ["disk"]}, auth=False)[:2]
        self.assertEqual(status, 400)
        status, _ = self.srv.request("POST", "/_local/config", {"no_such": 1}, auth=False)[:2]
        self.assertEqual(status, 400)


class ProxyTests(ServerTestCase):
    PROXY = {"name": "api.one", "target": "https://api.example.com", "headers": {"X-Key": "v"}}

    def test_create_and_conflict(self):
        self.assertEqual(self.srv.api("POST", "/http-proxies", self.PROXY),
                         (201, {"name": "api.one", "status": "created"}))
        self.assertEqual(self.srv.api("POST", "/http-proxies", self.PROXY)[0], 409)

    def test_validation(self):
        cases = [
            ({**self.PROXY, "name": "-bad"}, ["body", "name"]),
            ({**self.PROXY, "name": "a/b"}, ["body", "name"]),
            ({**self.PROXY, "target": "https://api.example.com/v1"}, ["body", "target"]),
            ({**self.PROXY, "target": "https://api.example.com?q=1"}, ["body", "target"]),
            ({**self.PROXY, "target": "https://api.example.com#x"}, ["body", "target"]),
            ({**self.PROXY, "target": "https://user:pw@api.example.com"}, ["body", "target"]),
            ({**self.PROXY, "target": "ftp://api.example.com"}, ["body", "target"]),
            ({**self.PROXY, "headers": {}}, ["body", "headers"]),
            ({"name": "x", "target": "http://h:8080"}, ["body", "headers"]),
        ]
        for body, loc in cases:
            self.assert_validation(*self.srv.api("POST", "/http-proxies", body), loc)
        self.assert_validation(*self.srv.api("POST", "/http-proxies"), ["body"])
        self.assertEqual(self.srv.api("POST", "/http-proxies",
                                      {**self.PROXY, "target": "http://10.0.0.1:8080"})[0], 201)

    def test_attach_detach_delete(self):
        self.srv.api("POST", "/http-proxies", self.PROXY)
        host = self.create()
        path = f"/http-proxies/api.one/hosts/{host['id']}"
        self.assertEqual(self.srv.api("POST", path),
                         (200, {"name": "api.one", "host_id": host["id"], "status": "attached"}))
        self.assertEqual(self.srv.api("POST", f"/http-proxies/nope/hosts/{host['id']}")[0], 404)
        self.assertEqual(self.srv.api("POST", f"/http-proxies/api.one/hosts/{uuid.uuid4()}")[0], 404)
        self.srv.patch_host(host["id"], status="provisioning")
        status, data = self.srv.api("POST", path)
        self.assertEqual((status, data["error_code"]), (409, "HOST_STATE"))
        self.assertEqual(self.srv.api("DELETE", path), (204, None))
        self.assertEqual(self.srv.api("DELETE", "/http-proxies/api.one"), (204, None))
        self.assertEqual(self.srv.api("DELETE", "/http-proxies/api.one")[0], 404)


class FaultTests(ServerTestCase):
    def test_latency(self):
        self.srv.fault("GET /hosts", "latency", latency_ms=300)
        started = time.monotonic()
        self.assertEqual(self.srv.api("GET", "/hosts"), (200, []))
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        started = time.monotonic()
        self.srv.api("GET", "/hosts")
        self.assertLess(time.monotonic() - started, 0.3)

    def test_status_default_and_custom_body(self):
        self.srv.fault("GET /hosts", "status", status=503)
        self.assertEqual(self.srv.api("GET", "/hosts"), (503, {"detail": "injected fault"}))
        self.srv.fault("GET /doctor", "status", status=418, body='{"oops": 1}')
        self.assertEqual(self.srv.api("GET", "/doctor"), (418, {"oops": 1}))
        self.assertEqual(self.srv.api("GET", "/hosts")[0], 200)

    def test_body_is_sent_verbatim(self):
        self.srv.fault("GET /hosts", "body", body='[{"id": 5}, "x"]')
        status, raw, headers = self.srv.request("GET", "/hosts")
        self.assertEqual((status, raw), (200, b'[{"id": 5}, "x"]'))
        self.assertEqual(headers["content-type"], "application/json")

    def test_garbage(self):
        self.srv.fault("GET /hosts", "garbage")
        status, raw, _ = self.srv.request("GET", "/hosts")
        self.assertEqual(status, 200)
        self.assertTrue(raw.startswith(b"<html>"))
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_truncate(self):
        self.srv.seed(3)
        full = self.srv.request("GET", "/hosts")[1]
        self.srv.fault("GET /hosts", "truncate")
        conn = self.connection()
        conn.request("GET", "/hosts", headers=self.auth())
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.assertEqual(resp.status, 200)
        self.assertEqual(int(resp.headers["Content-Length"]), len(data))
        self.assertEqual(data, full[:len(full) // 2])
        with self.assertRaises(ValueError):
            json.loads(data)

    def test_short(self):
        self.srv.seed(3)
        self.srv.fault("GET /hosts", "short")
        conn = self.connection()
        conn.request("GET", "/hosts", headers=self.auth())
        resp = conn.getresponse()
        with self.assertRaises(http.client.IncompleteRead):
            resp.read()
        conn.close()

    def test_drop(self):
        self.srv.fault("GET /hosts", "drop")
        conn = self.connection()
        conn.request("GET", "/hosts", headers=self.auth())
        with self.assertRaises(http.client.RemoteDisconnected):
            conn.getresponse()
        conn.close()

    def test_hang_then_close(self):
        self.srv.fault("GET /doctor", "hang", latency_ms=300)
        conn = self.connection()
        started = time.monotonic()
        conn.request("GET", "/doctor", headers=self.auth())
        with self.assertRaises(http.client.RemoteDisconnected):
            conn.getresponse()
        conn.close()
        self.assertGreaterEqual(time.monotonic() - started, 0.3)

    def test_hang_outlives_client_timeout(self):
        self.srv.fault("GET /hosts", "hang")
        conn = self.connection(timeout=0.3)
        conn.request("GET", "/hosts", headers=self.auth())
        with self.assertRaises(TimeoutError):
            conn.getresponse()
        conn.close()

    def test_lost_carries_the_request_out(self):
        # A create whose answer is lost: the host exists, and a retry with
        # the same key gets it (no second host).
        self.srv.fault("POST /hosts", "lost")
        conn = self.connection()
        conn.request("POST", "/hosts", body=b"{}",
                     headers={**self.auth(), "Content-Type": "application/json",
                              "Idempotency-Key": "lost-1"})
        with self.assertRaises(http.client.RemoteDisconnected):
            conn.getresponse()
        conn.close()
        hosts = self.srv.hosts()
        self.assertEqual([h["idempotency_key"] for h in hosts], ["lost-1"])
        again = self.create(headers={"Idempotency-Key": "lost-1"})
        self.assertEqual(again["id"], hosts[0]["id"])
        self.assertEqual(len(self.srv.hosts()), 1)
        # A delete whose answer is lost: the host is gone all the same.
        self.srv.fault("DELETE /hosts/{id}", "lost")
        conn = self.connection()
        conn.request("DELETE", f"/hosts/{again['id']}", headers=self.auth())
        with self.assertRaises(http.client.RemoteDisconnected):
            conn.getresponse()
        conn.close()
        self.assertEqual(self.srv.hosts(), [])
        self.assertEqual(self.srv.api("DELETE", f"/hosts/{again['id']}")[0], 404)

    def test_counts_and_wildcard(self):
        self.srv.fault("GET /hosts", "status", status=500, count=2)
        codes = [self.srv.api("GET", "/hosts")[0] for _ in range(3)]
        self.assertEqual(codes, [500, 500, 200])
        self.srv.fault("*", "status", status=502, count=-1)
        codes = [self.srv.api("GET", path)[0] for path in ("/hosts", "/doctor", "/healthz", "/x")] * 2
        self.assertEqual(codes, [502] * 8)
        self.srv.clear_faults()
        self.assertEqual(self.srv.api("GET", "/doctor")[0], 200)

    def test_faulted_requests_are_counted(self):
        self.srv.fault("GET /hosts", "drop")
        conn = self.connection()
        conn.request("GET", "/hosts", headers=self.auth())
        self.assertRaises(http.client.RemoteDisconnected, conn.getresponse)
        conn.close()
        self.assertEqual(self.srv.route_count("GET /hosts"), 1)

    def test_bad_fault_specs(self):
        for spec in ({"route": "GET /nope", "kind": "drop"}, {"route": "*", "kind": "boom"},
                     {"route": "*", "kind": "drop", "count": 0}):
            self.assertEqual(self.srv.request("POST", "/_local/faults", spec, auth=False)[0], 400)


class ControlApiTests(ServerTestCase):
    def test_stats(self):
        self.srv.api("GET", "/hosts")
        self.srv.api("GET", "/hosts")
        self.srv.api("GET", "/healthz", auth=False)
        self.srv.api("POST", "/hosts", {"image": ""})
        self.srv.api("GET", "/nowhere")
        self.srv.api("GET", f"/hosts/{uuid.uuid4()}", auth=False)
        self.srv.stats()  # control calls are not counted
        self.assertEqual(self.srv.stats(), {"GET /hosts": 2, "GET /healthz": 1, "POST /hosts": 1,
                                            "other": 1, "GET /hosts/{id}": 1})
        self.assertEqual(self.srv.total_requests(), 6)
        self.srv.reset_stats()
        self.assertEqual((self.srv.stats(), self.srv.total_requests()), ({}, 0))

    def test_request_log(self):
        self.srv.api("POST", "/hosts", '{"image": ""}', headers={"Idempotency-Key": "k1"})
        self.srv.api("GET", "/doctor?x=1")
        log = self.srv.requests()
        self.assertEqual([(r["method"], r["path"], r["route"]) for r in log],
                         [("POST", "/hosts", "POST /hosts"), ("GET", "/doctor?x=1", "GET /doctor")])
        self.assertEqual(log[0]["body"], '{"image": ""}')
        self.assertEqual(log[0]["headers"]["idempotency-key"], "k1")
        self.assertEqual(log[0]["headers"]["content-type"], "application/json")
        self.srv.reset_requests()
        self.assertEqual(self.srv.requests(), [])

    def test_seed_ten_thousand(self):
        ids = self.srv.seed(10000)
        self.assertEqual(len(set(ids)), 10000)
        status, listing = self.srv.api("GET", "/hosts")
        self.assertEqual(status, 200)
        self.assertEqual(len(listing), 10000)
        self.assertEqual([h["id"] for h in listing], ids[::-1])
        stamps = [h["created_at"] for h in listing]
        self.assertEqual(stamps, sorted(stamps, reverse=True))
        self.assertEqual(len(set(stamps)), 10000)
        self.assertEqual(self.srv.api("GET", "/hosts")[1][0]["id"], ids[-1])  # cached body

    def test_seed_statuses(self):
        errored = self.srv.seed(2, status="error")
        self.assertEqual(self.srv.api("GET", f"/hosts/{errored[0]}")[1]["status"], "error")
        boot = self.srv.seed(1, status="bootstrapping", image="custom")[0]
        host = self.srv.api("GET", f"/hosts/{boot}")[1]
        self.assertEqual((host["status"], host["image"]), ("bootstrapping", "custom"))

    def test_patch_host_with_hostile_values(self):
        host_id = self.srv.seed(1)[0]
        hostile = {"status": 42, "name": "line\nbreak\t\"q\"", "known_hosts": "x" * 200000,
                   "external_ssh_port": "22", "extra": {"nested": [1, None]}, "image": None,
                   "last_error": "\u00e9\u2603\U0001F600"}
        self.srv.patch_host(host_id, **hostile)
        status, got = self.srv.api("GET", f"/hosts/{host_id}")
        self.assertEqual(status, 200)
        for name, value in hostile.items():
            self.assertEqual(got[name], value, name)
        self.assertEqual(self.srv.get_host_raw(host_id)["extra"], {"nested": [1, None]})
        self.assertEqual(self.srv.api("GET", "/hosts")[1][0]["status"], 42)
        self.assertEqual(self.srv.api("DELETE", f"/hosts/{host_id}")[0], 204)

    def test_lone_surrogate_still_serializes(self):
        host_id = self.srv.seed(1)[0]
        self.srv.request("POST", f"/_local/hosts/{host_id}", b'{"name": "\\ud800"}', auth=False)
        status, raw, _ = self.srv.request("GET", f"/hosts/{host_id}")
        self.assertEqual(status, 200)
        self.assertIn(b"\\ud800", raw)

    def test_remove_host_silently(self):
        host_id = self.srv.seed(1)[0]
        self.srv.remove_host(host_id)
        self.assertEqual(self.srv.api("GET", f"/hosts/{host_id}")[0], 404)
        self.assertEqual(self.srv.request("GET", f"/_local/hosts/{host_id}", auth=False)[0], 404)
        self.assertEqual(self.srv.stats(), {"GET /hosts/{id}": 1})

    def test_hosts_lists_ids_statuses_and_keys(self):
        seeded = self.srv.seed(2)
        made = self.create(headers={"Idempotency-Key": "k-1"})
        self.assertEqual(self.srv.hosts(), [
            {"id": seeded[0], "status": "active", "idempotency_key": None},
            {"id": seeded[1], "status": "active", "idempotency_key": None},
            {"id": made["id"], "status": "active", "idempotency_key": "k-1"}])
        self.assertEqual(self.srv.stats(), {"POST /hosts": 1})

    def test_unlisted_hosts_are_served_by_id_only(self):
        ids = self.srv.seed(3)
        self.srv.config(unlisted=[ids[1], "not-a-host"])
        status, listed = self.srv.api("GET", "/hosts")
        self.assertEqual(status, 200)
        self.assertEqual([h["id"] for h in listed], [ids[2], ids[0]])
        status, one = self.srv.api("GET", f"/hosts/{ids[1]}")
        self.assertEqual((status, one["id"]), (200, ids[1]))
        self.assertEqual(self.srv.request("POST", "/_local/config", {"unlisted": "x"},
                                          auth=False)[0], 400)
        self.srv.config(unlisted=[])
        self.assertEqual(len(self.srv.api("GET", "/hosts")[1]), 3)

    def test_config_round_trip(self):
        config = self.srv.config(provision_seconds=0.5, lease_seconds=60)
        self.assertEqual((config["provision_seconds"], config["lease_seconds"]), (0.5, 60))
        host = self.srv.seed(1)[0]
        host = self.srv.api("GET", f"/hosts/{host}")[1]
        lease = parse_time(host["expires_at"]) - parse_time(host["created_at"])
        self.assertAlmostEqual(lease.total_seconds(), 60, delta=1)


class RobustnessTests(ServerTestCase):
    def head(self, method, path, extra=b""):
        return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {self.srv.token}\r\n"
                .encode() + extra)

    def test_post_without_content_length_is_empty_body(self):
        reply = self.raw_exchange(self.head("POST", "/hosts", b"Connection: close\r\n\r\n"))
        self.assertTrue(reply.startswith(b"HTTP/1.1 201 "), reply[:200])
        self.assertIn(b"Content-Length: ", reply)

    def test_chunked_body(self):
        body = b'{"image": "alpine-3"}'
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        reply = self.raw_exchange(self.head("POST", "/hosts", b"Transfer-Encoding: chunked\r\n"
                                            b"Connection: close\r\n\r\n") + chunked)
        self.assertTrue(reply.startswith(b"HTTP/1.1 201 "), reply[:200])
        self.assertIn(b'"image":"alpine-3"', reply)

    def test_huge_content_length_is_413(self):
        reply = self.raw_exchange(self.head("POST", "/hosts", b"Content-Length: 99999999999\r\n\r\n"))
        self.assertTrue(reply.startswith(b"HTTP/1.1 413 "), reply[:200])
        self.assertIn(b"Connection: close", reply)

    def test_bad_content_length_is_400(self):
        reply = self.raw_exchange(self.head("POST", "/hosts", b"Content-Length: -5\r\n\r\n"))
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:200])

    def test_garbage_request_line(self):
        reply = self.raw_exchange(b"\x00\xffHELLO\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:200])
        self.assertIn(b"application/json", reply)

    def test_malformed_json_bodies(self):
        for body in (b"{", b"\xff\xfe\x00", b"[" * 100000, b'{"a": 1' + b"1" * 5000 + b"}", b"nul"):
            status, data = self.srv.api("POST", "/hosts", body)
            self.assertEqual(status, 422, body[:20])
            self.assertIsInstance(data["detail"], list)
        self.assertEqual(self.srv.api("GET", "/healthz")[0], 200)

    def test_keep_alive_and_204(self):
        host_id = self.srv.seed(1)[0]
        conn = self.connection()
        for _ in range(3):
            conn.request("GET", "/hosts", headers=self.auth())
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            resp.read()
        conn.request("DELETE", f"/hosts/{host_id}", headers=self.auth())
        resp = conn.getresponse()
        self.assertEqual((resp.status, resp.read(), resp.headers.get("Content-Length")),
                         (204, b"", None))
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().read(), b'{"status":"ok"}')
        conn.close()

    def test_many_requests_on_many_threads(self):
        errors = []

        def hammer():
            try:
                conn = self.connection()
                for _ in range(50):
                    conn.request("GET", "/hosts", headers=self.auth())
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status != 200:
                        errors.append(resp.status)
                conn.close()
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        self.srv.seed(50)
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(self.srv.route_count("GET /hosts"), 400)


class CommandLineTests(unittest.TestCase):
    def test_help(self):
        result = subprocess.run([sys.executable, script_path(), "--help"], capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(result.returncode, 0)
        for word in ("--prefix", "--token-file", "--provision-seconds", "--delete-seconds",
                     "--lease-seconds", "--providers", "--seed", "--sshd", "--state-dir",
                     "--tls-cert", "--tls-key", "--quiet", "/_local/faults", "truncate"):
            self.assertIn(word, result.stdout)

    def test_bad_arguments_exit_2(self):
        result = subprocess.run([sys.executable, script_path(), "--providers", ","],
                                capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 2)

    def test_ready_line_and_clean_exit_on_sigterm_and_sigint(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            srv = LocalServer()
            self.assertRegex(srv.url, r"^http://127\.0\.0\.1:\d+$")
            srv.proc.send_signal(sig)
            self.assertEqual(srv.proc.wait(10), 0)
            srv.stop()

    def test_sigterm_during_provisioning_and_hang(self):
        srv = LocalServer(provision_seconds=30)
        srv.fault("GET /doctor", "hang")
        quietly(srv.api, "POST", "/hosts", {})
        quietly(srv.api, "GET", "/doctor")
        time.sleep(0.3)
        started = time.monotonic()
        self.assertEqual(srv.stop(), 0)
        self.assertLess(time.monotonic() - started, 4)

    def test_prefix(self):
        with LocalServer("--prefix", "/drukbox/") as srv:
            self.assertTrue(srv.url.endswith("/drukbox"))
            self.assertEqual(srv.api("GET", "/healthz"), (200, {"status": "ok"}))
            self.assertEqual(srv.api("GET", "/hosts")[0], 200)
            root = srv.url[:-len("/drukbox")]
            self.assertEqual(call(root, "GET", "/hosts", srv.token), (404, {"detail": "Not Found"}))
            self.assertEqual(call(root, "GET", "/_local/stats"), (404, {"detail": "Not Found"}))
            self.assertEqual(srv.stats(), {"GET /healthz": 1, "GET /hosts": 1, "other": 2})

    def test_token_file_and_token_never_printed(self):
        secret = "s3cret-" + uuid.uuid4().hex
        with tempfile.NamedTemporaryFile("w", suffix=".token") as handle:
            handle.write(f"  {secret}\n")
            handle.flush()
            proc = subprocess.Popen([sys.executable, script_path(), "--port", "0",
                                     "--token-file", handle.name, "--provision-seconds", "0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env={**os.environ, "DRUKBOX_LOCAL_TOKEN": "env-token"})
            try:
                line = proc.stdout.readline().decode()
                self.assertTrue(line.startswith("drukbox-local listening on http://127.0.0.1:"))
                url = line.split(" on ")[1].strip()
                self.assertEqual(call(url, "POST", "/hosts", secret, {})[0], 201)
                self.assertEqual(call(url, "GET", f"/hosts/{uuid.uuid4()}", secret)[0], 404)
                self.assertEqual(call(url, "GET", "/hosts", "env-token")[0], 403)
            finally:
                proc.send_signal(signal.SIGTERM)
                out, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0)
        self.assertIn(b"GET /hosts", err)  # request log is on (no --quiet)
        self.assertNotIn(secret.encode(), out + err)
        self.assertEqual(out, b"")

    def test_providers_lease_and_seed(self):
        with LocalServer("--providers", "exe,docker", "--lease-seconds", "3600", "--seed", "5") as srv:
            self.assertEqual(srv.api("GET", "/doctor")[1]["active_provider"], "exe")
            self.assertEqual(len(srv.api("GET", "/hosts")[1]), 5)
            status, host = srv.api("POST", "/hosts", {})
            self.assertEqual((status, host["provider"]), (201, "exe"))
            lease = parse_time(host["expires_at"]) - parse_time(host["created_at"])
            self.assertAlmostEqual(lease.total_seconds(), 3600, delta=5)
            self.assertEqual(srv.api("POST", "/hosts", {"provider": "docker", "disk_gb": 5})[0], 201)

    @unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
    def test_tls(self):
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
            with LocalServer("--tls-cert", cert, "--tls-key", key, cafile=cert) as srv:
                self.assertTrue(srv.url.startswith("https://127.0.0.1:"))
                self.assertEqual(srv.api("GET", "/healthz"), (200, {"status": "ok"}))
                self.assertEqual(srv.api("POST", "/hosts", {})[0], 201)
                parts = urlsplit(srv.url)
                with socket.create_connection((parts.hostname, parts.port)):  # no handshake
                    self.assertEqual(srv.api("GET", "/healthz")[0], 200)


class SshdTests(unittest.TestCase):
    def test_created_host_accepts_ssh(self):
        if not os.path.exists("/usr/sbin/sshd"):
            self.skipTest("/usr/sbin/sshd is not installed, so --sshd cannot be tested")
        with LocalServer(sshd=True, provision_seconds=0.2) as srv, \
                tempfile.TemporaryDirectory() as tmp:
            status, host = srv.api("POST", "/hosts", {})
            self.assertEqual(status, 201, host)
            self.assertEqual(host["external_ssh_host"], "127.0.0.1")
            port = host["external_ssh_port"]
            self.assertTrue(host["known_hosts"].startswith(f"[127.0.0.1]:{port} ssh-ed25519 AAAA"))
            key, known = os.path.join(tmp, "key"), os.path.join(tmp, "known_hosts")
            with open(key, "w") as handle:
                handle.write(host["private_key"])
            os.chmod(key, 0o600)
            with open(known, "w") as handle:
                handle.write(host["known_hosts"])
            command = ["ssh", "-F", "/dev/null", "-i", key, "-o", f"UserKnownHostsFile={known}",
                       "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                       "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
                       "-p", str(port), f"{host['ssh_username']}@127.0.0.1", "true"]
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(srv.api("DELETE", f"/hosts/{host['id']}")[0], 204)
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            status, second = srv.api("POST", "/hosts", {})
            self.assertEqual(status, 201)
            self.assertEqual(srv.stop(), 0)
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", second["external_ssh_port"]), timeout=5).close()


def main() -> int:
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    verbosity = 2 if "-v" in sys.argv[1:] else 1
    result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    broken = [test for test, _ in result.failures + result.errors] + list(result.unexpectedSuccesses)
    skipped = [test for test, _ in result.skipped]
    real = lambda tests: sum(isinstance(test, unittest.TestCase) for test in tests)  # noqa: E731
    passed = result.testsRun - real(broken) - real(skipped)
    summary = f"{passed} passed, {len(broken)} failed"
    if skipped:
        summary += f", {len(skipped)} skipped"
    print(summary, flush=True)
    return 0 if not broken and result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

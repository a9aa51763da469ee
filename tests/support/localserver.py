"""Start and drive scripts/drukbox-local from Python tests.

    from localserver import LocalServer

    with LocalServer(provision_seconds=0.2) as srv:
        status, host = srv.api("POST", "/hosts", {})
        srv.fault("GET /hosts", "status", status=503)
        assert srv.route_count("POST /hosts") == 1

The server script is found through $DRUKBOX_LOCAL, else at
../../scripts/drukbox-local relative to this file.  The token is handed to the
server through its environment (never on the command line).  Standard library
only (urllib).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

READY_PREFIX = "drukbox-local listening on "
READY_TIMEOUT = 20.0
DEFAULT_PROVISION_SECONDS = 0.2


def script_path() -> str:
    """Where drukbox-local lives ($DRUKBOX_LOCAL overrides)."""
    override = os.environ.get("DRUKBOX_LOCAL")
    if override:
        return override
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "scripts", "drukbox-local"))


class LocalServerError(RuntimeError):
    """The server did not start, or a control call failed."""


class LocalServer:
    """A drukbox-local process for the duration of a test (context manager)."""

    def __init__(self, *extra_args: str, token: str = "local-dev-token",
                 provision_seconds: float | None = DEFAULT_PROVISION_SECONDS,
                 sshd: bool = False, env: dict | None = None,
                 cafile: str | None = None, ready_timeout: float = READY_TIMEOUT):
        """extra_args go to drukbox-local as they are (e.g. "--prefix", "/x").
        provision_seconds None keeps the server's own default (2 s).  cafile
        verifies an HTTPS server; without it TLS is not verified."""
        self.token = token
        self.url = ""
        args = [sys.executable, script_path(), "--port", "0", "--quiet"]
        if provision_seconds is not None:
            args += ["--provision-seconds", str(provision_seconds)]
        if sshd:
            args.append("--sshd")
        args += list(extra_args)
        child_env = dict(os.environ)
        child_env["DRUKBOX_LOCAL_TOKEN"] = token
        child_env.update(env or {})
        self._tls = ssl.create_default_context(cafile=cafile) if cafile else _unverified_tls()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._tls), _NoRedirect())
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     env=child_env)
        try:
            self.url = self._read_ready_line(ready_timeout)
        except BaseException:
            self.stop()
            raise

    # -- lifecycle --
    def _read_ready_line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LocalServerError(f"drukbox-local not ready after {timeout:g}s")
                if not selector.select(remaining):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    code = self.proc.wait()
                    raise LocalServerError(f"drukbox-local exited with status {code} "
                                           "before it was ready")
                buffer += chunk
        line = buffer.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if not line.startswith(READY_PREFIX):
            raise LocalServerError(f"unexpected first line from drukbox-local: {line!r}")
        return line[len(READY_PREFIX):]

    def stop(self) -> int | None:
        """SIGTERM, wait up to 5 s, then SIGKILL.  Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self) -> "LocalServer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- HTTP --
    def request(self, method: str, path: str, body: Any = None,
                headers: dict | None = None, auth: bool = True,
                timeout: float = 60.0) -> tuple[int, bytes, dict]:
        """Raw call: (status, body bytes, lowercase headers).  body may be
        bytes/str (sent as is) or any JSON value."""
        sent_headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            if isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode("utf-8")
            else:
                data = json.dumps(body).encode("utf-8")
            sent_headers["Content-Type"] = "application/json"
        if auth:
            sent_headers["Authorization"] = f"Bearer {self.token}"
        sent_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=sent_headers)
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()}
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.read(), {k.lower(): v for k, v in err.headers.items()}

    def api(self, method: str, path: str, body: Any = None, headers: dict | None = None,
            auth: bool = True, timeout: float = 60.0) -> tuple[int, Any]:
        """(status, parsed JSON body) -- the raw text when it is not JSON,
        None when there is no body."""
        status, raw, _ = self.request(method, path, body, headers, auth, timeout)
        return status, _decode(raw)

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        status, raw, _ = self.request(method, "/_local" + path, body, auth=False)
        if not 200 <= status < 300:
            raise LocalServerError(f"{method} /_local{path}: {status} {raw[:500]!r}")
        return _decode(raw)

    # -- test control --
    def stats(self) -> dict:
        """Request counts per route, e.g. {"GET /hosts": 3, "other": 1}."""
        return self._control("GET", "/stats")["routes"]

    def total_requests(self) -> int:
        return self._control("GET", "/stats")["total"]

    def route_count(self, route: str) -> int:
        return self.stats().get(route, 0)

    def reset_stats(self) -> None:
        self._control("POST", "/stats/reset")

    def requests(self) -> list[dict]:
        """The last 2000 API requests: method, path, route, headers, body."""
        return self._control("GET", "/requests")["requests"]

    def reset_requests(self) -> None:
        self._control("POST", "/requests/reset")

    def fault(self, route: str, kind: str, **kw: Any) -> list[dict]:
        """Adds a fault rule; kw: count, status, body, latency_ms."""
        return self._control("POST", "/faults", {"route": route, "kind": kind, **kw})["faults"]

    def clear_faults(self) -> None:
        self._control("POST", "/faults/clear")

    def faults(self) -> list:
        """The fault rules still armed, in order."""
        return self._control("GET", "/faults").get("faults", [])

    def config(self, **kw: Any) -> dict:
        """Changes run-time knobs (provision_seconds, fail_next, ...); returns all."""
        return self._control("POST", "/config", kw)

    def seed(self, n: int, status: str = "active", **fields: Any) -> list[str]:
        """Creates n hosts at once (oldest first in the returned ids)."""
        body = {"count": n, "status": status}
        if fields:
            body["fields"] = fields
        return self._control("POST", "/seed", body)["ids"]

    def patch_host(self, host_id: str, **fields: Any) -> dict:
        """Overwrites raw fields of a stored host with any JSON values."""
        return self._control("POST", f"/hosts/{host_id}", fields)

    def get_host_raw(self, host_id: str) -> dict:
        return self._control("GET", f"/hosts/{host_id}")

    def hosts(self) -> list[dict]:
        """Every stored host as {"id", "status", "idempotency_key"}, oldest
        first -- the truth, without going through the API (no fault or
        count applies)."""
        return self._control("GET", "/hosts")["hosts"]

    def remove_host(self, host_id: str) -> None:
        self._control("DELETE", f"/hosts/{host_id}")

    def reset(self) -> None:
        """Drops all hosts, proxies, faults, stats and requests; restores config."""
        self._control("POST", "/reset")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _unverified_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")

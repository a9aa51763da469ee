"""A bounded soak: 32 readers, a mkdir/rmdir churner and a rotating mix of
faults on GET /hosts and GET /hosts/{id}, for about 25 s; then the mount
must be alive, every operation must have been bounded by the timeout, no
read may have been torn, only the allowed errnos may have been seen, and
once the faults stop the mount must show exactly the server's hosts."""

from __future__ import annotations

import errno
import json
import os
import random
import sys
import threading
import time

from harness import MountTestCase, mounted, read_file, wait_until

LOAD_SECONDS = 25.0
READERS = 32
TIMEOUT = 3
SLACK = 2.0                      # an operation may take timeout + SLACK at most
STATES = ("provisioning", "creating_network", "creating_vm", "bootstrapping",
          "active", "error")
HOST_FILES = ("state", "host.json", "known_hosts", "ssh_config")
CHURN_NAMES = ("soak-a", "soak-b", "soak-c")

# Errnos a reader may see while the service fails (ENOENT only for a host
# that can vanish: a churned name).
READER_ERRNOS = {errno.EPROTO, errno.EHOSTUNREACH, errno.ETIMEDOUT, errno.EAGAIN,
                 errno.EIO}
CHURN_ERRNOS = {errno.EBUSY, errno.EAGAIN, errno.EIO, errno.ETIMEDOUT,
                errno.EHOSTUNREACH, errno.EPROTO}


def _name(err: int) -> str:
    return errno.errorcode.get(err, str(err))


class Stats:
    """Shared counters: ops and max latency per kind, errnos, problems."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: dict[str, int] = {}
        self.max_latency: dict[str, tuple[float, str]] = {}
        self.errnos: dict[str, int] = {}
        self.problems: list[str] = []
        self.inflight: dict[int, tuple[float, str]] = {}

    def begin(self, what: str) -> float:
        t = time.monotonic()
        with self.lock:
            self.inflight[threading.get_ident()] = (t, what)
        return t

    def end(self, kind: str, what: str, start: float, err: int = 0) -> None:
        took = time.monotonic() - start
        with self.lock:
            self.inflight.pop(threading.get_ident(), None)
            self.ops[kind] = self.ops.get(kind, 0) + 1
            if took > self.max_latency.get(kind, (0.0, ""))[0]:
                self.max_latency[kind] = (took, what)
            if err:
                key = f"{kind}:{_name(err)}"
                self.errnos[key] = self.errnos.get(key, 0) + 1

    def problem(self, text: str) -> None:
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)


class SoakTest(MountTestCase):
    SEED = 50
    PROVISION_SECONDS = 0.3
    MOUNT_OPTIONS = {"cache_ttl": 0.5, "timeout": TIMEOUT}

    def test_soak_under_rotating_faults(self):
        seeded = set(self.seeded)
        self.assertEqual(self.listdir(self.path("hosts")), sorted(seeded))
        stats = Stats()
        stop = threading.Event()
        seed = int(os.environ.get("SOAK_SEED", time.time_ns() % 1_000_000))
        sys.stderr.write(f"\n[soak] seed {seed}\n")

        # -- the fault controller --
        def controller() -> None:
            rng = random.Random(seed)
            routes = ("GET /hosts", "GET /hosts/{id}")
            kinds = ("latency", "status", "garbage", "truncate", "short", "drop")
            armed = 0
            while not stop.is_set():
                # Keep at most two rules queued per route, so the mix
                # rotates instead of piling up faster than it is consumed.
                try:
                    queued = [f["route"] for f in self.srv.faults()]
                except Exception as exc:
                    stats.problem(f"listing the faults failed: {exc!r}")
                    queued = []
                free = [r for r in routes if queued.count(r) < 2]
                if not free:
                    stop.wait(0.05)
                    continue
                route = rng.choice(free)
                kind = rng.choice(kinds)
                kw = {"count": rng.randint(1, 4)}
                if kind == "latency":
                    kw["latency_ms"] = rng.randint(200, 800)
                elif kind == "status":
                    kw["status"] = 503
                try:
                    self.srv.fault(route, kind, **kw)
                    armed += 1
                except Exception as exc:  # the control API must keep working
                    stats.problem(f"arming a fault failed: {exc!r}")
                stop.wait(rng.uniform(0.05, 0.3))
            with stats.lock:
                stats.ops["faults-armed"] = armed

        # -- a reader --
        def reader(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            seeded_list = sorted(seeded)
            hosts_dir = self.path("hosts")

            def handle() -> str:
                if rng.random() < 0.1:
                    return rng.choice(CHURN_NAMES)
                return rng.choice(seeded_list)

            def check_err(kind: str, what: str, err: int, h: str | None) -> None:
                if err in READER_ERRNOS:
                    return
                if err == errno.ENOENT and (h is None or h not in seeded):
                    return
                stats.problem(f"{kind} {what}: errno {_name(err)}")

            def op(kind: str, what: str, h: str | None, fn, *args):
                t = stats.begin(what)
                try:
                    value = fn(*args)
                except OSError as exc:
                    stats.end(kind, what, t, exc.errno)
                    check_err(kind, what, exc.errno, h)
                    return None
                stats.end(kind, what, t)
                return value

            def check_content(h: str, name: str, data: bytes) -> None:
                if name == "state":
                    text = data.decode("utf-8", "replace")
                    if text and text not in {s + "\n" for s in STATES}:
                        stats.problem(f"torn state of {h}: {data[:200]!r}")
                elif name == "host.json":
                    try:
                        doc = json.loads(data)
                    except ValueError:
                        stats.problem(f"torn host.json of {h}: {data[:200]!r}")
                        return
                    if not isinstance(doc, dict):
                        stats.problem(f"host.json of {h} is not an object: {data[:200]!r}")
                    elif h in seeded and doc.get("id") != h:
                        stats.problem(f"host.json of {h} has id {doc.get('id')!r}")

            while not stop.is_set():
                r = rng.random()
                if r < 0.15:
                    names = op("listdir", hosts_dir, None, os.listdir, hosts_dir)
                    if names is not None and not seeded <= set(names):
                        stats.problem(f"ls hosts lacks {sorted(seeded - set(names))[:5]}")
                elif r < 0.40:
                    h = handle()
                    name = rng.choice(HOST_FILES + ("",))
                    p = self.host(h, name) if name else self.host(h)
                    op("stat", p, h, os.stat, p)
                elif r < 0.90:
                    h = handle()
                    name = rng.choice(HOST_FILES)
                    p = self.host(h, name)
                    data = op("read", p, h, read_file, p)
                    if data is not None:
                        check_content(h, name, data)
                else:
                    # A find: every syscall timed on its own.
                    names = op("walk", hosts_dir, None, os.listdir, hosts_dir)
                    for h in rng.sample(names or [], min(len(names or []), 8)):
                        if stop.is_set():
                            break
                        d = self.host(h)
                        if op("walk", d, h, os.lstat, d) is None:
                            continue
                        for entry in op("walk", d, h, os.listdir, d) or []:
                            if entry != "wait":
                                op("walk", os.path.join(d, entry), h, os.lstat,
                                   os.path.join(d, entry))

        # -- the mkdir/rmdir churner --
        def churner() -> None:
            rng = random.Random(seed + 7)
            exists = {n: False for n in CHURN_NAMES}
            while not stop.is_set():
                n = rng.choice(CHURN_NAMES)
                p = self.host(n)
                kind = "rmdir" if exists[n] else "mkdir"
                t = stats.begin(f"{kind} {p}")
                try:
                    (os.rmdir if exists[n] else os.mkdir)(p)
                    stats.end(kind, p, t)
                    exists[n] = not exists[n]
                except OSError as exc:
                    stats.end(kind, p, t, exc.errno)
                    if exc.errno not in CHURN_ERRNOS:
                        stats.problem(f"{kind} {n}: errno {_name(exc.errno)} "
                                      f"(believed {'present' if exists[n] else 'absent'})")
                        # resynchronise so one surprise is not reported forever
                        if exc.errno == errno.EEXIST:
                            exists[n] = True
                        elif exc.errno == errno.ENOENT:
                            exists[n] = False
                stop.wait(rng.uniform(0.05, 0.4))

        threads = [threading.Thread(target=controller, name="controller", daemon=True),
                   threading.Thread(target=churner, name="churner", daemon=True)]
        threads += [threading.Thread(target=reader, args=(i,), name=f"reader{i}", daemon=True)
                    for i in range(READERS)]
        start = time.monotonic()
        for t in threads:
            t.start()
        stop.wait(LOAD_SECONDS)
        stop.set()
        join_deadline = time.monotonic() + TIMEOUT + SLACK + 5
        for t in threads:
            t.join(max(0.0, join_deadline - time.monotonic()))
        hung = [t.name for t in threads if t.is_alive()]
        with stats.lock:
            now = time.monotonic()
            stuck = sorted(((now - s, w) for s, w in stats.inflight.values()), reverse=True)
        elapsed = time.monotonic() - start
        routes = self.srv.stats()
        pending = len(self.srv.faults())

        summary = (f"[soak] {elapsed:.1f}s ops "
                   + " ".join(f"{k}={v}" for k, v in sorted(stats.ops.items()))
                   + " | max " + " ".join(f"{k}={v[0]:.2f}s"
                                          for k, v in sorted(stats.max_latency.items()))
                   + " | errnos " + (" ".join(f"{k}={v}" for k, v in
                                              sorted(stats.errnos.items())) or "none")
                   + f" | server GET /hosts={routes.get('GET /hosts', 0)}"
                   f" GET /hosts/{{id}}={routes.get('GET /hosts/{id}', 0)}"
                   f" faults-left={pending}")
        sys.stderr.write(summary + "\n")
        sys.stderr.flush()

        # (1) alive and mounted
        self.assertTrue(self.mnt.alive(), "drukfs died during the soak")
        self.assertTrue(mounted(self.mnt.mountpoint), "the mount went away")
        # (2) bounded operations
        self.assertEqual(hung, [], f"threads still in an operation: {stuck[:5]}")
        bound = TIMEOUT + SLACK
        slow = {k: v for k, v in stats.max_latency.items() if v[0] > bound}
        self.assertEqual(slow, {}, f"operations slower than {bound:g}s")
        # (3) no torn read, (4) only allowed errnos
        self.assertEqual(stats.problems, [], summary)
        self.assertGreater(stats.ops.get("read", 0), 100, summary)

        # (5) back to normal once the faults stop
        self.srv.clear_faults()
        self.mnt.refresh()

        def settled():
            server = {h["id"]: h for h in self.server_hosts()}
            if any(h.get("status") != "active" for h in server.values()):
                return None
            names = self.listdir(self.path("hosts"), timeout=10)
            resolved = {}
            for n in names:
                resolved[n] = n if n in server else self.read(self.host(n, "id"),
                                                             timeout=10).strip()
            if sorted(resolved.values()) == sorted(server) and len(names) == len(server):
                return names
            self.mnt.refresh()
            return None

        names = wait_until(settled, 15, interval=0.3,
                           what="ls hosts to match the server's hosts")
        self.assertTrue(seeded <= set(names))
        for n in names:
            for f in HOST_FILES:
                data = self.read(self.host(n, f), timeout=10)
                if f == "state":
                    self.assertEqual(data, "active\n", n)
                elif f == "host.json":
                    doc = json.loads(data)
                    if n in seeded:
                        self.assertEqual(doc["id"], n)
        self.assertTrue(self.mnt.alive(), "drukfs died after the soak")
        # A clean exit: no sanitizer report (ASan/UBSan/LSan builds) and status 0.
        self.mnt.unmount()
        log = self.mnt.stderr_text()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            self.assertNotIn(marker, log, log[-3000:])
        self.assertEqual(self.mnt.exit_status, 0, log[-3000:])

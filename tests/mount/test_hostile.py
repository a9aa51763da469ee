"""Hostile service answers: TLS verification, hostile GET /hosts bodies,
and a very large host list.

Every hostile body is served raw through a `body` fault on GET /hosts
(count -1) and picked up with .drukfs/refresh.  After each one, drukfs must
still be alive and mounted, must not have created anything outside its mount
and state directory, and must serve the normal hosts again once the fault is
cleared and the list refreshed.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import sys
import time
import uuid

from harness import (MountTestCase, Mount, mounted, start_server, call,
                     drukfs_binary, read_text, sanitizer_of, MOUNT_TIMEOUT)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_DIR = os.path.normpath(os.path.join(HERE, "..", "client"))
TLS_CERT = os.path.join(CLIENT_DIR, "tls-cert.pem")
TLS_KEY = os.path.join(CLIENT_DIR, "tls-key.pem")

KH_22 = ("198.51.100.1 ssh-ed25519 "
         "AAAAC3NzaC1lZDI1NTE5AAAAIL1Laa2+T3GMjNyLMMfNCmMoQDBnOc9fKIeflhW2skwr")

# The string fields drukfs reads from a host record, and its integer fields.
STRING_FIELDS = ["id", "name", "status", "provider", "image", "instance_type",
                 "external_ssh_host", "ssh_username", "internal_ssh_host",
                 "known_hosts", "tailscale_device_id", "private_key",
                 "last_error", "created_at", "updated_at", "activated_at",
                 "expires_at"]
INT_FIELDS = ["disk_gb", "external_ssh_port"]

SSH_LINE = re.compile(r"^(#.*|\s*|Host .*|    [A-Za-z]+ .*)$")


def new_id() -> str:
    return str(uuid.uuid4())


class HostileListTest(MountTestCase):
    SEED = 3
    MOUNT_OPTIONS = {"cache_ttl": 30}

    def prepare(self) -> None:
        self.base = self.server_hosts()
        self.assertEqual(len(self.base), self.SEED)

    # -- helpers --
    def outside(self) -> dict:
        """What exists around the mount: its work dir's parent, /tmp, and
        the work dir itself."""
        parent = os.path.dirname(self.mnt.work)
        out = {}
        for d in {parent, "/tmp", self.mnt.work}:
            out[d] = set(os.listdir(d))
        return out

    def assertNothingNew(self, before: dict) -> None:
        for d, names in before.items():
            new = set(os.listdir(d)) - names
            if d != self.mnt.work:
                # Other test processes on the machine make their own
                # temporary directories; drukfs never makes these.
                new = {n for n in new
                       if not n.startswith(("drukfs-test-", "tmp"))}
            self.assertEqual(new, set(), f"new entries in {d}")

    def assertHealthy(self) -> None:
        self.assertTrue(self.mnt.alive(), "drukfs died:\n" + self.mnt.stderr_text())
        self.assertTrue(mounted(self.mnt.mountpoint), "the mount is gone")
        # The tree still answers.
        self.listdir(self.path())
        self.check_ssh_config()

    def check_ssh_config(self) -> str:
        text = self.read(self.path("ssh_config"))
        for line in text.split("\n"):
            self.assertRegex(line, SSH_LINE, "ssh_config line does not parse")
        return text

    def serve(self, body) -> None:
        """Serves body (str, or JSON value) as GET /hosts and refreshes."""
        if not isinstance(body, str):
            body = json.dumps(body)
        self.srv.clear_faults()   # the first matching rule wins: one at a time
        self.srv.fault("GET /hosts", "body", count=-1, body=body)
        try:
            self.mnt.refresh()
        except AssertionError:
            pass  # a refresh may report the failed fetch; checked by the caller

    def restore(self) -> None:
        self.srv.clear_faults()
        self.mnt.refresh()
        self.assertEqual(self.listdir(self.path("hosts")), sorted(self.seeded))
        for host_id in self.seeded:
            self.assertEqual(self.read(self.host(host_id, "id")), host_id + "\n")
        self.check_ssh_config()

    def record(self, **fields) -> dict:
        """A copy of the first seeded record with a fresh id and fields."""
        rec = dict(self.base[0])
        rec["id"] = new_id()
        rec.update(fields)
        return rec

    # -- tests --
    def test_megabyte_known_hosts(self):
        before = self.outside()
        lines = []
        size = 0
        i = 0
        while size < 1024 * 1024:
            line = KH_22.replace("198.51.100.1", f"198.51.{i // 250}.{i % 250 + 1}")
            lines.append(line)
            size += len(line) + 1
            i += 1
        kh = "\n".join(lines) + "\n"
        rec = self.record(known_hosts=kh)
        self.serve(self.base + [rec])
        self.assertHealthy()
        path = self.host(rec["id"], "known_hosts")
        content = self.read(path)
        self.assertEqual(len(content), len(kh))
        self.assertEqual(content, kh)
        self.assertEqual(os.stat(path).st_size, len(kh.encode()))
        doc = json.loads(self.read(self.host(rec["id"], "host.json")))
        self.assertEqual(doc["known_hosts"], kh)
        self.assertIn(rec["id"], self.listdir(self.path("hosts")))
        self.assertNothingNew(before)
        self.restore()

    def test_nul_and_control_characters(self):
        before = self.outside()
        nul = {f: self.record(**{f: "a\u0000b"}) for f in
               ("name", "status", "known_hosts", "external_ssh_host")}
        ctrl = self.record(name="evil\u0001\u001b[2J\nHost *\n    ProxyCommand x",
                           status="act\u0007ive\r",
                           ssh_username="root\nHost *\n    ProxyCommand rm",
                           external_ssh_host="h\tx\u007f",
                           known_hosts=KH_22 + "\u001b]0;x\u0007\n")
        ctrl_id = self.record(id="ctl\u0001id")
        nul_id = self.record(id="nul\u0000id")
        self.serve(self.base + list(nul.values()) + [ctrl, ctrl_id, nul_id])
        self.assertHealthy()
        listed = self.listdir(self.path("hosts"))
        # A NUL in any string field leaves the record out, named in the log.
        log = self.mnt.log()
        for field, rec in nul.items():
            self.assertNotIn(rec["id"], listed)
            self.assertIn(f'left out {rec["id"]}: host record: field "{field}" '
                          f'contains a NUL byte', log)
        self.assertNotIn("nul\u0000id", listed)
        # Control characters do not make a record malformed; an id holding
        # one cannot be a directory entry.
        self.assertIn(ctrl["id"], listed)
        self.assertNotIn("ctl\u0001id", listed)
        self.assertEqual(sorted(set(listed) - set(self.seeded)), [ctrl["id"]])
        text = self.check_ssh_config()
        self.assertNotIn("ProxyCommand", text)
        self.read(self.host(ctrl["id"], "host.json"))
        self.read(self.host(ctrl["id"], "known_hosts"))
        self.assertNothingNew(before)
        self.restore()

    def test_odd_ids(self):
        before = self.outside()
        bad = ["a/b", "../escape", "..", ".", "x/../../y", "/abs", "a" * 256, ""]
        odd = ["not-a-uuid", "...", "..x", "with space", "ünïcode", "a" * 255]
        recs = [self.record(id=i) for i in bad + odd]
        self.serve(self.base + recs)
        self.assertHealthy()
        listed = self.listdir(self.path("hosts"))
        self.assertEqual(sorted(listed), sorted(self.seeded + odd))
        for i in odd:
            self.assertEqual(self.read(self.host(i, "id")), i + "\n")
        self.assertNotIn("escape", os.listdir(self.mnt.work))
        self.assertNotIn("escape", os.listdir(self.path()))
        self.assertFalse(os.path.exists(self.path("y")))
        self.assertNothingNew(before)
        self.restore()

    def test_duplicate_ids(self):
        before = self.outside()
        dup = self.record(name="second-copy")
        first = self.record(name="first-copy")
        first["id"] = dup["id"]
        self.serve(self.base + [first, dup, dup] + self.base)
        self.assertHealthy()
        listed = self.listdir(self.path("hosts"))
        self.assertEqual(len(listed), len(set(listed)))
        self.assertEqual(sorted(listed), sorted(self.seeded + [dup["id"]]))
        _, err = call(os.listdir, self.path("hosts"))
        self.assertEqual(err, 0)
        self.assertNothingNew(before)
        self.restore()

    def test_deep_nesting_keeps_stale_list(self):
        before = self.outside()
        deep = "[" * 100000 + "]" * 100000
        self.serve(deep)
        self.assertHealthy()
        # A failed list fetch keeps the last good list.
        self.assertEqual(self.listdir(self.path("hosts")), sorted(self.seeded))
        self.wait_until(lambda: "nested deeper than" in self.mnt.log(), 10,
                        what="the deep array to be refused")
        deep_obj = '{"a":' * 100000 + "1" + "}" * 100000
        self.serve(deep_obj)
        self.assertHealthy()
        self.assertEqual(self.listdir(self.path("hosts")), sorted(self.seeded))
        self.wait_until(lambda: self.mnt.log().count("nested deeper than") == 2,
                        10, what="the deep object to be refused")
        # Deep nesting inside one record of an otherwise good list.
        rec = self.record()
        body = json.dumps(self.base)[:-1] + ", " + json.dumps(rec)[:-1] + \
            ', "extra": ' + "[" * 100000 + "]" * 100000 + "}]"
        self.serve(body)
        self.assertHealthy()
        self.assertEqual(self.listdir(self.path("hosts")), sorted(self.seeded))
        self.wait_until(lambda: self.mnt.log().count("nested deeper than") == 3,
                        10, what="the deep record to be refused")
        self.assertNothingNew(before)
        self.restore()

    def test_deep_nesting_refuses_fresh_mount(self):
        self.srv.fault("GET /hosts", "body", count=-1,
                       body="[" * 100000 + "]" * 100000)
        mnt = self.mount(wait=False)
        status = mnt.wait_exit(MOUNT_TIMEOUT)
        self.assertIsNotNone(status, "drukfs did not exit")
        self.assertNotEqual(status, 0)
        self.assertFalse(mounted(mnt.mountpoint))
        err = mnt.stderr_text()
        self.assertIn("nested deeper than", err)
        self.assertNoToken(err, "stderr")

    def _wrong_types_batch(self, cases: list) -> None:
        """cases: (label, record, expected log detail); at most 8 (the log
        names the first 8 malformed records of a list)."""
        self.assertLessEqual(len(cases), 8)
        self.serve(self.base + [rec for _, rec, _ in cases])
        self.assertHealthy()
        self.assertEqual(self.listdir(self.path("hosts")), sorted(self.seeded))
        log = self.mnt.log()
        self.assertIn(f"list: {len(cases)} host records were malformed and left out", log)
        for label, rec, detail in cases:
            self.assertIn(f"list: left out {label}: {detail}", log, label)

    def test_wrong_types_for_every_field(self):
        before = self.outside()
        cases = []
        wrong_for_string = [123, 1.5, True, [], {}]
        for n, field in enumerate(STRING_FIELDS):
            value = wrong_for_string[n % len(wrong_for_string)]
            rec = self.record(**{field: value})
            label = rec["id"] if field != "id" else f"#{self.SEED + len(cases) % 8}"
            cases.append((field, rec, label,
                          f'host record: field "{field}" is not a string'))
        wrong_for_int = ["22", 1.5, True, [], {}]
        for n, field in enumerate(INT_FIELDS):
            rec = self.record(**{field: wrong_for_int[n]})
            cases.append((field, rec, rec["id"],
                          f'host record: field "{field}" is not an integer'))
        rec = self.record(external_ssh_port=70000)
        cases.append(("port", rec, rec["id"],
                      'host record: field "external_ssh_port" is out of range'))
        rec = self.record()
        del rec["id"]
        cases.append(("noid", rec, None,
                      'host record: field "id" is missing or empty'))
        for value in (5, "a string", None, [1, 2]):
            cases.append(("notobj", value, None, "host record is not a JSON object"))
        for start in range(0, len(cases), 8):
            batch = []
            for k, (_, rec, label, detail) in enumerate(cases[start:start + 8]):
                if label is None or label.startswith("#"):
                    label = f"#{self.SEED + k}"
                batch.append((label, rec, detail))
            self._wrong_types_batch(batch)
        self.assertNothingNew(before)
        self.restore()

    def test_body_not_an_array(self):
        before = self.outside()
        bodies = ['{"hosts": []}', '"hosts"', "42", "null", "true", "",
                  "<html>nope</html>", json.dumps(self.base)[:-1],
                  json.dumps(self.base) + "garbage", "\u0000", "[1,]"]
        for body in bodies:
            failed = self.mnt.log().count("refresh failed:")
            self.serve(body)
            self.assertHealthy()
            self.assertEqual(self.listdir(self.path("hosts")), sorted(self.seeded),
                             f"body {body[:40]!r}")
            # The list is fetched in the background: wait for the refusal.
            self.wait_until(lambda: self.mnt.log().count("refresh failed:") == failed + 1,
                            10, what=f"body {body[:40]!r} to be refused")
        log = self.mnt.log()
        self.assertIn("host list is not a JSON array", log)
        self.assertNothingNew(before)
        self.restore()


class TlsTest(MountTestCase):
    AUTO_MOUNT = False
    SERVER_ARGS = ("--tls-cert", TLS_CERT, "--tls-key", TLS_KEY)

    def setUp(self) -> None:
        super().setUp()
        self.assertTrue(self.srv.url.startswith("https://"), self.srv.url)

    def test_self_signed_refused_without_cacert(self):
        mnt = self.mount(wait=False)
        status = mnt.wait_exit(MOUNT_TIMEOUT)
        self.assertIsNotNone(status, "drukfs did not exit")
        self.assertNotEqual(status, 0)
        self.assertFalse(mounted(mnt.mountpoint))
        err = mnt.stderr_text()
        self.assertRegex(err.lower(), r"certificate|tls|ssl", err)
        self.assertNoToken(err, "stderr")
        self.assertEqual(self.route_count("GET /hosts"), 0)

    def test_self_signed_accepted_with_cacert(self):
        self.srv.seed(2)
        mnt = self.mount({"cacert": TLS_CERT})
        res = self.run_ok("ls", mnt.path("hosts"))
        self.assertEqual(len(res.stdout.split()), 2)
        self.assertNoToken(mnt.stderr_text(), "stderr")


class ManyHostsTest(MountTestCase):
    SEED = 20000
    MOUNT_OPTIONS = {"cache_ttl": 60, "timeout": 30}

    def test_twenty_thousand_hosts_one_request(self):
        self.mnt.refresh()   # drops the cached list
        self.reset_counts()
        start = time.monotonic()
        res = self.sh("ls hosts | wc -l", timeout=60)
        elapsed = time.monotonic() - start
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(int(res.stdout.strip()), 20000)
        self.assertEqual(self.route_count("GET /hosts"), 1)
        self.assertLess(elapsed, 20.0)


def proc_status(pid: int, key: str) -> int:
    """A size from /proc/PID/status (VmHWM, VmRSS), in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} for {pid}")


def peak_rss(pid: int) -> int:
    """VmHWM of a process, in bytes."""
    return proc_status(pid, "VmHWM")


class RefreshMemoryTest(MountTestCase):
    """A refresh reads the list as it arrives and keeps the records that did
    not change (docs/benchmarks.md): it must not hold the body, nor a second
    copy of the list, at any moment.  Measured as the growth of peak RSS
    over the RSS before the refresh, with the peak reset in between
    (/proc/PID/clear_refs, "5").  At 10 000 hosts (a 6.4 MB body) this was
    11 MB when the body was buffered and parsed beside the old list, and is
    under 2 MB now; the bound is half the body.  Skipped under the
    sanitizers, whose allocators keep freed memory in quarantine."""

    SEED = 10000
    AUTO_MOUNT = False

    def test_refresh_holds_neither_body_nor_second_list(self):
        if sanitizer_of(drukfs_binary()):
            self.skipTest("RSS under a sanitizer is not drukfs's")
        status, raw, _ = self.srv.request("GET", "/hosts")
        self.assertEqual(status, 200)
        body = len(raw)
        del raw
        self.mnt = self.mount({"cache_ttl": 600, "timeout": 30}, wait=False)
        self.mnt.wait_mounted(timeout=40)
        res = self.sh("ls -l hosts | grep -c '^d'", timeout=60)
        self.assertEqual(int(res.stdout.strip()), self.SEED)
        pid = self.mnt.pid
        before = proc_status(pid, "VmRSS")
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5\n")
        self.assertLess(peak_rss(pid), before + (1 << 20))
        self.reset_counts()
        self.mnt.refresh()
        res = self.sh("ls -l hosts | grep -c '^d'", timeout=60)
        self.assertEqual(int(res.stdout.strip()), self.SEED)
        self.assertEqual(self.srv.stats(), {"GET /hosts": 1})
        growth = peak_rss(pid) - before
        sys.stderr.write(f"\n[refresh] body {body / 1e6:.1f} MB, RSS before "
                         f"{before / 1e6:.1f} MB, peak grew "
                         f"{growth / 1e6:.2f} MB\n")
        self.assertLess(growth, body // 2,
                        f"a refresh of a {body / 1e6:.1f} MB list raised the "
                        f"peak by {growth / 1e6:.1f} MB")


class HundredThousandHostsTest(MountTestCase):
    """The issue's hostile-server list ends with 100 000 hosts: a GET /hosts
    body of 64 MB (about 640 bytes a record).

    Measured on the 2-core test machine with the streaming list parser
    (eee2fd1): drukbox-local seeds them in about 5 s; drukfs mounts in
    0.4 s, `ls -l hosts` after a refresh takes 1.5 s, and drukfs's peak
    RSS is 272 MB, 4.2 times the body (before that parser: 2.3 s, 3.0 s
    and 856-924 MB, 13-14x).  With the list read as it arrives (d10be16,
    measured at bd1cedb): 0.3 s, 0.9 s and 192 MB, 3.0x, most of that
    peak rendering ssh_config (38 MB of text); with ssh_config rendered
    per READ (96542ed, measured at 7306b45): 0.4 s, 1.3 s, 121 MB, 1.9x.
    Under ASan (eee2fd1):
    0.7 s, 2.0 s and 799 MB (before: 40 s, 53 s, 2.9 GB), so the test runs
    there too; only the memory bound is skipped there, and under TSan
    (1.2 GB): the sanitizers' shadow memory and quarantine are not
    drukfs's."""

    SEED = 100000
    AUTO_MOUNT = False
    COUNT = 100000
    # -o timeout: the one GET /hosts of 64 MB must fit in it, under ASan too.
    TIMEOUT = 60
    # Peak RSS at most this many times the GET /hosts body: the goal in
    # docs/benchmarks.md, which the streaming list parser meets (4.2x
    # measured, after a mount and one refresh).
    RSS_PER_BODY_BYTE = 6

    def test_hundred_thousand_hosts(self):
        sanitizer = sanitizer_of(drukfs_binary())
        status, raw, _ = self.srv.request("GET", "/hosts")
        self.assertEqual(status, 200)
        body = len(raw)
        del raw
        self.reset_counts()
        start = time.monotonic()
        self.mnt = self.mount({"cache_ttl": 600, "timeout": self.TIMEOUT}, wait=False)
        self.mnt.wait_mounted(timeout=self.TIMEOUT + 10)
        mounted_in = time.monotonic() - start
        self.assertLess(mounted_in, self.TIMEOUT if sanitizer else 20.0)
        self.assertEqual(self.srv.stats(), {"GET /hosts": 1})

        res = self.sh("ls hosts | wc -l", timeout=self.TIMEOUT)
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(int(res.stdout.strip()), self.COUNT)

        # A refresh drops the list: `ls -l` of every host is one request.
        self.mnt.refresh()
        self.reset_counts()
        started = time.monotonic()
        res = self.sh("ls -l hosts | grep -c '^d'", timeout=self.TIMEOUT + 60)
        listed_in = time.monotonic() - started
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(int(res.stdout.strip()), self.COUNT)
        self.assertEqual(self.srv.stats(), {"GET /hosts": 1})

        # A few hosts, each file against the server's record.
        picked = random.Random(self.COUNT).sample(self.seeded, 5)
        for host_id in picked:
            rec = self.srv.get_host_raw(host_id)
            self.assertEqual(self.read(self.host(host_id, "id")), host_id + "\n")
            for field in ("name", "status", "external_ssh_host", "image"):
                name = "state" if field == "status" else field
                self.assertEqual(self.read(self.host(host_id, name)),
                                 f"{rec[field]}\n", f"{host_id}/{name}")
            doc = json.loads(self.read(self.host(host_id, "host.json")))
            for key, value in rec.items():
                if key != "private_key":
                    self.assertEqual(doc.get(key), value, f"{host_id} {key}")

        # ssh_config has a block for every host, the picked ones included.
        text = self.read(self.path("ssh_config"), timeout=self.TIMEOUT)
        blocks = [l for l in text.split("\n") if l.startswith("Host ")]
        self.assertEqual(len(blocks), self.COUNT)
        for host_id in picked:
            self.assertIn(f"Host {host_id}.drukbox ", text)
        del text
        self.assertEqual(self.srv.stats(), {"GET /hosts": 1})

        hwm = peak_rss(self.mnt.pid)
        sys.stderr.write(f"\n[100k] body {body / 1e6:.1f} MB, mounted in "
                         f"{mounted_in:.1f}s, ls -l in {listed_in:.1f}s, "
                         f"peak RSS {hwm / 1e6:.0f} MB = {hwm / body:.1f}x body"
                         f"{f' ({sanitizer})' if sanitizer else ''}\n")
        if not sanitizer:
            self.assertLess(hwm, self.RSS_PER_BODY_BYTE * body,
                            f"peak RSS {hwm / 1e6:.0f} MB for a "
                            f"{body / 1e6:.1f} MB list")

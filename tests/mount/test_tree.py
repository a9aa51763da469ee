"""The tree as ls, stat, cat, find, grep and jq see it, over seeded hosts:
names, contents, sizes, modes, owners, times, host.json, doctor, the
read-only contract and the cache-dropping controls."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import threading
import time
from datetime import datetime

from harness import MountTestCase, read_file, read_text, wait_until

# The files of a host directory, as readdir lists them (wait is never
# listed; private_key only when this mount holds the key).
LISTED_FIELDS = sorted([
    "state", "id", "name", "provider", "image", "instance_type", "disk_gb",
    "external_ssh_host", "external_ssh_port", "ssh_username",
    "internal_ssh_host", "known_hosts", "last_error", "created_at",
    "updated_at", "activated_at", "expires_at", "host.json", "ssh_config",
])
# file name -> record key, for the value files
VALUE_FIELDS = {name: ("status" if name == "state" else name)
                for name in LISTED_FIELDS if name not in ("host.json", "ssh_config")}
# Writable: expires_at renews the lease.  Everything else is read-only.
FILE_MODES = {name: (0o644 if name == "expires_at" else 0o444) for name in LISTED_FIELDS}

# Realistic known_hosts lines (base64 of a real key type's blob).
KH_22 = "198.51.100.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL1Laa2+T3GMjNyLMMfNCmMoQDBnOc9fKIeflhW2skwr"
KH_2222 = ("[198.51.100.1]:2222 ecdsa-sha2-nistp256 "
           "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5")


def expected_value(value) -> str:
    """A value file's content: the value and one newline; null or "" is
    an empty file; a value already ending in a newline gets no second."""
    if value is None or value == "":
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if text.endswith("\n") else text + "\n"


def raw_read(path: str) -> str:
    """open + one read, no stat: what head, dd and the shell's read do."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096).decode()
    finally:
        os.close(fd)


def epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def open_write(path: str, flags: int) -> None:
    """Opens path with flags and writes one byte: the errno of either."""
    fd = os.open(path, flags)
    try:
        os.write(fd, b"x")
    finally:
        os.close(fd)


class TreeTest(MountTestCase):
    SEED = 6
    MOUNT_OPTIONS = {"cache_ttl": 30}

    # Times with distinct seconds, in an order that differs between
    # created_at and updated_at, one with a non-UTC offset.
    CREATED = ["2026-01-01T10:00:00+00:00", "2026-01-01T10:05:00.250000+00:00",
               "2026-01-01T10:10:00+00:00", "2026-01-01T13:15:00+02:00",
               "2026-01-01T10:20:00.999999+00:00", "2026-01-01T10:25:00Z"]
    UPDATED = ["2026-02-01T08:00:00+00:00", "2026-02-01T05:00:00+00:00",
               "2026-02-01T09:30:00.5+00:00", "2026-02-01T01:00:00+00:00",
               "2026-02-01T12:00:00-03:00", "2026-02-01T07:00:00+00:00"]

    def prepare(self) -> None:
        for i, host_id in enumerate(self.seeded):
            self.srv.patch_host(host_id, created_at=self.CREATED[i],
                                updated_at=self.UPDATED[i])
        # One host with every kind of value a file can hold.
        self.srv.patch_host(
            self.seeded[0], instance_type="m5.large", disk_gb=40,
            internal_ssh_host="sb-0.tail1234.ts.net",
            last_error="first line\nsecond line", external_ssh_port=2222,
            known_hosts=KH_2222 + "\n" + KH_22 + "\n",
            activated_at=None, image="ubuntu-24.04")

    def record(self, host_id: str) -> dict:
        return self.srv.get_host_raw(host_id)

    # -- names ---------------------------------------------------------------

    def test_root_and_meta_layout(self):
        res = self.run_ok("ls", "-a", self.path())
        self.assertEqual(res.stdout.split(), [".", "..", ".drukfs", "doctor",
                                              "doctor.json", "hosts", "specs",
                                              "ssh_config"])
        res = self.run_ok("ls", "-a", self.path(".drukfs"))
        self.assertEqual(res.stdout.split(), [".", "..", "log", "refresh", "stats"])

    def test_hosts_lists_every_seeded_host(self):
        res = self.run_ok("ls", self.path("hosts"))
        self.assertEqual(res.stdout.split(), sorted(self.seeded))
        res = self.run_ok("find", self.path("hosts"), "-mindepth", "1",
                          "-maxdepth", "1", "-type", "d", "-printf", "%f\n")
        self.assertEqual(sorted(res.stdout.split()), sorted(self.seeded))
        for host_id in self.seeded:
            res = self.run_ok("ls", "-a", self.host(host_id))
            self.assertEqual(res.stdout.split(), [".", ".."] + LISTED_FIELDS,
                             f"files of {host_id}")

    def test_find_and_grep_over_the_tree(self):
        n = len(self.seeded)
        res = self.sh("find hosts -type f | wc -l")
        self.assertEqual(int(res.stdout), n * len(LISTED_FIELDS), res)
        res = self.sh("find hosts -name wait -o -name private_key")
        self.assertEqual(res.stdout, "", "wait/private_key must not be listed")
        res = self.sh("grep -l '^active$' hosts/*/state | wc -l")
        self.assertEqual(int(res.stdout), n, res)
        res = self.sh("grep -h . hosts/*/id | sort")
        self.assertEqual(res.stdout.split(), sorted(self.seeded))
        res = self.sh("grep -rl --include=external_ssh_host '^198\\.51\\.100\\.' hosts | wc -l")
        self.assertEqual(int(res.stdout), n, res)
        res = self.sh("cat hosts/*/external_ssh_port | sort | uniq -c | awk '{print $1\":\"$2}'")
        self.assertEqual(sorted(res.stdout.split()), sorted([f"{n - 1}:22", "1:2222"]))

    # -- contents --------------------------------------------------------------

    def test_every_value_file_equals_the_record(self):
        for host_id in self.seeded:
            rec = self.record(host_id)
            for name, key in VALUE_FIELDS.items():
                self.assertEqual(self.read(self.host(host_id, name)),
                                 expected_value(rec[key]), f"{host_id}/{name}")

    def test_value_files_through_cat(self):
        host_id = self.seeded[0]
        rec = self.record(host_id)
        res = self.run_ok("cat", self.host(host_id, "state"))
        self.assertEqual(res.stdout, "active\n")
        res = self.run_ok("cat", self.host(host_id, "id"))
        self.assertEqual(res.stdout, host_id + "\n")
        res = self.run_ok("cat", self.host(host_id, "name"))
        self.assertEqual(res.stdout, rec["name"] + "\n")
        self.assertRegex(res.stdout, r"^sb-[0-9a-f]{12}\n$")
        res = self.run_ok("cat", self.host(host_id, "disk_gb"))
        self.assertEqual(res.stdout, "40\n")
        res = self.run_ok("cat", self.host(host_id, "external_ssh_port"))
        self.assertEqual(res.stdout, "2222\n")
        res = self.run_ok("cat", self.host(host_id, "last_error"))
        self.assertEqual(res.stdout, "first line\nsecond line\n")
        res = self.run_ok("cat", self.host(host_id, "known_hosts"))
        self.assertEqual(res.stdout, rec["known_hosts"])  # ends in \n: no second one
        res = self.run_ok("cat", self.host(host_id, "created_at"))
        self.assertEqual(res.stdout, self.CREATED[0] + "\n")

    def test_known_hosts_serves_only_plain_lines(self):
        host_id = self.seeded[2]
        raw = (KH_22 + "\n"
               "@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL1Laa2+T3G\n"
               "# a comment\n"
               "junk\n"
               + KH_2222 + "\n"
               "198.51.100.9 ssh-ed25519 AAAA$(reboot)AAAAAAAAAAAAAAAAAAAA\n"
               "bad!host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL1Laa2+T3G\n")
        self.srv.patch_host(host_id, known_hosts=raw)
        self.mnt.refresh()
        path = self.host(host_id, "known_hosts")
        self.assertEqual(self.read(path), KH_22 + "\n" + KH_2222 + "\n")
        self.assertEqual(os.stat(path).st_size, len(KH_22) + len(KH_2222) + 2)
        doc = json.loads(self.read(self.host(host_id, "host.json")))
        self.assertEqual(doc["known_hosts"], raw, "host.json keeps the raw value")

    def test_null_and_empty_values_are_empty_files(self):
        plain = self.seeded[1]
        rec = self.record(plain)
        self.assertIsNone(rec["instance_type"])
        self.assertIsNone(rec["disk_gb"])
        self.assertIsNone(rec["internal_ssh_host"])
        self.assertEqual(rec["last_error"], "")
        for name in ("instance_type", "disk_gb", "internal_ssh_host", "last_error"):
            path = self.host(plain, name)
            self.assertEqual(os.stat(path).st_size, 0, name)
            self.assertEqual(self.read(path), "", name)
        path = self.host(self.seeded[0], "activated_at")
        self.assertEqual(self.read(path), "")
        self.assertEqual(os.stat(path).st_size, 0)

    def test_size_equals_content_for_every_file(self):
        checked = 0
        for dirpath, dirnames, filenames in os.walk(self.path("hosts")):
            for name in filenames:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    data = f.read()
                self.assertEqual(os.stat(path).st_size, len(data), path)
                checked += 1
        self.assertEqual(checked, len(self.seeded) * len(LISTED_FIELDS))

    def test_host_json_parses_with_jq_and_equals_the_record(self):
        for host_id in self.seeded:
            res = self.run_ok("jq", "-S", ".", self.host(host_id, "host.json"))
            self.assertEqual(json.loads(res.stdout), self.record(host_id), host_id)
        res = self.sh("jq -r .status hosts/*/host.json | sort -u")
        self.assertEqual(res.stdout, "active\n")
        res = self.sh("jq -s -c 'map(.id) | sort' hosts/*/host.json")
        self.assertEqual(json.loads(res.stdout), sorted(self.seeded))
        res = self.run_ok("jq", "-r", ".external_ssh_port",
                          self.host(self.seeded[0], "host.json"))
        self.assertEqual(res.stdout, "2222\n")

    # -- attributes ------------------------------------------------------------

    def test_modes_and_owner(self):
        uid, gid = os.getuid(), os.getgid()

        def check(path, kind, mode):
            st = os.lstat(path)
            self.assertEqual(stat.S_IFMT(st.st_mode), kind, path)
            self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(mode), path)
            self.assertEqual((st.st_uid, st.st_gid), (uid, gid), path)

        check(self.path(), stat.S_IFDIR, 0o755)
        check(self.path("hosts"), stat.S_IFDIR, 0o755)
        check(self.path(".drukfs"), stat.S_IFDIR, 0o755)
        check(self.path("specs"), stat.S_IFDIR, 0o755)
        for name in ("doctor", "doctor.json", "ssh_config"):
            check(self.path(name), stat.S_IFREG, 0o444)
        for name in ("log", "stats"):
            check(self.path(".drukfs", name), stat.S_IFREG, 0o444)
        check(self.path(".drukfs", "refresh"), stat.S_IFREG, 0o200)
        for host_id in self.seeded:
            check(self.host(host_id), stat.S_IFDIR, 0o555)
            for name in LISTED_FIELDS + ["wait"]:
                check(self.host(host_id, name), stat.S_IFREG, FILE_MODES.get(name, 0o444))
        res = self.run_ok("ls", "-l", self.host(self.seeded[0]))
        modes = {line.split()[-1]: line.split()[0] for line in res.stdout.splitlines()[1:]}
        self.assertEqual(modes, {name: "-rw-r--r--" if mode == 0o644 else "-r--r--r--"
                                 for name, mode in FILE_MODES.items()}, res.stdout)

    def test_private_key_mode_when_this_mount_created_the_host(self):
        self.mkdir_host("keyed")
        self.wait_active("keyed")
        path = self.host("keyed", "private_key")
        st = os.stat(path)
        self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(0o600))
        self.assertEqual(st.st_uid, os.getuid())
        key = self.read(path)
        self.assertTrue(key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n"), key[:60])
        self.assertEqual(st.st_size, len(key.encode()))
        res = self.run_ok("ls", "-l", self.host("keyed"))
        line = [l for l in res.stdout.splitlines() if l.endswith(" private_key")]
        self.assertEqual(len(line), 1, res.stdout)
        self.assertTrue(line[0].startswith("-rw------- "), line[0])
        # The key is a file of its own, never part of host.json.
        doc = json.loads(self.read(self.host("keyed", "host.json")))
        self.assertIsNone(doc["private_key"])
        self.assertNotIn("PRIVATE KEY", self.read(self.host("keyed", "host.json")))
        # Hosts this mount did not create have no private_key at all.
        self.assertErrno(errno.ENOENT, os.stat, self.host(self.seeded[0], "private_key"))

    def test_mtime_is_updated_at_and_ctime_is_created_at(self):
        for i, host_id in enumerate(self.seeded):
            for path in (self.host(host_id), self.host(host_id, "state"),
                         self.host(host_id, "host.json")):
                st = os.stat(path)
                self.assertEqual(int(st.st_mtime), epoch(self.UPDATED[i]), path)
                self.assertEqual(int(st.st_ctime), epoch(self.CREATED[i]), path)
        by_updated = [h for _, h in sorted(
            ((epoch(self.UPDATED[i]), h) for i, h in enumerate(self.seeded)), reverse=True)]
        res = self.run_ok("ls", "-t", self.path("hosts"))
        self.assertEqual(res.stdout.split(), by_updated, "ls -t: newest updated_at first")
        by_created = [h for _, h in sorted(
            ((epoch(self.CREATED[i]), h) for i, h in enumerate(self.seeded)), reverse=True)]
        res = self.run_ok("ls", "-tc", self.path("hosts"))
        self.assertEqual(res.stdout.split(), by_created, "ls -tc: newest created_at first")
        res = self.run_ok("stat", "-c", "%Y %Z", self.host(self.seeded[3]))
        self.assertEqual(res.stdout.split(), [str(epoch(self.UPDATED[3])),
                                              str(epoch(self.CREATED[3]))])

    # -- wait --------------------------------------------------------------------

    def test_wait_is_not_listed_but_answers(self):
        host_id = self.seeded[2]
        self.assertNotIn("wait", os.listdir(self.host(host_id)))
        st = os.stat(self.host(host_id, "wait"))
        self.assertTrue(stat.S_ISREG(st.st_mode))
        res = self.run_ok("cat", self.host(host_id, "wait"), timeout=10)
        self.assertEqual(res.stdout, "active\n")

    # -- doctor --------------------------------------------------------------------

    def server_doctor(self) -> dict:
        status, body = self.srv.api("GET", "/doctor")
        self.assertEqual(status, 200)
        return body

    @staticmethod
    def comparable(doc: dict) -> dict:
        """A doctor report without the latencies, which differ per call."""
        out = dict(doc)
        out["checks"] = [{k: v for k, v in c.items() if k != "latency_ms"}
                         for c in doc["checks"]]
        return out

    def test_doctor_ok(self):
        text = self.read(self.path("doctor"))
        lines = text.splitlines()
        self.assertEqual(lines[0], "drukbox: ok (all 3 checks ok)", text)
        self.assertIn("provider:   docker", lines)
        self.assertIn("tailscale:  disabled", lines)
        for name in ("db", "provider", "tailscale"):
            row = [l for l in lines if l.split()[:1] == [name]]
            self.assertEqual(len(row), 1, text)
            self.assertEqual(row[0].split()[1], "ok", row[0])
        self.assertIn(f"service:    {self.srv.url} (reachable, token accepted)", lines)
        self.assertTrue(any(l.startswith("hosts:      6 cached") for l in lines), text)
        self.assertIn("last error: -", lines)
        res = self.run_ok("jq", "-S", ".", self.path("doctor.json"))
        doc = json.loads(res.stdout)
        self.assertEqual(self.comparable(doc), self.comparable(self.server_doctor()))
        self.assertIs(doc["ok"], True)

    def test_doctor_failing_check(self):
        self.srv.config(doctor_fail=["db"])
        expected = self.server_doctor()
        self.mnt.refresh()   # the doctor report is cached for doctor_ttl
        text = self.read(self.path("doctor"))
        lines = text.splitlines()
        self.assertEqual(lines[0], "drukbox: FAIL (1 of 3 checks failing)", text)
        db = [c for c in expected["checks"] if c["name"] == "db"][0]
        row = [l for l in lines if l.split()[:1] == ["db"]]
        self.assertEqual(len(row), 1, text)
        self.assertEqual(row[0].split()[1], "FAIL", row[0])
        self.assertIn(db["detail"], row[0])
        self.assertTrue(row[0].endswith("hint: " + db["hint"]), row[0])
        res = self.run_ok("jq", "-c", "[.ok, (.checks[] | select(.name == \"db\") | .status)]",
                          self.path("doctor.json"))
        self.assertEqual(json.loads(res.stdout), [False, "fail"])
        res = self.run_ok("jq", "-S", ".", self.path("doctor.json"))
        self.assertEqual(self.comparable(json.loads(res.stdout)), self.comparable(expected))

    # -- read only -------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Everything a mutation could have changed: names and contents."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.path("hosts")):
            out[dirpath] = sorted(dirnames + filenames)
            for name in filenames:
                out[os.path.join(dirpath, name)] = read_text(os.path.join(dirpath, name))
        out["/"] = sorted(os.listdir(self.path()))
        return out

    def test_writes_creates_renames_chmod_unlink_are_refused(self):
        """The errnos fs.c documents: writing or truncating a file is
        EACCES (at write(2) for root, whom the kernel lets open it: opens
        never reach drukfs); changing the shape of the tree (create, mknod,
        link, symlink, rename, unlink, mkdir outside hosts/, rmdir of
        hosts/) or attributes (chmod, chown, utimes) is EPERM."""
        h = self.seeded[1]
        state = self.host(h, "state")
        before = self.snapshot()
        self.reset_counts()
        E, P = errno.EACCES, errno.EPERM
        cases = [
            (E, "open O_WRONLY", lambda: open_write(state, os.O_WRONLY)),
            (E, "open O_RDWR", lambda: open_write(state, os.O_RDWR)),
            (E, "open O_WRONLY|O_TRUNC", lambda: os.open(state, os.O_WRONLY | os.O_TRUNC)),
            (E, "open O_APPEND", lambda: open_write(state, os.O_WRONLY | os.O_APPEND)),
            (E, "truncate", lambda: os.truncate(state, 0)),
            (E, "write host.json", lambda: open_write(self.host(h, "host.json"), os.O_WRONLY)),
            (E, "write wait", lambda: open_write(self.host(h, "wait"), os.O_WRONLY)),
            (E, "write doctor", lambda: open_write(self.path("doctor"), os.O_WRONLY)),
            (E, "write .drukfs/log", lambda: open_write(self.path(".drukfs", "log"),
                                                        os.O_WRONLY)),
            (P, "create in a host dir", lambda: os.open(self.host(h, "new"),
                                                        os.O_WRONLY | os.O_CREAT, 0o644)),
            (P, "create in hosts/", lambda: os.open(self.path("hosts", "new"),
                                                    os.O_WRONLY | os.O_CREAT, 0o644)),
            (P, "create in the root", lambda: os.open(self.path("new"),
                                                      os.O_WRONLY | os.O_CREAT, 0o644)),
            (P, "mkfifo", lambda: os.mkfifo(self.host(h, "fifo"))),
            (P, "chmod", lambda: os.chmod(state, 0o644)),
            (P, "chmod dir", lambda: os.chmod(self.host(h), 0o755)),
            (P, "chown", lambda: os.chown(state, 1, 1)),
            (P, "utime", lambda: os.utime(state, (0, 0))),
            (P, "rename file", lambda: os.rename(state, self.host(h, "state2"))),
            (P, "rename host", lambda: os.rename(self.host(h), self.path("hosts", "renamed"))),
            (P, "unlink file", lambda: os.unlink(state)),
            (P, "unlink doctor", lambda: os.unlink(self.path("doctor"))),
            (P, "symlink", lambda: os.symlink("state", self.host(h, "link"))),
            (P, "link", lambda: os.link(state, self.host(h, "hard"))),
            (P, "mkdir in root", lambda: os.mkdir(self.path("newdir"))),
            (P, "mkdir in a host", lambda: os.mkdir(self.host(h, "sub"))),
            (P, "rmdir hosts", lambda: os.rmdir(self.path("hosts"))),
        ]
        # Opens never reach drukfs (no-open): root, whom the kernel lets
        # open a 0444 or 0200 file, is refused at write(2) instead, and
        # reads .drukfs/refresh as the empty file it is.
        self.assertEqual(self.call(read_file, self.path(".drukfs", "refresh"))[0], b"")
        for expected, what, fn in cases:
            with self.subTest(what):
                value, err = self.call(fn, timeout=10)
                if isinstance(value, int) and not err:
                    os.close(value)
                self.assertEqual(errno.errorcode.get(err, "success"),
                                 errno.errorcode[expected], what)
        res = self.sh(f"echo x > hosts/{h}/state")
        self.assertNotEqual(res.returncode, 0)
        self.assertEqual(res.errno, errno.EACCES, res)
        res = self.run_cmd("touch", self.host(h, "state"))  # opens O_WRONLY|O_CREAT first
        self.assertEqual(res.errno, errno.EACCES, res)
        res = self.run_cmd("touch", "-c", "-d", "2001-01-01", self.path("hosts"))
        self.assertEqual(res.errno, errno.EPERM, res)
        res = self.run_cmd("mv", self.host(h), self.path("hosts", "x"))
        self.assertEqual(res.errno, errno.EPERM, res)
        self.assertEqual(self.snapshot(), before, "a refused operation changed the tree")
        stats = self.srv.stats()
        for route in ("POST /hosts", "DELETE /hosts/{id}", "POST /hosts/{id}/renew"):
            self.assertEqual(stats.get(route, 0), 0, route)

    # -- cache controls --------------------------------------------------------------

    def test_refresh_drops_caches(self):
        self.reset_counts()
        self.run_ok("ls", self.path("hosts"))
        self.assertEqual(self.route_count("GET /hosts"), 0, "the mount's list is fresh")
        self.mnt.refresh()
        self.run_ok("ls", "-l", self.path("hosts"))
        self.assertEqual(self.route_count("GET /hosts"), 1)
        self.run_ok("ls", "-l", self.path("hosts"))
        self.assertEqual(self.route_count("GET /hosts"), 1, "fresh again after one fetch")
        self.assertIn("caches dropped (.drukfs/refresh)", self.mnt.log())
        # Hosts added and removed on the server show at once.
        new = self.srv.seed(1)[0]
        self.srv.remove_host(self.seeded[0])
        self.assertEqual(self.listdir(self.path("hosts")), sorted(self.seeded))
        self.mnt.refresh()
        self.assertEqual(self.listdir(self.path("hosts")), sorted(self.seeded[1:] + [new]))
        self.assertErrno(errno.ENOENT, os.stat, self.host(self.seeded[0], "state"))

    def test_refresh_shows_changed_records_at_once(self):
        """After .drukfs/refresh the very next read shows the server's
        record: no stale content from the page cache.  Read with open +
        read and no stat in between, as `head`, `dd` and `read` do."""
        host_id = self.seeded[1]
        path = self.host(host_id, "state")
        bad = []
        for i in range(24):
            status = ["provisioning", "error", "active", "bootstrapping",
                      "creating_network", "creating_vm"][i % 6]
            raw_read(path)                      # the old content is cached
            self.srv.patch_host(host_id, status=status,
                                updated_at=f"2026-03-01T00:00:{i:02d}+00:00")
            self.mnt.refresh()
            got = raw_read(path)
            if got != status + "\n":
                bad.append((status, got))
        self.assertEqual(bad, [], f"{len(bad)} of 24 reads right after a refresh served "
                                  "stale data (expected, got)")

    def test_refresh_shows_a_host_first_seen_by_id(self):
        """A host created on the server after the list was fetched is read
        by id while it provisions; once it is active, a refresh must show
        it active, whatever reads it."""
        self.srv.config(provision_seconds=1.5)
        box = {}
        creator = threading.Thread(
            target=lambda: box.update(r=self.srv.api("POST", "/hosts", {}, timeout=30)),
            daemon=True)
        creator.start()
        new = wait_until(lambda: [h["id"] for h in self.srv.api("GET", "/hosts")[1]
                                  if h["id"] not in self.seeded], 5, what="the new host")[0]
        path = self.host(new, "state")
        self.assertNotEqual(raw_read(path), "active\n")   # not in the cached list yet
        creator.join(30)
        self.assertEqual(box["r"][0], 201)
        self.assertEqual(self.srv.get_host_raw(new)["status"], "active")
        self.mnt.refresh()
        reads = {"open+read": raw_read(path)}
        res = self.sh(f"head -c 100 hosts/{new}/state; dd if=hosts/{new}/state status=none; "
                      f"IFS= read -r s < hosts/{new}/state; echo \"$s\"")
        reads["head, dd, read"] = res.stdout
        reads["cat"] = self.run_ok("cat", path).stdout
        self.assertEqual(reads, {"open+read": "active\n", "head, dd, read": "active\n" * 3,
                                 "cat": "active\n"})

    def test_sighup_drops_caches(self):
        self.reset_counts()
        self.run_ok("ls", self.path("hosts"))
        self.assertEqual(self.route_count("GET /hosts"), 0)
        self.mnt.signal(signal.SIGHUP)
        wait_until(lambda: "caches dropped (SIGHUP)" in self.mnt.log(), 5,
                   what="the SIGHUP line in .drukfs/log")
        self.run_ok("ls", self.path("hosts"))
        self.assertEqual(self.route_count("GET /hosts"), 1)
        self.assertTrue(self.mnt.alive(), "SIGHUP must not end drukfs")
        self.assertTrue(os.path.ismount(self.path()))
        self.run_ok("ls", self.path("hosts"))
        self.assertEqual(self.route_count("GET /hosts"), 1)

    # -- what a broken or hostile service sends -----------------------------------------

    def test_records_that_are_not_file_names_or_do_not_parse(self):
        a, b, c, d = self.seeded[:4]
        self.srv.patch_host(a, id="../evil")          # not a file name
        self.srv.patch_host(b, id=c)                  # a duplicate id
        self.srv.patch_host(d, status=123)            # a malformed record
        self.mnt.refresh()
        self.assertEqual(self.listdir(self.path("hosts")), sorted([c] + self.seeded[4:]))
        self.assertIn("list: 1 host records were malformed and left out", self.mnt.log())
        self.assertErrno(errno.EPROTO, os.stat, self.host(d))   # by id: GET, malformed
        res = self.run_cmd("cat", self.host(d, "state"))
        self.assertEqual(res.errno, errno.EPROTO, res)
        self.assertErrno(errno.ENOENT, os.stat, self.path("hosts", "..", "hosts", "x"))
        self.assertEqual(self.read(self.host(c, "state")), "active\n")

    def test_doctor_when_the_service_cannot_answer_it(self):
        """doctor stays readable and says why there is no report; doctor.json
        fails with the errno of the failure."""
        self.srv.fault("GET /doctor", "status", status=503, count=-1,
                       body='{"detail": "doctor is overloaded"}')
        text = self.read(self.path("doctor"))
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("drukbox: unknown (no doctor report: "), text)
        self.assertIn("last error: GET /doctor: doctor is overloaded (unavailable)", lines)
        self.assertErrno(errno.EAGAIN, read_text, self.path("doctor.json"))
        self.assertEqual(self.route_count("GET /doctor"), 1, "once per doctor_ttl window")
        # A fetch was made and failed: the report must not claim otherwise.
        self.assertNotIn("not fetched yet", lines[0],
                         "doctor says the report was not fetched, but GET /doctor "
                         "was sent and answered 503")

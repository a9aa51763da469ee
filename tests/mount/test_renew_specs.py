"""Renewing leases and create specs, on real mounts.

* `touch hosts/X` renews X's lease: one POST /hosts/{id}/renew without a
  body; a host that cannot be renewed makes touch fail (EBUSY for 409); a
  file is not a host, so touching one sends nothing.
* Writing an ISO 8601 time to hosts/X/expires_at renews to that time; the
  error comes back from the write(2) that carried it (no OPEN, FLUSH or
  RELEASE reaches drukfs, so close(2) has nothing to act on); a time
  without an offset never leaves the mount.
* specs/NAME holds KEY=VALUE lines merged over the mount's -o defaults by
  `mkdir hosts/NAME`.  The exact body the server got is checked, with -o
  image=a,env_file=F in force; a spec is checked when written, kept in the
  state directory (0600) and forgotten with the host it made.

Bodies are compared as the exact bytes the server recorded
(/_local/requests), so a change in what is sent fails a test.  Every test
uses cache_ttl=30: whatever shows up right after a write shows because
drukfs updated or invalidated it, not because a cache expired.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # run as tests.mount.test_renew_specs from the top
    sys.path.insert(0, HERE)

from harness import (Mount, MountTestCase, mounted, read_file, run,  # noqa: E402
                     write_file)

RENEW = "POST /hosts/{id}/renew"
CREATE = "POST /hosts"

# What the mount's env_file holds: -o defaults the specs are merged over.
ENV_FILE_TEXT = "# defaults\nFOO=from-file\nKEEP=yes\n"


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


def iso_short(moment: datetime) -> str:
    """A timestamp without fractions, shorter than the server's own form."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def write_text(path: str, text: str) -> None:
    """open(..., "w"), one write, close: what most programs do."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_then_close(path: str, data: bytes) -> tuple[int, int]:
    """os.open/os.write/os.close: (write errno, close errno), 0 for success."""
    fd = os.open(path, os.O_WRONLY)
    werr = cerr = 0
    try:
        os.write(fd, data)
    except OSError as exc:
        werr = exc.errno
    try:
        os.close(fd)
    except OSError as exc:
        cerr = exc.errno
    return werr, cerr


class Base(MountTestCase):
    PROVISION_SECONDS = 0.2
    MOUNT_OPTIONS = {"cache_ttl": 30}

    def assertNothingSent(self) -> None:
        self.assertEqual(self.srv.requests(), [], "nothing may reach the service")


class RenewBase(Base):
    SEED = 1

    def prepare(self) -> None:
        # An expiry an hour away, in a form shorter than the server's (no
        # fractions): after a renew both the value and its length change.
        self.hid = self.seeded[0]
        self.old_expiry = iso_short(datetime.now(timezone.utc) + timedelta(hours=1))
        self.srv.patch_host(self.hid, expires_at=self.old_expiry)

    def renews(self) -> list[dict]:
        return self.requests_for(RENEW)

    def server_expiry(self, host_id: str) -> str:
        return self.srv.get_host_raw(host_id)["expires_at"]


class TouchRenewTest(RenewBase):
    def prepare(self) -> None:
        super().prepare()
        self.err_id = self.srv.seed(1, status="error")[0]

    def test_touch_renews_once_without_a_body(self):
        path = self.host(self.hid, "expires_at")
        # Read twice so the kernel may keep the old page and size.
        self.assertEqual(self.read(path), self.old_expiry + "\n")
        self.assertEqual(self.read(path), self.old_expiry + "\n")
        self.reset_counts()
        before = datetime.now(timezone.utc)
        self.run_ok("touch", self.host(self.hid))
        renews = self.renews()
        self.assertEqual(len(renews), 1, renews)
        self.assertEqual(renews[0]["path"], f"/hosts/{self.hid}/renew")
        self.assertEqual(renews[0]["body"], "")
        self.assertNotIn("content-type", renews[0]["headers"])
        self.assertEqual(self.srv.stats(), {RENEW: 1}, "touch sends nothing else")
        new = self.server_expiry(self.hid)
        # The default lease (24 h) from now: later than the old hour.
        self.assertGreater(parse_ts(new), parse_ts(self.old_expiry))
        self.assertGreaterEqual(parse_ts(new), before + timedelta(hours=23, minutes=59))
        # Right after, without waiting for any cache: the new value, whole.
        res = self.run_ok("cat", path)
        self.assertEqual(res.stdout, new + "\n")
        # The kernel's attributes (size) are pushed out too, well before
        # the 30 s they could otherwise be kept.
        self.wait_until(lambda: os.stat(path).st_size == len(new) + 1, 3,
                        what="the new size of expires_at")
        self.assertEqual(self.read(self.host(self.hid, "host.json")).count(new), 1)
        self.assertEqual(json.loads(self.read(self.host(self.hid, "host.json")))["expires_at"],
                         new)
        self.assertIn(f"renewed {self.hid} until {new}", self.mnt.log())
        self.assertEqual(self.mnt.stats().get("requests POST /hosts/{id}/renew"), 1)

    def test_touch_of_a_host_in_error_is_ebusy(self):
        self.reset_counts()
        res = self.run_cmd("touch", self.host(self.err_id))
        self.assertNotEqual(res.returncode, 0, res)
        self.assertEqual(res.errno, errno.EBUSY, res)
        renews = self.renews()
        self.assertEqual(len(renews), 1, renews)
        self.assertEqual(renews[0]["path"], f"/hosts/{self.err_id}/renew")
        self.assertEqual(renews[0]["body"], "")
        self.assertEqual(self.srv.get_host_raw(self.err_id)["status"], "error")
        self.assertIn(f"renew {self.err_id} failed: cannot renew a host in status error",
                      self.mnt.log())

    def test_touch_of_a_file_is_refused_and_sends_nothing(self):
        self.read(self.host(self.hid, "state"))
        self.reset_counts()
        res = self.run_cmd("touch", self.host(self.hid, "state"))
        self.assertNotEqual(res.returncode, 0, res)
        self.assertEqual(res.errno, errno.EACCES, res)
        # expires_at opens for writing, but touching it is no renew either.
        res = self.run_cmd("touch", self.host(self.hid, "expires_at"))
        self.assertNotEqual(res.returncode, 0, res)
        self.assertEqual(self.renews(), [])
        self.assertEqual(self.server_expiry(self.hid), self.old_expiry)
        self.assertEqual(self.read(self.host(self.hid, "expires_at")), self.old_expiry + "\n")


class ExpiresAtWriteTest(RenewBase):
    WANT = "2030-01-01T00:00:00+00:00"
    # How the server writes that moment back.
    SERVED = "2030-01-01T00:00:00.000000+00:00"

    def expires_path(self) -> str:
        return self.host(self.hid, "expires_at")

    def assertRenewedTo(self, sent: str, served: str) -> None:
        renews = self.renews()
        self.assertEqual(len(renews), 1, renews)
        self.assertEqual(renews[0]["path"], f"/hosts/{self.hid}/renew")
        self.assertEqual(renews[0]["body"], json.dumps({"expires_at": sent}))
        self.assertEqual(renews[0]["headers"].get("content-type"), "application/json")
        self.assertEqual(self.server_expiry(self.hid), served)
        self.assertEqual(self.run_ok("cat", self.expires_path()).stdout, served + "\n")

    def test_echo_in_sh_renews_to_the_time(self):
        self.read(self.expires_path())
        self.reset_counts()
        res = self.sh(f"echo {self.WANT} > hosts/{self.hid}/expires_at")
        self.assertEqual(res.returncode, 0, res)
        self.assertRenewedTo(self.WANT, self.SERVED)
        self.assertIn(f"renewed {self.hid} until {self.SERVED}", self.mnt.log())

    def test_os_write_renews_to_the_time(self):
        self.read(self.expires_path())
        self.reset_counts()
        want = "2031-06-15T12:30:00+02:00"
        n, err = self.call(write_file, self.expires_path(), (want + "\n").encode())
        self.assertEqual((n, err), (len(want) + 1, 0))
        self.assertRenewedTo(want, "2031-06-15T10:30:00.000000+00:00")

    def test_printf_without_newline_is_acted_on_by_its_write(self):
        self.reset_counts()
        res = self.sh(f"printf %s {self.WANT} > hosts/{self.hid}/expires_at")
        self.assertEqual(res.returncode, 0, res)
        self.assertRenewedTo(self.WANT, self.SERVED)

    def test_a_past_time_is_einval_from_write_with_the_reason_in_the_log(self):
        self.reset_counts()
        past = "2001-01-01T00:00:00+00:00"
        _, err = self.call(write_file, self.expires_path(), (past + "\n").encode())
        self.assertEqual(errno.errorcode.get(err, err), "EINVAL")
        renews = self.renews()
        self.assertEqual([r["body"] for r in renews], [json.dumps({"expires_at": past})])
        self.assertEqual(self.server_expiry(self.hid), self.old_expiry)
        self.assertEqual(self.read(self.expires_path()), self.old_expiry + "\n")
        log = self.mnt.log()
        self.assertIn(f"renew {self.hid} failed: ", log)
        self.assertIn("timestamp must be in the future", log)
        # The same from a shell: echo's write fails.
        res = self.run_cmd("bash", "-c", 'echo "$1" > "$2"', "bash", past, self.expires_path())
        self.assertNotEqual(res.returncode, 0, res)
        self.assertEqual(res.errno, errno.EINVAL, res)
        self.assertEqual(len(self.renews()), 2)

    def test_a_past_time_without_newline_fails_at_write(self):
        self.reset_counts()
        past = "2001-01-01T00:00:00+00:00"
        (werr, cerr), err = self.call(write_then_close, self.expires_path(), past.encode())
        self.assertEqual(err, 0)
        self.assertEqual((errno.errorcode.get(werr, werr), cerr), ("EINVAL", 0))
        self.assertEqual([r["body"] for r in self.renews()],
                         [json.dumps({"expires_at": past})])

    def test_a_time_without_offset_is_einval_and_sends_nothing(self):
        self.read(self.expires_path())
        self.reset_counts()
        for text in ("2030-01-01T00:00:00\n", "tomorrow\n", "2030-01-01\n"):
            _, err = self.call(write_file, self.expires_path(), text.encode())
            self.assertEqual(errno.errorcode.get(err, err), "EINVAL", text)
        res = self.run_cmd("bash", "-c", 'echo "$1" > "$2"', "bash",
                           "2030-01-01T00:00:00", self.expires_path())
        self.assertEqual(res.errno, errno.EINVAL, res)
        self.assertNothingSent()
        self.assertIn(f"renew {self.hid}: not an ISO 8601 time with an offset",
                      self.mnt.log())
        self.assertEqual(self.read(self.expires_path()), self.old_expiry + "\n")

    def test_only_expires_at_is_writable(self):
        d = self.host(self.hid)
        names = self.listdir(d)
        self.assertIn("expires_at", names)
        self.assertNotIn("private_key", names)  # seeded: no key
        self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o555)
        modes = {n: oct(stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode)) for n in names}
        want = {n: oct(0o644 if n == "expires_at" else 0o444) for n in names}
        self.assertEqual(modes, want)
        self.reset_counts()
        for n in names:
            if n in ("expires_at", "wait"):
                continue
            p = os.path.join(d, n)
            before = self.read(p)
            # Root may open it (opens never reach drukfs); the write fails.
            (werr, cerr), err = self.call(write_then_close, p, b"x\n")
            self.assertEqual((err, errno.errorcode.get(werr, werr), cerr), (0, "EACCES", 0))
            self.assertErrno(errno.EACCES, os.open, p, os.O_WRONLY | os.O_TRUNC)
            self.assertErrno(errno.EACCES, os.truncate, p, 0)
            self.assertEqual(self.read(p), before, n)
        res = self.sh(f"echo {self.WANT} > hosts/{self.hid}/state")
        self.assertNotEqual(res.returncode, 0, res)
        self.assertNothingSent()


class SpecTest(Base):

    def prepare(self) -> None:
        work = tempfile.mkdtemp(prefix="drukfs-rs-env-")
        self.addCleanup(shutil.rmtree, work, True)
        self.env_file = os.path.join(work, "host.env")
        with open(self.env_file, "w", encoding="utf-8") as f:
            f.write(ENV_FILE_TEXT)
        self.MOUNT_OPTIONS = {"cache_ttl": 30, "image": "a", "env_file": self.env_file}

    # -- helpers --
    def spec(self, name: str, mnt: Mount | None = None) -> str:
        return (mnt or self.mnt).path("specs", name)

    def kept(self, name: str, mnt: Mount | None = None) -> str:
        return os.path.join((mnt or self.mnt).state_dir, "specs", name)

    def kept_names(self, mnt: Mount | None = None) -> list[str]:
        try:
            return sorted(os.listdir(os.path.join((mnt or self.mnt).state_dir, "specs")))
        except FileNotFoundError:
            return []

    def write_spec(self, name: str, text: str, mnt: Mount | None = None) -> int:
        _, err = self.call(write_text, self.spec(name, mnt), text)
        return err

    def creates_for(self, name: str) -> list[str]:
        return [r["body"] for r in self.requests_for(CREATE)
                if r["headers"].get("idempotency-key") == name]

    # -- tests --
    def test_spec_is_merged_over_the_defaults_kept_listed_and_forgotten(self):
        text = ("# web server\nimage=debian-12\nprovider=docker\ninstance_type=small\n"
                "disk_gb=20\nlease=permanent\nenv.FOO=bar\n")
        self.assertEqual(self.write_spec("web", text), 0)
        # Listed 0644 with its size, read back as written.
        res = self.run_ok("ls", "-l", self.path("specs"))
        lines = res.stdout.splitlines()
        self.assertEqual(len(lines), 2, res.stdout)   # "total 0" and web
        fields = lines[1].split()
        self.assertEqual((fields[0], fields[4], fields[-1]),
                         ("-rw-r--r--", str(len(text)), "web"))
        self.assertEqual(self.listdir(self.path("specs")), ["web"])
        self.assertEqual(os.stat(self.spec("web")).st_size, len(text))
        self.assertEqual(self.read(self.spec("web")), text)
        # Kept in the state directory, 0600.
        self.assertEqual(self.kept_names(), ["web"])
        self.assertEqual(read_file(self.kept("web")).decode(), text)
        self.assertEqual(oct(stat.S_IMODE(os.stat(self.kept("web")).st_mode)), oct(0o600))
        self.assertIn("specs/web written", self.mnt.log())

        self.reset_counts()
        self.mkdir_host("web")
        self.wait_active("web")
        want = ('{"image": "debian-12", "provider": "docker", "instance_type": "small", '
                '"disk_gb": 20, "env": {"KEEP": "yes", "FOO": "bar"}, "expires_at": null}')
        self.assertEqual(self.creates_for("web"), [want])
        self.assertEqual(read_file(os.path.join(self.mnt.state_dir, "names", "web",
                                                "request.json")).decode(), want)
        self.assertEqual(self.read(self.host("web", "image")), "debian-12\n")
        self.assertEqual(self.read(self.host("web", "instance_type")), "small\n")
        self.assertEqual(self.read(self.host("web", "disk_gb")), "20\n")
        self.assertEqual(self.read(self.host("web", "expires_at")), "")

        # A NAME without a spec gets the defaults alone.
        self.mkdir_host("plain")
        self.assertEqual(self.creates_for("plain"),
                         ['{"image": "a", "env": {"FOO": "from-file", "KEEP": "yes"}}'])

        # rmdir forgets the spec with the host.
        self.run_ok("rmdir", self.host("web"))
        self.wait_until(lambda: self.route_count("DELETE /hosts/{id}") == 1, 10)
        self.wait_until(lambda: self.kept_names() == [], 10, what="the kept spec removed")
        self.assertEqual(self.listdir(self.path("specs")), [])
        self.assertErrno(errno.ENOENT, os.stat, self.spec("web"))

    def assertNotKept(self, names: list[str]) -> None:
        """None of `names` is listed, found, readable or in the state dir."""
        self.assertEqual(self.listdir(self.path("specs")), [])
        for name in names:
            self.assertErrno(errno.ENOENT, os.stat, self.spec(name))
            self.assertErrno(errno.ENOENT, open, self.spec(name))
        self.assertEqual(self.kept_names(), [])

    def test_a_malformed_spec_from_one_write_is_refused_and_not_kept(self):
        # A fresh state directory: nothing kept yet.
        self.assertEqual(self.kept_names(), [])
        self.reset_counts()
        # One buffered write at close: the error comes from close(2),
        # which is when Python writes.
        self.assertEqual(errno.errorcode.get(self.write_spec("bad1", "lease=0\n")), "EINVAL")
        self.assertEqual(errno.errorcode.get(self.write_spec("bad2", "image=x\nnonsense\n")),
                         "EINVAL")
        # Several writes: the one completing the bad line fails, and takes
        # back what the writes before it stored; close has nothing to say.
        (werr, cerr), err = self.call(self._write_lines, self.spec("bad3"),
                                      [b"image=x\n", b"env.A-B=1\n", b"disk_gb=5\n"])
        self.assertEqual((err, errno.errorcode.get(werr), cerr), (0, "EINVAL", 0))
        self.assertNotKept(["bad1", "bad2", "bad3"])
        self.assertNothingSent()
        log = self.mnt.log()
        self.assertIn("specs/bad1 line 1: lease must be SECONDS or permanent", log)
        self.assertIn("specs/bad2 line 2: expected KEY=VALUE", log)
        self.assertIn("specs/bad3 line 2: env names are", log)
        self.assertNotIn("specs/bad1 written", log)
        self.assertNotIn("specs/bad2 written", log)
        self.assertIn("specs/bad3: nothing is kept", log)
        # Nothing kept: mkdir of that NAME sends the defaults.
        self.mkdir_host("bad1")
        self.assertEqual(self.creates_for("bad1"),
                         ['{"image": "a", "env": {"FOO": "from-file", "KEEP": "yes"}}'])

    @staticmethod
    def _write_lines(path: str, chunks: list[bytes]) -> tuple[int, int]:
        """Creates path, writes chunks one by one until one fails, closes:
        (errno of the failed write, errno of close), 0 for success."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        werr = cerr = 0
        try:
            for c in chunks:
                os.write(fd, c)
        except OSError as exc:
            werr = exc.errno
        try:
            os.close(fd)
        except OSError as exc:
            cerr = exc.errno
        return werr, cerr

    def test_a_malformed_spec_from_echo_is_refused_and_not_kept(self):
        # A shell opens, dup2()s the file onto stdout and closes the first
        # descriptor before echo writes: that close is a FUSE flush too.
        self.assertEqual(self.kept_names(), [])
        self.reset_counts()
        res = self.run_cmd("bash", "-c", 'echo "$1" > "$2"', "bash",
                           "image=debian-12\nimage=", self.spec("bad"))
        self.assertNotEqual(res.returncode, 0, res)
        self.assertEqual(res.errno, errno.EINVAL, res)
        res = self.sh("echo 'env.1X=y' > specs/bad2")
        self.assertNotEqual(res.returncode, 0, res)
        self.assertIn("specs/bad line 2: empty value", self.mnt.log())
        self.assertNotKept(["bad", "bad2"])
        self.assertNothingSent()

    def test_a_malformed_rewrite_from_echo_keeps_the_old_spec(self):
        good = "image=good\n"
        self.assertEqual(self.write_spec("x", good), 0)
        res = self.run_cmd("bash", "-c", 'echo "$1" > "$2"', "bash", "image=", self.spec("x"))
        self.assertEqual(res.errno, errno.EINVAL, res)
        self.assertEqual(read_file(self.kept("x")).decode(), good)
        self.assertEqual(self.read(self.spec("x")), good)

    def test_a_spec_written_from_the_shell_is_kept_whole(self):
        res = self.sh("printf 'image=sh\\nenv.A=1\\n' > specs/shx")
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(self.read(self.spec("shx")), "image=sh\nenv.A=1\n")
        self.assertEqual(read_file(self.kept("shx")).decode(), "image=sh\nenv.A=1\n")
        self.reset_counts()
        self.mkdir_host("shx")
        self.assertEqual(self.creates_for("shx"),
                         ['{"image": "sh", "env": {"FOO": "from-file", "KEEP": "yes", '
                          '"A": "1"}}'])

    def test_a_lease_in_seconds_becomes_a_time_from_now(self):
        self.assertEqual(self.write_spec("leased", "lease=3600\n"), 0)
        self.reset_counts()
        before = datetime.now(timezone.utc).replace(microsecond=0)
        self.mkdir_host("leased")
        after = datetime.now(timezone.utc)
        bodies = self.creates_for("leased")
        self.assertEqual(len(bodies), 1, bodies)
        body = json.loads(bodies[0])
        self.assertEqual(sorted(body), ["env", "expires_at", "image"])
        when = body["expires_at"]
        self.assertRegex(when, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
        self.assertGreaterEqual(parse_ts(when), before + timedelta(seconds=3600))
        self.assertLessEqual(parse_ts(when), after + timedelta(seconds=3600))
        self.assertEqual(bodies[0], '{"image": "a", "env": {"FOO": "from-file", '
                                    f'"KEEP": "yes"}}, "expires_at": "{when}"}}')

    def test_a_spec_the_service_rejects_fails_mkdir_with_its_reason(self):
        self.assertEqual(self.write_spec("rej", "provider=nosuch\n"), 0)
        self.reset_counts()
        res = self.run_cmd("mkdir", self.host("rej"))
        self.assertNotEqual(res.returncode, 0, res)
        self.assertEqual(res.errno, errno.EINVAL, res)
        self.assertEqual(self.creates_for("rej"),
                         ['{"image": "a", "provider": "nosuch", '
                          '"env": {"FOO": "from-file", "KEEP": "yes"}}'])
        self.assertIn("unknown provider 'nosuch'; available providers: docker, exe",
                      self.mnt.log())
        self.assertEqual(self.server_hosts(), [])
        self.assertEqual(self.listdir(self.path("hosts")), [])
        self.assertEqual(self.mnt.state_names(), [])
        # The spec stays, to be fixed and used again.
        self.assertEqual(self.kept_names(), ["rej"])
        self.assertEqual(self.write_spec("rej", "provider=docker\n"), 0)
        self.mkdir_host("rej")
        self.assertEqual(self.creates_for("rej")[-1],
                         '{"image": "a", "provider": "docker", '
                         '"env": {"FOO": "from-file", "KEEP": "yes"}}')

    def test_a_blank_image_passes_locally_and_the_service_refuses_it(self):
        # "image= " is not empty, so the spec is kept; the service finds the
        # image blank (422) and mkdir is EINVAL.
        self.assertEqual(self.write_spec("blank", "image= \n"), 0)
        self.reset_counts()
        res = self.run_cmd("mkdir", self.host("blank"))
        self.assertEqual(res.errno, errno.EINVAL, res)
        self.assertEqual(self.creates_for("blank"),
                         ['{"image": " ", "env": {"FOO": "from-file", "KEEP": "yes"}}'])
        self.assertIn("must not be blank", self.mnt.log())

    def test_rm_removes_a_spec(self):
        self.assertEqual(self.write_spec("gone", "image=x\n"), 0)
        self.assertEqual(self.kept_names(), ["gone"])
        self.reset_counts()
        self.run_ok("rm", self.spec("gone"))
        self.assertEqual(self.listdir(self.path("specs")), [])
        self.assertEqual(self.kept_names(), [])
        self.assertErrno(errno.ENOENT, os.stat, self.spec("gone"))
        self.assertErrno(errno.ENOENT, os.unlink, self.spec("gone"))
        self.assertNothingSent()
        self.assertIn("specs/gone removed", self.mnt.log())
        self.mkdir_host("gone")
        self.assertEqual(self.creates_for("gone"),
                         ['{"image": "a", "env": {"FOO": "from-file", "KEEP": "yes"}}'])

    def test_concurrent_mkdirs_each_get_their_own_spec(self):
        names = [f"c{i}" for i in range(5)]
        errs: dict = {}

        def put(name: str) -> None:
            errs[name] = self.write_spec(name, f"image=img-{name}\nenv.WHO={name}\n")

        threads = [threading.Thread(target=put, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errs, {n: 0 for n in names})
        self.reset_counts()
        procs = [subprocess.Popen(["mkdir", self.host(n)], stderr=subprocess.PIPE)
                 for n in names]
        try:
            for p in procs:
                _, err = p.communicate(timeout=30)
                self.assertEqual(p.returncode, 0, err)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for n in names:
            self.assertEqual(
                self.creates_for(n),
                [f'{{"image": "img-{n}", "env": {{"FOO": "from-file", "KEEP": "yes", '
                 f'"WHO": "{n}"}}}}'], n)
        self.assertEqual(len(self.requests_for(CREATE)), 5)
        for n in names:
            self.wait_active(n)
            self.assertEqual(self.read(self.host(n, "image")), f"img-{n}\n")


class PendingSpecTest(Base):
    MOUNT_OPTIONS = {"cache_ttl": 30, "image": "a"}

    def test_a_resumed_create_sends_the_stored_body_not_the_changed_spec(self):
        first = self.mnt
        _, err = self.call(write_text, first.path("specs", "late"),
                           "image=first\nenv.X=1\nlease=permanent\n")
        self.assertEqual(err, 0)
        self.srv.config(provision_seconds=3.0)
        self.reset_counts()
        self.mkdir_host("late")                      # returns after its 1 s window
        want = '{"image": "first", "env": {"X": "1"}, "expires_at": null}'
        request_json = os.path.join(first.state_dir, "names", "late", "request.json")
        self.assertEqual(read_file(request_json).decode(), want)
        self.assertFalse(os.path.exists(os.path.join(first.state_dir, "names", "late", "id")),
                         "the create must still be pending")
        # No renew while the create is pending: touch is EBUSY, nothing sent.
        res = self.run_cmd("touch", first.host("late"))
        self.assertEqual(res.errno, errno.EBUSY, res)
        self.assertEqual(self.requests_for(RENEW), [])
        # The spec changes while the create is pending.
        _, err = self.call(write_text, first.path("specs", "late"), "image=second\n")
        self.assertEqual(err, 0)
        self.assertEqual(read_file(os.path.join(first.state_dir, "specs", "late")).decode(),
                         "image=second\n")
        first.kill9()
        run(["fusermount3", "-uz", first.mountpoint], timeout=10)
        self.assertFalse(mounted(first.mountpoint))

        second = self.mount(state_dir=first.state_dir)
        self.assertEqual(self.read(second.host("late", "wait"), timeout=20), "active\n")
        bodies = [r["body"] for r in self.requests_for(CREATE)
                  if r["headers"].get("idempotency-key") == "late"]
        self.assertEqual(bodies, [want, want])
        self.assertEqual(self.read(second.host("late", "image")), "first\n")
        self.assertEqual(len(self.server_hosts()), 1)
        self.assertEqual(self.read(second.path("specs", "late")), "image=second\n")
        self.assertIn("resuming the create of late", second.log())
        # Renewing by the local name goes to the host's id.
        self.run_ok("touch", second.host("late"))
        self.assertEqual([r["path"] for r in self.requests_for(RENEW)],
                         [f"/hosts/{self.host_id_of('late', second)}/renew"])


if __name__ == "__main__":
    import unittest
    unittest.main()

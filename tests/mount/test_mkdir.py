"""mkdir and rmdir under hosts/: what is sent, how long they take, every
errno, and what is left behind (listing, state directory, private key)."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

from harness import MountTestCase, read_file, wait_until


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class MkdirTest(MountTestCase):
    PROVISION_SECONDS = 0.5
    # A wide cache window: whatever shows up after mkdir/rmdir shows because
    # drukfs invalidated, not because a cache expired.
    MOUNT_OPTIONS = {"cache_ttl": 30, "mkdir_wait": 1}

    def posts(self) -> list[dict]:
        return self.requests_for("POST /hosts")

    def host_names(self) -> list[str]:
        return self.listdir(self.path("hosts"))

    # -- what is sent ----------------------------------------------------------

    def test_mkdir_sends_the_name_as_key_and_an_empty_body(self):
        self.reset_counts()
        self.mkdir_host("alpha")
        self.wait_active("alpha")
        posts = self.posts()
        self.assertEqual(len(posts), 1, posts)
        self.assertEqual(posts[0]["headers"].get("idempotency-key"), "alpha")
        self.assertEqual(json.loads(posts[0]["body"]), {})
        self.assertEqual(posts[0]["headers"].get("content-type"), "application/json")
        hosts = self.server_hosts()
        self.assertEqual(len(hosts), 1)
        self.assertEqual(self.host_id_of("alpha"), hosts[0]["id"])
        self.assertEqual(self.mnt.state_names(), ["alpha"])
        sd = os.path.join(self.mnt.state_dir, "names", "alpha")
        self.assertEqual(json.loads(read_file(os.path.join(sd, "request.json"))), {})
        self.assertEqual(read_file(os.path.join(sd, "id")).decode().strip(), hosts[0]["id"])

    def test_mkdir_sends_the_create_defaults(self):
        env_file = os.path.join(self.mnt.work, "host.env")
        with open(env_file, "w") as f:
            f.write("# the host's environment\nA=1\n\nB=two words\nC=x=y\n")
        mnt = self.mount({"image": "img-7", "lease": "permanent", "provider": "docker",
                          "instance_type": "small", "disk_gb": 20, "env_file": env_file})
        self.reset_counts()
        self.mkdir_host("beta", mnt)
        self.wait_active("beta", mnt)
        posts = self.posts()
        self.assertEqual(len(posts), 1, posts)
        self.assertEqual(posts[0]["headers"].get("idempotency-key"), "beta")
        self.assertEqual(json.loads(posts[0]["body"]), {
            "image": "img-7", "provider": "docker", "instance_type": "small",
            "disk_gb": 20, "env": {"A": "1", "B": "two words", "C": "x=y"},
            "expires_at": None})
        self.assertIn('"expires_at":null', posts[0]["body"].replace(" ", ""))
        self.assertEqual(self.read(mnt.host("beta", "image")), "img-7\n")
        self.assertEqual(self.read(mnt.host("beta", "instance_type")), "small\n")
        self.assertEqual(self.read(mnt.host("beta", "disk_gb")), "20\n")
        self.assertEqual(self.read(mnt.host("beta", "expires_at")), "")  # permanent

    def test_mkdir_with_a_lease_in_seconds(self):
        mnt = self.mount({"lease": 3600})
        self.reset_counts()
        before = datetime.now(timezone.utc).timestamp()
        self.mkdir_host("gamma", mnt)
        after = datetime.now(timezone.utc).timestamp()
        self.wait_active("gamma", mnt)
        body = json.loads(self.posts()[0]["body"])
        self.assertEqual(list(body), ["expires_at"])
        when = parse_ts(body["expires_at"])
        self.assertIsNotNone(when.tzinfo, "expires_at needs an offset")
        # whole seconds: allow the truncation and the mkdir's own duration
        self.assertGreaterEqual(when.timestamp(), before + 3600 - 1)
        self.assertLessEqual(when.timestamp(), after + 3600 + 1)
        shown = self.read(mnt.host("gamma", "expires_at")).strip()
        self.assertEqual(parse_ts(shown), when)

    # -- timing ----------------------------------------------------------------

    def test_mkdir_returns_within_its_window_while_provisioning_is_slow(self):
        provision = 4.0
        self.srv.config(provision_seconds=provision)
        start = time.monotonic()
        mkdir = subprocess.Popen(["mkdir", self.host("slow")], stderr=subprocess.PIPE)
        try:
            time.sleep(0.2)
            # ls during the mkdir call may wait for its window (the kernel
            # holds hosts/ while mkdir runs), never for the provisioning.
            res = self.run_ok("ls", self.path("hosts"), timeout=provision + 5)
            self.assertLess(time.monotonic() - start, 1.0 + 1.5, res)
            _, err = mkdir.communicate(timeout=provision + 5)
        finally:
            if mkdir.poll() is None:
                mkdir.kill()
                mkdir.wait()
        mkdir_time = time.monotonic() - start
        self.assertEqual(mkdir.returncode, 0, err)
        # The window is mkdir_wait=1 s; 1.5 s of slack for a loaded machine,
        # still far below the 4 s provisioning.
        self.assertLess(mkdir_time, 2.5)
        self.assertIn("slow", self.host_names())
        self.assertEqual(self.read(self.host("slow", "state")), "provisioning\n")
        # While it provisions, ls answers at once, every time.
        while self.read(self.host("slow", "state")) == "provisioning\n" and \
                time.monotonic() - start < provision - 1:
            t = time.monotonic()
            res = self.run_ok("ls", "-l", self.path("hosts"), timeout=10)
            self.assertLess(time.monotonic() - t, 1.0, "ls blocked during provisioning")
            self.assertIn(" slow\n", res.stdout)
            time.sleep(0.2)
        self.assertEqual(self.read(self.host("slow", "wait"), timeout=provision + 10), "active\n")
        self.assertEqual(self.read(self.host("slow", "state")), "active\n")
        self.assertGreater(time.monotonic() - start, provision - 0.5)

    def test_ten_parallel_mkdirs_take_about_one_provisioning_time(self):
        # 4 s: long enough that the mkdir windows (which the kernel runs one
        # after another) are small next to it, so the bound has margin.
        provision = 4.0
        self.srv.config(provision_seconds=provision)
        self.reset_counts()
        names = [f"par-{i}" for i in range(10)]
        start = time.monotonic()
        procs = [subprocess.Popen(["sh", "-c", 'mkdir "$1" && cat "$1/wait"', "sh",
                                   self.host(n)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for n in names]
        try:
            results = [p.communicate(timeout=60) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        elapsed = time.monotonic() - start
        for p, (out, err) in zip(procs, results):
            self.assertEqual((p.returncode, out), (0, b"active\n"), err)
        self.assertEqual(sorted(r["headers"]["idempotency-key"] for r in self.posts()),
                         sorted(names))
        self.assertEqual(len(self.server_hosts()), 10)
        # Serialised creates would take 10 x 4 s, and 1 s mkdir windows in a
        # row 13 s; about 7 s is expected, 2.5 x covers a loaded machine.
        self.assertLess(elapsed, 2.5 * provision,
                        f"10 parallel mkdir+wait took {elapsed:.1f}s")

    def test_ls_answers_while_several_mkdirs_are_in_flight(self):
        provision = 4.0
        self.srv.config(provision_seconds=provision)
        names = [f"busy-{i}" for i in range(5)]
        procs = [subprocess.Popen(["mkdir", self.host(n)], stderr=subprocess.PIPE)
                 for n in names]
        try:
            time.sleep(0.3)
            t = time.monotonic()
            self.run_ok("ls", self.path("hosts"), timeout=30)
            took = time.monotonic() - t
            for p in procs:
                p.communicate(timeout=30)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        self.assertEqual([p.returncode for p in procs], [0] * 5)
        # The kernel runs the five mkdirs one after another and ls after
        # them: about 1.2 s with short windows; 2.5 s leaves room for a
        # loaded machine and still fails five 1 s windows (about 4.7 s).
        self.assertLess(took, 2.5, f"ls took {took:.1f}s while 5 mkdirs were in flight")

    # -- existing names -----------------------------------------------------------

    def test_mkdir_of_an_existing_or_pending_name_is_eexist(self):
        seeded = self.srv.seed(1)[0]
        self.mnt.refresh()
        self.srv.config(provision_seconds=2.5)
        self.reset_counts()
        self.mkdir_host("dup")
        self.assertEqual(self.read(self.host("dup", "state")), "provisioning\n")
        self.assertErrno(errno.EEXIST, os.mkdir, self.host("dup"))     # pending
        res = self.run_cmd("mkdir", self.host("dup"))
        self.assertEqual(res.errno, errno.EEXIST, res)
        self.wait_active("dup")
        self.assertErrno(errno.EEXIST, os.mkdir, self.host("dup"))     # active
        self.assertErrno(errno.EEXIST, os.mkdir, self.host(seeded))    # a listed id
        self.assertEqual(len(self.posts()), 1)
        self.assertEqual(len(self.server_hosts()), 2)
        self.assertEqual(self.mnt.state_names(), ["dup"])

    def test_racing_mkdirs_of_one_name_create_one_host(self):
        self.reset_counts()
        procs = [subprocess.Popen(["mkdir", self.host("race")], stderr=subprocess.PIPE)
                 for _ in range(4)]
        outs = [p.communicate(timeout=30)[1].decode() for p in procs]
        codes = sorted(p.returncode for p in procs)
        self.assertEqual(codes, [0, 1, 1, 1], outs)
        self.assertEqual(sum("File exists" in o for o in outs), 3, outs)
        self.wait_active("race")
        self.assertEqual(len(self.posts()), 1)
        self.assertEqual(len(self.server_hosts()), 1)

    # -- invalid names ----------------------------------------------------------------

    def test_invalid_names_are_einval_and_send_nothing(self):
        self.reset_counts()
        before = self.host_names()
        for name in ["a b", "é", "x" * 256, "tab\there", "semi;colon", "star*",
                     "new\nline", "quote'", "-" * 256]:
            with self.subTest(name=name[:20]):
                self.assertErrno(errno.EINVAL, os.mkdir, self.host(name))
        res = self.run_cmd("mkdir", self.host("a b"))
        self.assertEqual(res.errno, errno.EINVAL, res)
        self.assertEqual(self.srv.total_requests(), 0, self.srv.stats())
        self.assertEqual(self.mnt.state_names(), [])
        self.assertEqual(self.host_names(), before)

    def test_valid_names_with_every_allowed_character(self):
        names = ["n" * 254 + "9", "Run.42:x-y_Z", "-", ".hidden", "a..b"]
        self.reset_counts()
        for name in names:
            self.mkdir_host(name)
        for name in names:
            self.wait_active(name)
        self.assertEqual([r["headers"]["idempotency-key"] for r in self.posts()], names)
        self.assertEqual(self.host_names(), sorted(names))
        self.assertEqual(self.mnt.state_names(), sorted(names))

    # -- fast failures ---------------------------------------------------------------------

    FAST_FAILURES = [
        (422, {"detail": [{"loc": ["body", "image"], "msg": "image must not be blank",
                           "type": "value_error"}]}, errno.EINVAL, "image must not be blank"),
        (400, {"detail": "unknown provider 'nope'; available: docker, exe"}, errno.EINVAL,
         "unknown provider 'nope'"),
        (401, {"detail": "service token required"}, errno.EACCES, "service token required"),
        (403, {"detail": "service token rejected"}, errno.EACCES, "service token rejected"),
        (503, {"detail": "database is down"}, errno.EAGAIN, "database is down"),
        (502, {"detail": "no capacity in region", "error_code": "PROVISIONING_FAILED"},
         errno.EIO, "no capacity in region"),
    ]

    def test_fast_failures_become_mkdirs_errno_and_leave_nothing(self):
        for i, (status, body, expected, detail) in enumerate(self.FAST_FAILURES):
            name = f"fast-{status}"
            with self.subTest(status=status):
                self.reset_counts()
                self.srv.fault("POST /hosts", "status", status=status, body=json.dumps(body))
                start = time.monotonic()
                _, err = self.call(os.mkdir, self.host(name))
                self.assertLess(time.monotonic() - start, 1.0,
                                "a fast failure must not wait out the window")
                self.assertEqual(errno.errorcode.get(err, "success"),
                                 errno.errorcode[expected])
                self.assertEqual(len(self.posts()), 1, "one attempt, no retry")
                self.assertNotIn(name, self.host_names())
                self.assertErrno(errno.ENOENT, os.stat, self.host(name))
                self.assertEqual(self.mnt.state_names(), [])
                self.assertIn(detail, self.mnt.log())
        self.assertEqual(self.server_hosts(), [])

    def test_provisioning_failure_after_the_window(self):
        message = "disk quota exceeded on node 7"
        self.srv.config(provision_seconds=2.0, fail_next=1, fail_message=message)
        self.mkdir_host("doomed")          # the failure comes after mkdir_wait
        self.assertIn("doomed", self.host_names())
        _, err = self.call(lambda: read_file(self.host("doomed", "wait")), timeout=15)
        self.assertEqual(errno.errorcode.get(err, "success"), "EIO")
        res = self.run_cmd("cat", self.host("doomed", "wait"))
        self.assertEqual(res.errno, errno.EIO, res)
        self.assertEqual(self.read(self.host("doomed", "state")), "error\n")
        self.assertEqual(self.read(self.host("doomed", "last_error")), message + "\n")
        self.assertIn("doomed", self.host_names())
        log = self.mnt.log()
        self.assertIn(message, log)
        self.assertRegex(log, r"create doomed failed: .*" + message)
        # rmdir forgets the failed name.
        self.run_ok("rmdir", self.host("doomed"))
        self.assertNotIn("doomed", self.host_names())
        self.assertEqual(self.mnt.state_names(), [])

    # -- rmdir ----------------------------------------------------------------------------------

    def test_rmdir_deletes_fast_and_forgets_everything(self):
        self.mkdir_host("gone")
        self.wait_active("gone")
        host_id = self.host_id_of("gone")
        key_file = os.path.join(self.mnt.state_dir, "names", "gone", "private_key")
        self.assertTrue(os.path.exists(key_file))
        self.assertIn("gone", self.host_names())
        self.reset_counts()
        start = time.monotonic()
        self.run_ok("rmdir", self.host("gone"))
        # A 204 comes back at once; the window (1 s) must not be waited out.
        self.assertLess(time.monotonic() - start, 0.9)
        deletes = self.requests_for("DELETE /hosts/{id}")
        self.assertEqual([r["path"] for r in deletes], [f"/hosts/{host_id}"])
        self.assertNotIn("gone", self.host_names())
        self.assertNotIn(host_id, self.host_names())
        self.assertErrno(errno.ENOENT, os.stat, self.host("gone"))
        self.assertErrno(errno.ENOENT, os.stat, self.host(host_id))
        self.assertEqual(self.server_hosts(), [])
        self.assertEqual(self.mnt.state_names(), [])
        self.assertFalse(os.path.exists(key_file))

    def test_rmdir_of_a_seeded_host_by_id(self):
        ids = self.srv.seed(2)
        self.mnt.refresh()
        self.assertEqual(self.host_names(), sorted(ids))
        self.run_ok("rmdir", self.host(ids[0]))
        self.assertEqual(self.host_names(), [ids[1]])
        self.assertEqual([h["id"] for h in self.server_hosts()], [ids[1]])

    def test_rmdir_of_a_pending_name_is_ebusy(self):
        self.srv.config(provision_seconds=3.0)
        self.mkdir_host("pending")
        self.reset_counts()
        self.assertErrno(errno.EBUSY, os.rmdir, self.host("pending"))
        res = self.run_cmd("rmdir", self.host("pending"))
        self.assertEqual(res.errno, errno.EBUSY, res)
        self.assertIn("pending", self.host_names())
        self.assertEqual(self.route_count("DELETE /hosts/{id}"), 0)
        self.wait_active("pending")
        self.run_ok("rmdir", self.host("pending"))
        self.assertNotIn("pending", self.host_names())

    def test_rmdir_of_a_provisioning_id_handle_is_ebusy(self):
        self.srv.config(provision_seconds=3.0)
        done = {}
        creator = threading.Thread(
            target=lambda: done.update(result=self.srv.api("POST", "/hosts", {}, timeout=30)),
            daemon=True)
        creator.start()
        hosts = wait_until(lambda: self.server_hosts(), 5, what="the host on the server")
        host_id = hosts[0]["id"]
        self.mnt.refresh()
        self.assertIn(host_id, self.host_names())
        self.assertNotEqual(self.read(self.host(host_id, "state")), "active\n")
        self.assertErrno(errno.EBUSY, os.rmdir, self.host(host_id))
        self.assertIn(host_id, self.host_names())
        self.assertEqual([h["id"] for h in self.server_hosts()], [host_id])
        creator.join(30)
        self.assertEqual(done["result"][0], 201)
        self.run_ok("rmdir", self.host(host_id))
        self.assertEqual(self.server_hosts(), [])

    def test_rmdir_of_an_unknown_name_is_enoent(self):
        self.reset_counts()
        self.assertErrno(errno.ENOENT, os.rmdir, self.host("never-made"))
        self.assertErrno(errno.ENOENT, os.rmdir, self.host(str(uuid.uuid4())))
        res = self.run_cmd("rmdir", self.host("never-made"))
        self.assertEqual(res.errno, errno.ENOENT, res)
        self.assertEqual(self.route_count("DELETE /hosts/{id}"), 0)

    def test_rmdir_with_a_teardown_failure_is_eagain_and_keeps_the_host(self):
        self.mkdir_host("sticky")
        self.wait_active("sticky")
        host_id = self.host_id_of("sticky")
        self.srv.config(teardown_fail_next=1, teardown_message="volume busy")
        self.assertErrno(errno.EAGAIN, os.rmdir, self.host("sticky"))
        self.assertIn("sticky", self.host_names())
        self.assertEqual(self.read(self.host("sticky", "state")), "active\n")
        self.assertEqual(self.read(self.host("sticky", "id")), host_id + "\n")
        self.assertTrue(self.read(self.host("sticky", "private_key")))
        self.assertEqual(self.mnt.state_names(), ["sticky"])
        self.assertEqual([h["id"] for h in self.server_hosts()], [host_id])
        self.assertIn("volume busy", self.mnt.log())
        # A 503 fault on a host listed by id: the same.
        seeded = self.srv.seed(1)[0]
        self.mnt.refresh()
        self.srv.fault("DELETE /hosts/{id}", "status", status=503,
                       body='{"detail": "teardown failed", "error_code": "HOST_TEARDOWN"}')
        res = self.run_cmd("rmdir", self.host(seeded))
        self.assertEqual(res.errno, errno.EAGAIN, res)
        self.assertIn(seeded, self.host_names())
        # Once the service recovers, rmdir works.
        self.run_ok("rmdir", self.host("sticky"))
        self.run_ok("rmdir", self.host(seeded))
        self.assertEqual(self.host_names(), [])
        self.assertEqual(self.server_hosts(), [])

    def test_ls_shows_mkdir_and_rmdir_at_once(self):
        self.assertEqual(self.host_names(), [])
        self.run_ok("ls", "-l", self.path("hosts"))   # cached for 30 s
        self.mkdir_host("seen")
        res = self.run_ok("ls", self.path("hosts"))
        self.assertEqual(res.stdout.split(), ["seen"])
        self.wait_active("seen")
        res = self.run_ok("ls", self.path("hosts"))
        self.assertEqual(res.stdout.split(), ["seen"])
        self.run_ok("rmdir", self.host("seen"))
        res = self.run_ok("ls", self.path("hosts"))
        self.assertEqual(res.stdout, "")
        self.assertErrno(errno.ENOENT, os.stat, self.host("seen", "state"))

    # -- private key ---------------------------------------------------------------------------

    def test_private_key_is_kept_in_the_state_dir_and_served(self):
        self.mkdir_host("keyed")
        self.wait_active("keyed")
        key = self.read(self.host("keyed", "private_key"))
        self.assertTrue(key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n"))
        self.assertTrue(key.endswith("-----END OPENSSH PRIVATE KEY-----\n"))
        kept = os.path.join(self.mnt.state_dir, "names", "keyed", "private_key")
        self.assertEqual(read_file(kept).decode(), key)
        self.assertEqual(oct(stat.S_IMODE(os.stat(kept).st_mode)), oct(0o600))
        for d in (self.mnt.state_dir, os.path.dirname(kept)):
            self.assertEqual(oct(stat.S_IMODE(os.stat(d).st_mode)), oct(0o700), d)
        self.assertIn("private_key", self.listdir(self.host("keyed")))
        # The service never returns the key again; it is nowhere else.
        self.assertIsNone(self.srv.get_host_raw(self.host_id_of("keyed"))["private_key"])
        self.assertNotIn("PRIVATE KEY", self.read(self.host("keyed", "host.json")))
        self.assertNotIn("PRIVATE KEY", self.mnt.log())
        self.run_ok("rmdir", self.host("keyed"))
        self.assertFalse(os.path.exists(kept))
        self.assertFalse(os.path.exists(os.path.dirname(kept)))

    # -- slower paths ------------------------------------------------------------------------------

    def test_a_create_cut_off_after_the_window_is_retried_with_the_same_key(self):
        # The first POST hangs past the window, then the connection drops
        # (no host was made); drukfs retries with the same key.
        self.srv.fault("POST /hosts", "hang", latency_ms=1500)
        self.reset_counts()
        self.mkdir_host("retried")
        self.assertEqual(self.read(self.host("retried", "wait"), timeout=20), "active\n")
        keys = [r["headers"].get("idempotency-key") for r in self.posts()]
        self.assertEqual(keys, ["retried", "retried"])
        self.assertEqual(len(self.server_hosts()), 1)
        self.assertTrue(self.read(self.host("retried", "private_key")))

    def test_a_name_can_be_used_again_after_rmdir(self):
        ids = []
        for _ in range(3):
            self.mkdir_host("again")
            self.wait_active("again")
            ids.append(self.host_id_of("again"))
            self.assertEqual(self.read(self.host("again", "state")), "active\n")
            self.run_ok("rmdir", self.host("again"))
            self.assertEqual(self.host_names(), [])
        self.assertEqual(len(set(ids)), 3, ids)
        self.assertEqual([r["headers"].get("idempotency-key") for r in self.posts()],
                         ["again"] * 3)
        self.assertEqual(self.server_hosts(), [])

    def test_a_slow_delete_finishes_after_rmdir_returned(self):
        self.mkdir_host("slowdel")
        self.wait_active("slowdel")
        self.srv.config(delete_seconds=2.0)
        start = time.monotonic()
        self.run_ok("rmdir", self.host("slowdel"))
        self.assertLess(time.monotonic() - start, 2.0, "rmdir waits its window only")
        self.assertNotIn("slowdel", self.host_names())
        wait_until(lambda: not self.server_hosts(), 10, what="the DELETE to finish")
        wait_until(lambda: not self.mnt.state_names(), 5, what="the name to be forgotten")
        self.assertNotIn("slowdel", self.host_names())

    def test_a_slow_delete_that_fails_brings_the_host_back(self):
        self.mkdir_host("comeback")
        self.wait_active("comeback")
        self.srv.config(delete_seconds=2.0, teardown_fail_next=1,
                        teardown_message="snapshot in progress")
        self.run_ok("rmdir", self.host("comeback"))       # in flight after the window
        self.assertNotIn("comeback", self.host_names())
        wait_until(lambda: "comeback" in self.host_names(), 10,
                   what="the host to come back after the failed DELETE")
        self.assertEqual(self.read(self.host("comeback", "state")), "active\n")
        self.assertTrue(self.read(self.host("comeback", "private_key")))
        self.assertEqual(self.mnt.state_names(), ["comeback"])
        self.assertIn("snapshot in progress", self.mnt.log())
        self.assertEqual(len(self.server_hosts()), 1)

    def test_more_fast_failures(self):
        for what, kind, kw, expected in [
                ("500", "status", {"status": 500}, errno.EIO),
                ("not JSON", "garbage", {}, errno.EPROTO),
                ("409", "status", {"status": 409}, errno.EBUSY)]:
            with self.subTest(what):
                self.srv.fault("POST /hosts", kind, **kw)
                self.assertErrno(expected, os.mkdir, self.host("more"))
                self.assertEqual(self.host_names(), [])
                self.assertEqual(self.mnt.state_names(), [])

    def test_a_pending_host_is_listed_once_after_its_create_answers(self):
        self.srv.config(provision_seconds=2.0)
        self.mkdir_host("once")
        self.mnt.refresh()          # the service already lists it under its id
        host_id = self.server_hosts()[0]["id"]
        self.assertEqual(self.host_names(), sorted(["once", host_id]))
        self.wait_active("once")
        self.assertEqual(self.host_names(), ["once"])
        self.assertEqual(self.host_id_of("once"), host_id)
        # ... and still reachable by its id.
        self.assertEqual(self.read(self.host(host_id, "state")), "active\n")

    def test_a_name_whose_host_another_mount_deleted_disappears(self):
        self.mkdir_host("shared")
        self.wait_active("shared")
        host_id = self.host_id_of("shared")
        other = self.mount()
        self.assertIn(host_id, self.listdir(other.path("hosts")))
        self.assertNotIn("private_key", self.listdir(other.host(host_id)))
        self.run_ok("rmdir", other.host(host_id))
        self.mnt.refresh()
        self.assertEqual(self.host_names(), [])
        self.assertErrno(errno.ENOENT, os.stat, self.host("shared", "state"))
        self.assertEqual(self.mnt.state_names(), [], "the vanished host's key is kept")

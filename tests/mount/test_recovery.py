"""Crashes, remounts, a dead service, refusing to start, daemon mode, and
keeping the token out of sight."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import time

from harness import (MountTestCase, Mount, mounted, read_file, run, wait_until)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecoveryTest(MountTestCase):
    PROVISION_SECONDS = 0.5
    MOUNT_OPTIONS = {"cache_ttl": 2}

    def key_file(self, mnt: Mount, name: str) -> str:
        return os.path.join(mnt.state_dir, "names", name, "private_key")

    def test_pending_create_resumes_after_kill_9(self):
        first = self.mnt
        self.mkdir_host("early")
        self.wait_active("early")
        early_key = self.read(self.host("early", "private_key"))
        early_id = self.host_id_of("early")
        self.assertEqual(read_file(self.key_file(first, "early")).decode(), early_key)

        self.srv.config(provision_seconds=4.0)
        self.mkdir_host("late")                       # returns after the 1 s window
        names = os.path.join(first.state_dir, "names", "late")
        self.assertTrue(os.path.exists(os.path.join(names, "request.json")))
        self.assertFalse(os.path.exists(os.path.join(names, "id")), "the create is not done")
        on_server = [h for h in self.server_hosts() if h["id"] != early_id]
        self.assertEqual(len(on_server), 1)
        late_id = on_server[0]["id"]
        self.assertNotEqual(on_server[0]["status"], "active")

        first.kill9()
        run(["fusermount3", "-uz", first.mountpoint], timeout=10)
        self.assertFalse(mounted(first.mountpoint))

        second = self.mount(state_dir=first.state_dir)
        self.assertEqual(self.read(second.host("late", "wait"), timeout=20), "active\n")
        self.assertEqual(self.read(second.host("late", "id")), late_id + "\n")
        self.assertEqual(self.read(second.host("late", "state")), "active\n")
        hosts = self.server_hosts()
        self.assertEqual(sorted(h["id"] for h in hosts), sorted([early_id, late_id]),
                         "the resumed create must not make a second host")
        keys = [r["headers"].get("idempotency-key") for r in self.requests_for("POST /hosts")]
        self.assertEqual(keys, ["early", "late", "late"])
        self.assertEqual(read_file(os.path.join(names, "id")).decode().strip(), late_id)
        # The key kept before the crash is intact and still served.
        self.assertEqual(read_file(self.key_file(second, "early")).decode(), early_key)
        self.assertEqual(oct(stat.S_IMODE(os.stat(self.key_file(second, "early")).st_mode)),
                         oct(0o600))
        self.assertEqual(self.read(second.host("early", "private_key")), early_key)
        self.assertEqual(sorted(self.listdir(second.path("hosts"))), ["early", "late"])
        self.assertIn("resuming the create of late", second.log())

    def test_remount_keeps_names_and_resends_nothing(self):
        self.mkdir_host("kept")
        self.wait_active("kept")
        key = self.read(self.host("kept", "private_key"))
        host_id = self.host_id_of("kept")
        self.mnt.unmount()
        self.assertFalse(mounted(self.mnt.mountpoint))
        self.assertEqual(self.mnt.exit_status, 0, self.mnt.stderr_text())
        self.reset_counts()
        second = self.mount(state_dir=self.mnt.state_dir)
        self.assertEqual(self.listdir(second.path("hosts")), ["kept"])
        self.assertEqual(self.read(second.host("kept", "id")), host_id + "\n")
        self.assertEqual(self.read(second.host("kept", "private_key")), key)
        self.assertEqual(self.route_count("POST /hosts"), 0)

    def test_a_name_whose_host_vanished_while_unmounted_is_gone(self):
        self.mkdir_host("vanish")
        self.wait_active("vanish")
        host_id = self.host_id_of("vanish")
        self.mnt.unmount()
        self.srv.remove_host(host_id)
        second = self.mount(state_dir=self.mnt.state_dir)
        self.assertEqual(self.listdir(second.path("hosts")), [])
        self.assertErrno(errno.ENOENT, os.stat, second.host("vanish", "state"))

    def test_stale_data_is_served_while_the_service_is_down(self):
        host_id = self.srv.seed(1)[0]
        self.mnt.refresh()
        state = self.read(self.host(host_id, "state"))
        doc = self.read(self.host(host_id, "host.json"))
        listing = self.listdir(self.path("hosts"))
        self.read(self.path("doctor"))
        self.srv.stop()
        time.sleep(2.3)      # past cache_ttl=2: every read now wants a refresh
        for _ in range(3):
            t = time.monotonic()
            self.assertEqual(self.read(self.host(host_id, "state")), state)
            self.assertEqual(self.read(self.host(host_id, "host.json")), doc)
            self.assertEqual(self.listdir(self.path("hosts")), listing)
            res = self.run_ok("cat", self.host(host_id, "external_ssh_host"))
            self.assertTrue(res.stdout.endswith("\n"))
            # stale beats a hang: at most the 1 s grace, plus slack
            self.assertLess(time.monotonic() - t, 2.5)
        doctor = self.read(self.path("doctor"))
        self.assertIn("not reachable", doctor)
        # Mutations fail fast with the transport errno and leave nothing.
        self.assertErrno(errno.EHOSTUNREACH, os.mkdir, self.host("offline"))
        self.assertNotIn("offline", self.listdir(self.path("hosts")))
        self.assertEqual(self.mnt.state_names(), [])
        self.assertErrno(errno.EHOSTUNREACH, os.rmdir, self.host(host_id))
        self.assertIn(host_id, self.listdir(self.path("hosts")))

    # -- refusing to start ----------------------------------------------------------

    def start_failing(self, mnt: Mount) -> str:
        self.addCleanup(mnt.cleanup)
        mnt.start(wait=False)
        status = mnt.wait_exit(20)
        self.assertIsNotNone(status, "drukfs kept running")
        self.assertNotEqual(status, 0)
        self.assertFalse(mounted(mnt.mountpoint))
        return mnt.stderr_text()

    def test_refuses_to_start_with_a_wrong_token(self):
        bad = "wrong-token-8d1e77"
        text = self.start_failing(Mount(self.srv.url, bad))
        self.assertIn("refused the token", text)
        self.assertIn("HTTP 403", text)
        self.assertNotIn(bad, text)
        self.assertNotIn(self.TOKEN, text)
        text = self.start_failing(Mount(self.srv.url, None))
        self.assertNotEqual(text.strip(), "")
        self.assertNotIn(self.TOKEN, text)

    def test_refuses_to_start_with_an_unreachable_url(self):
        url = f"http://127.0.0.1:{free_port()}"
        start = time.monotonic()
        text = self.start_failing(Mount(url, self.TOKEN))
        self.assertLess(time.monotonic() - start, 15)
        self.assertIn("cannot reach", text)
        self.assertIn(url, text)
        self.assertNotIn(self.TOKEN, text)

    def test_refuses_a_token_on_the_command_line(self):
        mnt = Mount(self.srv.url, self.TOKEN, options={"token": "cmdline-token-55aa"})
        text = self.start_failing(mnt)
        self.assertIn("not taken on the command line", text)
        self.assertNotIn("cmdline-token-55aa", text)

    # -- the token stays secret --------------------------------------------------------

    def test_token_never_shows_in_ps_log_or_debug_output(self):
        mnt = self.mount({"cache_ttl": 1}, debug=True)
        # A token file works as well as the environment.
        token_file = os.path.join(mnt.work, "token")
        with open(token_file, "w") as f:
            f.write(self.TOKEN + "\n")
        os.chmod(token_file, 0o600)
        by_file = self.mount({"token_file": token_file}, token=None)
        self.assertEqual(self.listdir(by_file.path("hosts")), [])

        # Work that logs: creates, deletes, failures with server detail.
        self.mkdir_host("secretive", mnt)
        self.wait_active("secretive", mnt)
        self.read(mnt.path("doctor"))
        self.srv.fault("POST /hosts", "status", status=401)
        self.assertErrno(errno.EACCES, os.mkdir, mnt.host("denied"))
        self.srv.fault("GET /hosts", "status", status=403, count=2)
        mnt.refresh()
        self.listdir(mnt.path("hosts"))
        self.run_ok("rmdir", mnt.host("secretive"))

        ps = run(["ps", "axww", "-o", "pid=,args="]).stdout
        self.assertIn(mnt.mountpoint, ps, "ps must show the mount")
        self.assertNoToken(ps, "ps output")
        for m in (mnt, by_file):
            self.assertNoToken(read_file(f"/proc/{m.pid}/cmdline").decode(errors="replace"),
                               "the command line")
            self.assertNoToken(m.log(), ".drukfs/log")
            self.assertNoToken(self.read(m.path("doctor")), "doctor")
            self.assertNoToken(self.read(m.path(".drukfs", "stats")), ".drukfs/stats")
            for dirpath, _, files in os.walk(m.state_dir):
                for name in files:
                    self.assertNoToken(read_file(os.path.join(dirpath, name)).decode(
                        errors="replace"), os.path.join(dirpath, name))
        self.assertIn("refresh failed", mnt.log())
        mnt.unmount()
        debug = mnt.stderr_text()
        self.assertIn("opcode:", debug, "-d output was not captured")
        self.assertNoToken(debug, "the -d debug output")

    # -- daemon mode ----------------------------------------------------------------------

    def test_daemon_mode(self):
        mnt = self.mount(foreground=False)
        self.assertEqual(mnt.exit_status, 0, mnt.stderr_text())
        self.assertIsNotNone(mnt.pid, "no daemon process found")
        self.assertNotEqual(mnt.pid, mnt.proc.pid)
        self.assertTrue(mnt.alive())
        self.mkdir_host("bg", mnt)
        self.wait_active("bg", mnt)
        self.assertEqual(self.listdir(mnt.path("hosts")), ["bg"])
        self.run_ok("fusermount3", "-u", mnt.mountpoint, timeout=10)
        wait_until(lambda: not mnt.alive(), 5, what="the daemon to exit")

    def test_a_resumed_create_that_failed_shows_the_failure(self):
        self.srv.config(provision_seconds=2.5, fail_next=1, fail_message="zone is full")
        self.mkdir_host("unlucky")
        self.mnt.kill9()
        run(["fusermount3", "-uz", self.mnt.mountpoint], timeout=10)
        second = self.mount(state_dir=self.mnt.state_dir)
        _, err = self.call(read_file, second.host("unlucky", "wait"), timeout=20)
        self.assertEqual(errno.errorcode.get(err, "success"), "EIO")
        self.assertEqual(self.read(second.host("unlucky", "state")), "error\n")
        self.assertEqual(self.read(second.host("unlucky", "last_error")), "zone is full\n")
        self.assertIn("zone is full", second.log())
        self.assertIn("unlucky", self.listdir(second.path("hosts")))
        keys = [r["headers"].get("idempotency-key") for r in self.requests_for("POST /hosts")]
        self.assertEqual(keys, ["unlucky", "unlucky"])
        self.run_ok("rmdir", second.host("unlucky"))
        self.assertEqual(second.state_names(), [])

    def test_sigterm_unmounts_cleanly(self):
        self.mkdir_host("t")
        self.wait_active("t")
        self.mnt.signal(15)
        self.assertEqual(self.mnt.wait_exit(10), 0, self.mnt.stderr_text())
        self.assertFalse(mounted(self.mnt.mountpoint))
        self.assertEqual(self.mnt.state_names(), ["t"])

    def test_refuses_a_state_dir_others_can_read(self):
        state = os.path.join(self.mnt.work, "open-state")
        os.mkdir(state, 0o755)
        os.chmod(state, 0o755)
        text = self.start_failing(Mount(self.srv.url, self.TOKEN, state_dir=state))
        self.assertIn(state, text)
        self.assertIn("0700", text)

    def test_refuses_bad_options(self):
        env_file = os.path.join(self.mnt.work, "bad.env")
        with open(env_file, "w") as f:
            f.write("GOOD=1\n1BAD=2\n")
        for opts, needle in [({"cache_ttl": "soon"}, "cache_ttl"),
                             ({"lease": "-5"}, "lease"),
                             ({"disk_gb": "0"}, "disk_gb"),
                             ({"env_file": env_file}, "env_file"),
                             ({"env_file": "/nonexistent/env"}, "env_file")]:
            with self.subTest(opts=opts):
                text = self.start_failing(Mount(self.srv.url, self.TOKEN, options=opts))
                self.assertIn(needle, text)
                self.assertNoToken(text, "the error message")

    def test_a_create_pending_at_unmount_resumes_on_the_next_mount(self):
        self.srv.config(provision_seconds=3.0)
        self.mkdir_host("carried")
        host_id = self.server_hosts()[0]["id"]
        start = time.monotonic()
        self.mnt.unmount()
        self.assertFalse(mounted(self.mnt.mountpoint))
        # drukfs leaves the create to the next mount; it must not hang
        # around for the provisioning (_reap would have killed it at 5 s).
        self.assertEqual(self.mnt.exit_status, 0, self.mnt.stderr_text())
        self.assertLess(time.monotonic() - start, 2.5)
        second = self.mount(state_dir=self.mnt.state_dir)
        self.assertEqual(self.read(second.host("carried", "wait"), timeout=20), "active\n")
        self.assertEqual(self.read(second.host("carried", "id")), host_id + "\n")
        self.assertEqual([h["id"] for h in self.server_hosts()], [host_id])

    def test_allow_other_keeps_the_private_key_private(self):
        os.chmod(self.mnt.work, 0o755)
        mnt = self.mount({"allow_other": None})
        os.chmod(mnt.work, 0o755)
        self.mkdir_host("guarded", mnt)
        self.wait_active("guarded", mnt)

        def as_nobody(*args):
            return run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        *args], timeout=10)

        res = as_nobody("cat", mnt.host("guarded", "state"))
        self.assertEqual((res.returncode, res.stdout), (0, "active\n"), res)
        res = as_nobody("cat", mnt.host("guarded", "private_key"))
        self.assertEqual(res.errno, errno.EACCES, res)
        res = as_nobody("mkdir", mnt.host("intruder"))
        self.assertEqual(res.errno, errno.EACCES, res)
        res = as_nobody("rmdir", mnt.host("guarded"))
        self.assertEqual(res.errno, errno.EACCES, res)
        self.assertEqual(self.listdir(mnt.path("hosts")), ["guarded"])
        # Without allow_other, other users see nothing at all.
        res = as_nobody("ls", self.mnt.path("hosts"))
        self.assertEqual(res.errno, errno.EACCES, res)

"""drukfs under valgrind: a real mount, a workload that touches every kind
of request (list, get, doctor, create, renew, delete, specs, ssh_config,
wait), then an unmount; valgrind must report no error and no leak.

Skipped where valgrind is not installed, and in the sanitizer build (an
ASan binary cannot run under valgrind; ASan's own leak check covers it).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import drukfs_binary, mounted, start_server, wait_until  # noqa: E402


def asan_build(binary: str) -> bool:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         timeout=30).stdout
    return "libasan" in out or "libubsan" in out


@unittest.skipUnless(shutil.which("valgrind"), "valgrind is not installed")
class ValgrindTest(unittest.TestCase):
    def setUp(self):
        self.binary = drukfs_binary()
        if asan_build(self.binary):
            self.skipTest("sanitizer build: ASan checks leaks itself")
        self.srv = start_server("--seed", "5")
        self.addCleanup(self.srv.stop)
        self.work = tempfile.mkdtemp(prefix="drukfs-vg-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.mnt = os.path.join(self.work, "mnt")
        os.mkdir(self.mnt)
        self.log = os.path.join(self.work, "valgrind.log")

    def start(self) -> subprocess.Popen:
        env = dict(os.environ, SANDBOX_SERVICE_URL=self.srv.url,
                   SANDBOX_SERVICE_TOKEN=self.srv.token)
        args = ["valgrind", "--leak-check=full",
                "--show-leak-kinds=definite,indirect",
                "--errors-for-leak-kinds=definite,indirect",
                "--error-exitcode=99", f"--log-file={self.log}",
                self.binary, self.mnt, "-f", "-o",
                f"state_dir={self.work}/state,cache_ttl=1"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.addCleanup(self.stop, proc)
        # valgrind makes start-up slow: a generous bound.
        self.assertTrue(wait_until(lambda: mounted(self.mnt), 60),
                        "drukfs did not mount under valgrind")
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if mounted(self.mnt):
            subprocess.run(["fusermount3", "-uz", self.mnt], timeout=30)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    def sh(self, script: str) -> str:
        res = subprocess.run(["sh", "-ec", script], cwd=self.mnt,
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        return res.stdout

    def test_a_workload_leaks_nothing_and_errs_nowhere(self):
        proc = self.start()
        out = self.sh("""
            ls -l hosts > /dev/null
            cat hosts/*/state
            find hosts -type f ! -name wait | xargs cat > /dev/null
            cat doctor doctor.json ssh_config .drukfs/stats > /dev/null
            printf 'image=debian-12\\nenv.A=b\\n' > specs/vg
            mkdir hosts/vg
            cat hosts/vg/wait
            touch hosts/vg
            cat hosts/vg/private_key hosts/vg/ssh_config > /dev/null
            echo > .drukfs/refresh
            sleep 1.2
            ls hosts > /dev/null
            rmdir hosts/vg
        """)
        self.assertIn("active", out)
        # Let the background work (the delete, a refresh) settle.
        time.sleep(1)
        subprocess.run(["fusermount3", "-u", self.mnt], timeout=60, check=True)
        status = proc.wait(timeout=120)
        with open(self.log, encoding="utf-8", errors="replace") as f:
            report = f.read()
        self.assertIn("ERROR SUMMARY: 0 errors", report, report[-4000:])
        self.assertNotIn("definitely lost: ", report.replace(
            "definitely lost: 0 bytes", ""), report[-4000:])
        self.assertEqual(status, 0, report[-4000:])


if __name__ == "__main__":
    unittest.main()

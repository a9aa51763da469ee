"""Fixtures for the mount tests: a drukbox-local server and a real drukfs mount.

    class T(MountTestCase):
        SEED = 5                          # active hosts seeded before mounting
        PROVISION_SECONDS = 0.5           # the server's provisioning time
        MOUNT_OPTIONS = {"cache_ttl": 30}  # -o options on top of DEFAULT_OPTIONS

        def test_x(self):
            self.run_ok("ls", self.path("hosts"))
            self.assertEqual(self.route_count("GET /hosts"), 1)

Every test gets its own server and its own mount (fresh temporary mountpoint,
fresh state directory); both are torn down by cleanups that run whatever the
test did: unmount with `fusermount3 -u`, then `fusermount3 -uz`, then SIGKILL
of the drukfs process if it is still there.  Every subprocess has a timeout,
and filesystem calls made from this process that could block on a broken
mount go through `call()`, which runs them in a thread with a deadline.

The drukfs binary comes from $DRUKFS (meson sets it); there is no fallback.
Standard library only.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "support")))

from localserver import LocalServer, LocalServerError  # noqa: E402  (path set up above)

# Tests interrupt commands with SIGINT (`cat wait`, the example script).
# A runner started in the background by a non-interactive shell (`run.py &`,
# a CI step's `&`) inherits SIGINT ignored; Python keeps it ignored and
# exec hands the ignored disposition on to every command we start, so the
# SIGINT never reaches the reader blocked in the kernel (no signal pending,
# no FUSE_INTERRUPT) and a shell script cannot even trap it.  A caught
# signal is reset to the default by exec: catching it here is enough.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

CMD_TIMEOUT = 30.0        # default for every command we run
MOUNT_TIMEOUT = 20.0      # drukfs must be mounted within this
UNMOUNT_TIMEOUT = 10.0
EXIT_TIMEOUT = 5.0        # drukfs must exit this long after an unmount

# What every mount gets unless a test says otherwise.  timeout=10 bounds any
# request drukfs makes, so a test against a dead service cannot hang long.
DEFAULT_OPTIONS = {"cache_ttl": 2, "mkdir_wait": 1, "timeout": 10}

DEFAULT_TOKEN = "tok-mount-3f9a1c7e5b"

# strerror text -> errno, to read the errno out of a command's stderr.
_STRERROR = {os.strerror(n): n for n in sorted(errno.errorcode, reverse=True)}


def sanitizer_of(binary: str) -> str:
    """"ASan" or "TSan" when the drukfs binary is built with that
    sanitizer, else ""."""
    with open(binary, "rb") as f:
        data = f.read()
    for name, marker in (("ASan", b"__asan_init"), ("TSan", b"__tsan_init")):
        if marker in data:
            return name
    return ""


def drukfs_binary() -> str:
    """$DRUKFS, which must name an executable."""
    path = os.environ.get("DRUKFS")
    if not path:
        raise RuntimeError("DRUKFS is not set: point it at the drukfs binary "
                           "(meson test sets it)")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"DRUKFS={path} is not an executable file")
    return path


# --------------------------------------------------------------------------
# Polling, commands, calls with deadlines
# --------------------------------------------------------------------------

def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.05,
               what: str | None = None) -> Any:
    """Polls pred() until it returns something truthy (which is returned) or
    `timeout` seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for "
                                 f"{what or getattr(pred, '__name__', 'a condition')}")
        time.sleep(interval)


class CmdResult:
    """A finished command: returncode, stdout, stderr (text), elapsed
    seconds, and errno -- the errno whose strerror text ends a line of
    stderr (0 when none does)."""

    def __init__(self, args: list, returncode: int, stdout: str, stderr: str,
                 elapsed: float):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.errno = errno_from_text(stderr)

    def __repr__(self) -> str:
        return (f"CmdResult({self.args!r}, rc={self.returncode}, "
                f"errno={errno.errorcode.get(self.errno, self.errno)}, "
                f"elapsed={self.elapsed:.2f}, stdout={self.stdout[:300]!r}, "
                f"stderr={self.stderr[:300]!r})")


def errno_from_text(text: str) -> int:
    for line in text.splitlines():
        for message, number in _STRERROR.items():
            if line.rstrip().endswith(message):
                return number
    return 0


def run(args: list, timeout: float = CMD_TIMEOUT, input: str | None = None,
        env: dict | None = None, shell: bool = False) -> CmdResult:
    """Runs a command to completion (killed after `timeout`, which fails the
    test with AssertionError)."""
    start = time.monotonic()
    try:
        proc = subprocess.run(args, input=input, capture_output=True, text=True,
                              timeout=timeout, env=env, shell=shell,
                              errors="replace")
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"command {args!r} did not finish within "
                             f"{timeout:g}s") from exc
    return CmdResult(args, proc.returncode, proc.stdout, proc.stderr,
                     time.monotonic() - start)


class CallTimeout(AssertionError):
    pass


def call(fn: Callable, *args: Any, timeout: float = CMD_TIMEOUT) -> tuple[Any, int]:
    """Runs fn(*args) in a daemon thread: (result, 0) on success, (None,
    errno) when it raised OSError, CallTimeout when it took longer than
    `timeout` (the thread is left behind; unmounting frees it)."""
    box: dict = {}

    def body() -> None:
        try:
            box["value"] = fn(*args)
        except OSError as exc:
            box["errno"] = exc.errno
        except BaseException as exc:  # re-raised in the caller
            box["exc"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise CallTimeout(f"{getattr(fn, '__name__', fn)}{args!r} did not "
                          f"return within {timeout:g}s")
    if "exc" in box:
        raise box["exc"]
    return box.get("value"), box.get("errno", 0)


def read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def read_text(path: str) -> str:
    return read_file(path).decode("utf-8")


def write_file(path: str, data: bytes = b"1\n") -> int:
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def mounted(mountpoint: str) -> bool:
    """Whether /proc/self/mountinfo lists the mountpoint (works for a dead
    FUSE daemon too, unlike os.path.ismount)."""
    real = os.path.realpath(mountpoint)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4 and fields[4].replace("\\040", " ") == real:
                    return True
    except OSError:
        pass
    return False


def pids_with_arg(arg: str, binary: str) -> list[int]:
    """Pids of processes running `binary` with `arg` among their arguments
    (to find a daemonized drukfs by its mountpoint)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (argv and os.path.basename(argv[0].decode(errors="replace")) ==
                os.path.basename(binary) and arg.encode() in argv):
            found.append(int(entry))
    return found


# --------------------------------------------------------------------------
# One drukfs mount
# --------------------------------------------------------------------------

class Mount:
    """A drukfs process mounted on a fresh temporary mountpoint.

    options: -o values (None values become bare flags).  state_dir: reuse a
    state directory (default: a fresh one under the mount's work dir).
    foreground False runs drukfs without -f: it daemonizes once mounted.
    """

    def __init__(self, url: str, token: str | None = DEFAULT_TOKEN, *,
                 options: dict | None = None, state_dir: str | None = None,
                 foreground: bool = True, debug: bool = False,
                 env: dict | None = None, extra_args: tuple = ()):
        self.binary = drukfs_binary()
        self.url = url
        self.token = token
        self.options = dict(DEFAULT_OPTIONS)
        self.options.update(options or {})
        self.work = tempfile.mkdtemp(prefix="drukfs-test-")
        self.mountpoint = os.path.join(self.work, "mnt")
        os.mkdir(self.mountpoint)
        self.state_dir = state_dir or os.path.join(self.work, "state")
        self.foreground = foreground
        self.debug = debug
        self.env = env
        self.extra_args = tuple(extra_args)
        self.stderr_path = os.path.join(self.work, "drukfs.stderr")
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None
        self.exit_status: int | None = None

    # -- command line --
    def option_string(self) -> str:
        opts = dict(self.options)
        opts.setdefault("state_dir", self.state_dir)
        parts = []
        for key, value in opts.items():
            if value is None:
                parts.append(key)
            else:
                parts.append(f"{key}={value}")
        return ",".join(parts)

    def argv(self) -> list[str]:
        args = [self.binary, self.mountpoint]
        if self.foreground:
            args.append("-f")
        if self.debug:
            args.append("-d")
        args += ["-o", self.option_string()]
        return args + list(self.extra_args)

    def child_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env["SANDBOX_SERVICE_URL"] = self.url
        if self.token is not None:
            env["SANDBOX_SERVICE_TOKEN"] = self.token
        env.update(self.env or {})
        return env

    # -- life cycle --
    def start(self, wait: bool = True) -> "Mount":
        """Starts drukfs and (wait=True) waits until the mount is up; raises
        AssertionError with drukfs's stderr when it exits or times out."""
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err,
                                         env=self.child_env())
        finally:
            err.close()
        self.pid = self.proc.pid
        if wait:
            self.wait_mounted()
        return self

    def wait_mounted(self, timeout: float = MOUNT_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if os.path.ismount(self.mountpoint):
                break
            status = self.proc.poll()
            if status is not None and (self.foreground or status != 0):
                self.exit_status = status
                raise AssertionError(f"drukfs exited with status {status} before "
                                     f"mounting; stderr:\n{self.stderr_text()}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"drukfs did not mount within {timeout:g}s; "
                                     f"stderr:\n{self.stderr_text()}")
            time.sleep(0.02)
        if not self.foreground:
            # The parent exits once mounted (exit 0); the daemon is a child.
            try:
                self.exit_status = self.proc.wait(timeout=MOUNT_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise AssertionError("drukfs without -f did not return after "
                                     "mounting") from None
            daemons = pids_with_arg(self.mountpoint, self.binary)
            self.pid = daemons[0] if daemons else None

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status of the foreground process, None if still running
        after `timeout`."""
        try:
            self.exit_status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_status

    def alive(self) -> bool:
        if self.pid is None:
            return False
        if self.proc is not None and self.pid == self.proc.pid:
            return self.proc.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def signal(self, sig: int) -> None:
        if self.pid is not None:
            os.kill(self.pid, sig)

    def kill9(self) -> None:
        """SIGKILL drukfs (a crash); the mount stays, dead, until unmounted."""
        self.signal(signal.SIGKILL)
        if self.proc is not None and self.pid == self.proc.pid:
            self.proc.wait(timeout=EXIT_TIMEOUT)

    def unmount(self) -> None:
        """fusermount3 -u, else -uz; then waits for drukfs to exit and kills
        it if it does not.  Never raises for an already gone mount."""
        if mounted(self.mountpoint):
            ok = False
            try:
                ok = subprocess.run(["fusermount3", "-u", self.mountpoint],
                                    capture_output=True,
                                    timeout=UNMOUNT_TIMEOUT).returncode == 0
            except subprocess.TimeoutExpired:
                pass
            if not ok and mounted(self.mountpoint):
                try:
                    subprocess.run(["fusermount3", "-uz", self.mountpoint],
                                   capture_output=True, timeout=UNMOUNT_TIMEOUT)
                except subprocess.TimeoutExpired:
                    pass
        self._reap()

    def _reap(self) -> None:
        deadline = time.monotonic() + EXIT_TIMEOUT
        while self.alive() and time.monotonic() < deadline:
            if self.proc is not None and self.pid == self.proc.pid:
                self.wait_exit(0.05)
            else:
                time.sleep(0.05)
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.exit_status = self.proc.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        # A daemonized drukfs left behind by a failed test.
        for pid in pids_with_arg(self.mountpoint, self.binary):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self, keep_state: bool = False) -> None:
        self.unmount()
        if mounted(self.mountpoint):
            return  # never rm -r into a live mount
        if keep_state and self.state_dir.startswith(self.work + os.sep):
            return
        shutil.rmtree(self.work, ignore_errors=True)

    # -- the tree --
    def path(self, *parts: str) -> str:
        return os.path.join(self.mountpoint, *parts)

    def host(self, handle: str, *parts: str) -> str:
        return os.path.join(self.mountpoint, "hosts", handle, *parts)

    def stderr_text(self) -> str:
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log(self) -> str:
        value, err = call(read_text, self.path(".drukfs", "log"))
        if err:
            raise AssertionError(f"reading .drukfs/log: {os.strerror(err)}")
        return value

    def stats(self) -> dict:
        """.drukfs/stats as {"requests GET /hosts": 3, ...}."""
        value, err = call(read_text, self.path(".drukfs", "stats"))
        if err:
            raise AssertionError(f"reading .drukfs/stats: {os.strerror(err)}")
        out = {}
        for line in value.splitlines():
            key, _, number = line.rpartition(" ")
            try:
                out[key] = float(number) if "." in number else int(number)
            except ValueError:
                out[key] = number
        return out

    def refresh(self) -> None:
        _, err = call(write_file, self.path(".drukfs", "refresh"), b"1\n")
        if err:
            raise AssertionError(f"writing .drukfs/refresh: {os.strerror(err)}")

    def state_names(self) -> list[str]:
        """The NAMEs kept in the state directory."""
        try:
            return sorted(os.listdir(os.path.join(self.state_dir, "names")))
        except FileNotFoundError:
            return []


# --------------------------------------------------------------------------
# The test case base class
# --------------------------------------------------------------------------

def start_server(*args: str, **kw: Any) -> LocalServer:
    """A LocalServer; one more try if the first dies before it is ready
    (the machine is shared: a start-up can be disturbed from outside).
    Nothing the tests check depends on the server's start-up."""
    try:
        return LocalServer(*args, **kw)
    except LocalServerError as exc:
        sys.stderr.write(f"[harness] drukbox-local did not start ({exc}); retrying once\n")
        return LocalServer(*args, **kw)


class MountTestCase(unittest.TestCase):
    """A LocalServer and a mount for every test (see the module doc)."""

    SEED = 0
    PROVISION_SECONDS: float | None = 0.5
    SERVER_ARGS: tuple = ()
    MOUNT_OPTIONS: dict = {}
    AUTO_MOUNT = True
    TOKEN = DEFAULT_TOKEN

    srv: LocalServer
    mnt: Mount

    def setUp(self) -> None:
        if not os.path.exists("/dev/fuse"):
            self.skipTest("no /dev/fuse")
        drukfs_binary()
        self.mounts: list[Mount] = []
        self.srv = start_server(*self.SERVER_ARGS, token=self.TOKEN,
                                provision_seconds=self.PROVISION_SECONDS)
        self.addCleanup(self.srv.stop)
        self.seeded = self.srv.seed(self.SEED) if self.SEED else []
        self.prepare()
        if self.AUTO_MOUNT:
            self.mnt = self.mount()

    def describe_failure(self) -> str:
        """What run.py prints under a failed test: whether the server is
        still running, and the end of every mount's stderr (with -f it holds
        drukfs's event log)."""
        out = []
        srv = getattr(self, "srv", None)
        if srv is not None and srv.proc.poll() is not None:
            out.append(f"drukbox-local has exited (status {srv.proc.returncode})")
        for i, mnt in enumerate(getattr(self, "mounts", [])):
            lines = [l for l in mnt.stderr_text().splitlines()
                     if "opcode:" not in l and not l.startswith("   ")][-25:]
            out.append(f"--- mount {i} ({mnt.mountpoint}), drukfs stderr, last lines ---")
            out.extend(lines or ["(empty)"])
        return "\n".join(out)

    def prepare(self) -> None:
        """Runs after seeding, before mounting: server set-up a test class
        needs in place before drukfs's first list."""

    def tearDown(self) -> None:
        # Cleanups (unmount, server stop) run after this, failure or not.
        pass

    # -- mounts --
    def mount(self, options: dict | None = None, *, wait: bool = True,
              **kw: Any) -> Mount:
        """Another mount of the test's server (merged options), unmounted
        and removed at cleanup."""
        opts = dict(self.MOUNT_OPTIONS)
        opts.update(options or {})
        kw.setdefault("token", self.TOKEN)
        mnt = Mount(kw.pop("url", self.srv.url), options=opts, **kw)
        self.mounts.append(mnt)
        self.addCleanup(mnt.cleanup)
        mnt.start(wait=wait)
        return mnt

    def path(self, *parts: str) -> str:
        return self.mnt.path(*parts)

    def host(self, handle: str, *parts: str) -> str:
        return self.mnt.host(handle, *parts)

    # -- the server --
    def route_count(self, route: str) -> int:
        return self.srv.route_count(route)

    def reset_counts(self) -> None:
        self.srv.reset_stats()
        self.srv.reset_requests()

    def server_hosts(self) -> list[dict]:
        status, body = self.srv.api("GET", "/hosts")
        self.assertEqual(status, 200, body)
        return body

    def requests_for(self, route: str) -> list[dict]:
        return [r for r in self.srv.requests() if r["route"] == route]

    # -- commands and calls --
    def run_cmd(self, *args: str, timeout: float = CMD_TIMEOUT, **kw: Any) -> CmdResult:
        return run(list(args), timeout=timeout, **kw)

    def run_ok(self, *args: str, timeout: float = CMD_TIMEOUT, **kw: Any) -> CmdResult:
        res = run(list(args), timeout=timeout, **kw)
        self.assertEqual(res.returncode, 0, res)
        return res

    def sh(self, script: str, timeout: float = CMD_TIMEOUT) -> CmdResult:
        """A shell pipeline, run in the mountpoint."""
        return run(["sh", "-c", f'cd "$1" && {script}', "sh", self.mnt.mountpoint],
                   timeout=timeout)

    def call(self, fn: Callable, *args: Any, timeout: float = CMD_TIMEOUT) -> tuple[Any, int]:
        return call(fn, *args, timeout=timeout)

    def assertErrno(self, expected: int, fn: Callable, *args: Any,
                    timeout: float = CMD_TIMEOUT) -> None:
        _, err = call(fn, *args, timeout=timeout)
        self.assertEqual(errno.errorcode.get(err, err) if err else "success",
                         errno.errorcode[expected],
                         f"{getattr(fn, '__name__', fn)}{args!r}")

    def read(self, path: str, timeout: float = CMD_TIMEOUT) -> str:
        value, err = call(read_text, path, timeout=timeout)
        if err:
            raise AssertionError(f"reading {path}: {errno.errorcode.get(err)} "
                                 f"({os.strerror(err)})")
        return value

    def listdir(self, path: str, timeout: float = CMD_TIMEOUT) -> list[str]:
        value, err = call(os.listdir, path, timeout=timeout)
        if err:
            raise AssertionError(f"listing {path}: {errno.errorcode.get(err)}")
        return sorted(value)

    def wait_until(self, pred: Callable[[], Any], timeout: float,
                   interval: float = 0.05, what: str | None = None) -> Any:
        return wait_until(pred, timeout, interval, what)

    # -- common steps --
    def mkdir_host(self, name: str, mnt: Mount | None = None) -> CmdResult:
        return self.run_ok("mkdir", (mnt or self.mnt).host(name))

    def wait_active(self, name: str, mnt: Mount | None = None,
                    timeout: float = 30) -> None:
        self.assertEqual(self.read((mnt or self.mnt).host(name, "wait"),
                                   timeout=timeout), "active\n")

    def host_id_of(self, name: str, mnt: Mount | None = None) -> str:
        return self.read((mnt or self.mnt).host(name, "id")).strip()

    def assertNoToken(self, text: str, where: str) -> None:
        self.assertNotIn(self.TOKEN, text, f"the token shows in {where}")


def json_of(text: str) -> Any:
    return json.loads(text)

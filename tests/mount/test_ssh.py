"""ssh_config, known_hosts and private_key against the real OpenSSH client:
an end-to-end login to a real sshd (LocalServer(sshd=True)), a key that
survives a remount, a changed host key that fails closed, `ssh -G` over a
1000-host file, hostile service values that must never inject a directive,
known_hosts filtering, reads that never wait for the service, file modes,
and the ssh_suffix / ssh_address options.

Standard library only.  Every subprocess has a timeout.  The tests that log
in need /usr/sbin/sshd and the OpenSSH client (ssh, ssh-keygen,
ssh-keyscan); the `ssh -G` tests need ssh; each skips with the reason when
what it needs is missing.
"""

from __future__ import annotations

import errno
import os
import random
import re
import shutil
import stat
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

# run.py puts this directory on sys.path; `python3 -m unittest
# tests.mount.test_ssh` from the top of the tree does not.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import CmdResult, Mount, MountTestCase, call, read_text, run

SSHD = "/usr/sbin/sshd"
SUFFIX = ".drukbox"

# The keywords drukfs may write inside a Host block (src/fs/sshconf.c).
ALLOWED_KEYWORDS = {
    "HostName", "Port", "User", "UserKnownHostsFile", "StrictHostKeyChecking",
    "UpdateHostKeys", "CheckHostIP", "PreferredAuthentications",
    "ForwardAgent", "IdentityFile", "IdentitiesOnly",
}

# Matches one line of what drukfs may write, and nothing else.
_BLOCK_LINE = re.compile(r"^    (" + "|".join(sorted(ALLOWED_KEYWORDS)) + r") \S.*$")


def missing_tools(*, server: bool) -> list[str]:
    """What the tests need and this machine lacks (server: a real sshd)."""
    tools = ["ssh"] + (["ssh-keygen", "ssh-keyscan"] if server else [])
    missing = [t for t in tools if not shutil.which(t)]
    if server and not os.access(SSHD, os.X_OK):
        missing.insert(0, SSHD)
    return missing


def ssh_env() -> dict:
    """The environment for ssh: no agent, so a login can only have used the
    key ssh_config names."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID")}
    env["LC_ALL"] = "C"
    return env


def ssh(config: str, alias: str, *command: str, timeout: float = 30.0,
        options: tuple = ()) -> CmdResult:
    """ssh -F config -o BatchMode=yes alias command... (no agent)."""
    args = ["ssh", "-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            *options, alias, *command]
    return run(args, timeout=timeout, env=ssh_env())


def ssh_g(config: str, alias: str, timeout: float = 30.0) -> tuple[CmdResult, dict]:
    """ssh -F config -G alias: the result and its settings (the first value
    of each lower-case keyword)."""
    res = run(["ssh", "-F", config, "-G", alias], timeout=timeout, env=ssh_env())
    settings: dict = {}
    for line in res.stdout.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, value)
    return res, settings


def host_lines(text: str) -> list[list[str]]:
    """The alias lists of the file's `Host` lines, in order."""
    return [line.split()[1:] for line in text.splitlines() if line.startswith("Host ")]


def blocks_by_alias(text: str) -> dict[str, str]:
    """alias -> the whole block (its Host line and its indented lines)."""
    out: dict[str, str] = {}
    current: list[str] = []
    aliases: list[str] = []

    def flush() -> None:
        if aliases:
            block = "\n".join(current) + "\n"
            for a in aliases:
                out.setdefault(a, block)

    for line in text.splitlines():
        if line.startswith("Host "):
            flush()
            aliases = line.split()[1:]
            current = [line]
        elif line.startswith("    "):
            current.append(line)
        else:
            flush()
            aliases, current = [], []
    flush()
    return out


def expected_block(mountpoint: str, handle: str, name: str | None, hostname: str,
                   port: int, user: str, has_key: bool, suffix: str = SUFFIX) -> str:
    """The block drukfs must write for one host (README, "SSH")."""
    aliases = f"{handle}{suffix}"
    if name and name != handle:
        aliases += f" {name}{suffix}"
    base = f"{mountpoint}/hosts/{handle}"
    text = (f"Host {aliases}\n"
            f"    HostName {hostname}\n"
            f"    Port {port}\n"
            f"    User {user}\n"
            f"    UserKnownHostsFile \"{base}/known_hosts\"\n"
            "    StrictHostKeyChecking yes\n"
            "    UpdateHostKeys no\n"
            "    CheckHostIP no\n"
            "    PreferredAuthentications publickey\n"
            "    ForwardAgent no\n")
    if has_key:
        text += (f"    IdentityFile \"{base}/private_key\"\n"
                 "    IdentitiesOnly yes\n")
    return text


def write_user_config(directory: str, mountpoint: str) -> str:
    """A user's ssh config holding only the Include line from the README."""
    path = os.path.join(directory, "user_ssh_config")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"Include {mountpoint}/ssh_config\n")
    return path


def fresh_ed25519_public(directory: str) -> str:
    """The base64 blob of a freshly generated ed25519 public key."""
    path = os.path.join(directory, f"k-{uuid.uuid4().hex[:8]}")
    res = run(["ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-C", "other", "-f", path],
              timeout=30)
    if res.returncode != 0:
        raise AssertionError(f"ssh-keygen failed: {res}")
    with open(path + ".pub", encoding="ascii") as f:
        keytype, blob = f.read().split()[:2]
    assert keytype == "ssh-ed25519"
    return blob


class SshCase(MountTestCase):
    """Skips (before any server starts) when the tools are missing."""

    NEEDS_SSHD = False

    def setUp(self) -> None:
        missing = missing_tools(server=self.NEEDS_SSHD)
        if missing:
            self.skipTest("OpenSSH is not installed: missing " + ", ".join(missing))
        super().setUp()

    # -- helpers --
    def mount_at(self, dirname: str) -> Mount:
        """A mount of the test's server on <work>/<dirname> (the harness
        always uses <work>/mnt), unmounted and removed at cleanup."""
        mnt = Mount(self.srv.url, token=self.TOKEN, options=dict(self.MOUNT_OPTIONS))
        os.rmdir(mnt.mountpoint)
        mnt.mountpoint = os.path.join(mnt.work, dirname)
        os.mkdir(mnt.mountpoint)
        self.mounts.append(mnt)
        self.addCleanup(mnt.cleanup)
        mnt.start()
        return mnt

    def ssh_config(self, mnt=None) -> str:
        return self.read((mnt or self.mnt).path("ssh_config"), timeout=10)

    def user_config(self, mnt=None) -> str:
        mnt = mnt or self.mnt
        return write_user_config(mnt.work, mnt.mountpoint)

    def assertWellFormed(self, text: str) -> None:
        """Every line is a comment, blank, a Host line of allowlisted aliases,
        or four spaces and an allowed keyword; nothing else reaches ssh."""
        self.assertNotIn("\r", text)
        for c in text:
            self.assertTrue(c == "\n" or 0x20 <= ord(c) < 0x7f,
                            f"a control or non-ASCII character {c!r} in ssh_config")
        for n, line in enumerate(text.split("\n"), 1):
            if line == "" or line.startswith("#"):
                continue
            if line.startswith("Host "):
                aliases = line.split(" ")[1:]
                self.assertTrue(aliases, f"line {n}: empty Host line")
                for a in aliases:
                    self.assertRegex(a, r"^[A-Za-z0-9_][A-Za-z0-9._-]*$",
                                     f"line {n}: alias {a!r}")
                continue
            self.assertRegex(line, _BLOCK_LINE, f"line {n} is not allowed: {line!r}")

    def wait_for_text(self, pred, what: str, mnt=None, timeout: float = 10) -> str:
        """Polls ssh_config until pred(text); the text."""
        box = {}

        def ok():
            box["t"] = self.ssh_config(mnt)
            return pred(box["t"])

        try:
            self.wait_until(ok, timeout, interval=0.1, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; ssh_config is now:\n{box.get('t')}") from None
        return box["t"]


# --------------------------------------------------------------------------
# 1-3: a real login to a real sshd
# --------------------------------------------------------------------------

class SshLoginTest(SshCase):
    NEEDS_SSHD = True
    SERVER_ARGS = ("--sshd",)
    PROVISION_SECONDS = 0.2
    MOUNT_OPTIONS = {"cache_ttl": 30}

    def create(self, handle: str = "e2e", mnt=None) -> None:
        mnt = mnt or self.mnt
        self.mkdir_host(handle, mnt)
        self.assertEqual(self.read(mnt.host(handle, "wait"), timeout=30), "active\n")

    def proof_file(self) -> tuple[str, str]:
        """A local file with random content: only a command that really ran
        on the (local) sshd can print it."""
        token = uuid.uuid4().hex
        path = os.path.join(self.mnt.work, "proof")
        with open(path, "w", encoding="ascii") as f:
            f.write(token + "\n")
        return path, token

    def assertLogsIn(self, config: str, alias: str, what: str) -> None:
        path, token = self.proof_file()
        res = ssh(config, alias, "cat", path, "&&", "echo", "sum=$((6*7))")
        self.assertEqual(res.returncode, 0, f"{what}: {res}")
        self.assertEqual(res.stdout, f"{token}\nsum=42\n", f"{what}: {res}")

    def test_e2e_login_by_handle_and_by_name(self):
        self.create()
        name = self.read(self.host("e2e", "name")).strip()
        self.assertTrue(name)
        port = int(self.read(self.host("e2e", "external_ssh_port")))
        user = self.read(self.host("e2e", "ssh_username")).strip()
        text = self.ssh_config()
        self.assertWellFormed(text)
        block = expected_block(self.mnt.mountpoint, "e2e", name, "127.0.0.1", port, user,
                               has_key=True)
        self.assertIn(block, text)
        # hosts/e2e/ssh_config is that block alone.
        self.assertEqual(self.read(self.host("e2e", "ssh_config")), block)

        cfg = self.user_config()
        self.assertLogsIn(cfg, "e2e" + SUFFIX, "ssh by the handle alias")
        self.assertLogsIn(cfg, name + SUFFIX, "ssh by the name alias")
        # The per-host file works on its own too.
        self.assertLogsIn(self.host("e2e", "ssh_config"), "e2e" + SUFFIX,
                          "ssh -F hosts/e2e/ssh_config")

    def test_login_still_works_after_a_remount_with_the_same_state_dir(self):
        self.create()
        cfg = self.user_config()
        self.assertLogsIn(cfg, "e2e" + SUFFIX, "before the remount")
        key_before = self.read(self.host("e2e", "private_key"))
        state_dir = self.mnt.state_dir

        self.mnt.unmount()
        mnt2 = self.mount(state_dir=state_dir)
        st = os.stat(mnt2.host("e2e", "private_key"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.getuid())
        self.assertIn("private_key", self.listdir(mnt2.host("e2e")))
        self.assertEqual(self.read(mnt2.host("e2e", "private_key")), key_before)
        text = self.ssh_config(mnt2)
        self.assertIn(f"    IdentityFile \"{mnt2.mountpoint}/hosts/e2e/private_key\"\n", text)
        self.assertNotIn(self.mnt.mountpoint + "/", text)
        self.assertLogsIn(self.user_config(mnt2), "e2e" + SUFFIX, "after the remount")

    def test_a_changed_host_key_fails_closed(self):
        self.create()
        cfg = self.user_config()
        self.assertLogsIn(cfg, "e2e" + SUFFIX, "with the right host key")
        host_id = self.host_id_of("e2e")
        port = int(self.read(self.host("e2e", "external_ssh_port")))
        other = f"[127.0.0.1]:{port} ssh-ed25519 {fresh_ed25519_public(self.mnt.work)}\n"
        self.srv.patch_host(host_id, known_hosts=other)
        self.mnt.refresh()
        self.wait_until(lambda: self.read(self.host("e2e", "known_hosts")) == other, 10,
                        interval=0.1, what="known_hosts to serve the other key")

        marker = os.path.join(self.mnt.work, "ran")
        res = ssh(cfg, "e2e" + SUFFIX, "touch", marker)
        self.assertNotEqual(res.returncode, 0, res)
        self.assertTrue("Host key verification failed" in res.stderr or
                        "REMOTE HOST IDENTIFICATION HAS CHANGED" in res.stderr, res)
        self.assertFalse(os.path.exists(marker), "the command ran despite the wrong key")

    def test_login_from_a_mount_point_with_a_space_and_a_percent(self):
        # ssh expands %-tokens in IdentityFile and UserKnownHostsFile, and
        # a space needs the quotes: "/.../my drive%h" is written as
        # "/.../my drive%%h".
        mnt = self.mount_at("my drive%h")
        self.create(mnt=mnt)
        text = self.ssh_config(mnt)
        self.assertWellFormed(text)
        escaped = mnt.mountpoint.replace("%", "%%")
        self.assertIn(f"    UserKnownHostsFile \"{escaped}/hosts/e2e/known_hosts\"\n", text)
        self.assertIn(f"    IdentityFile \"{escaped}/hosts/e2e/private_key\"\n", text)
        cfg = os.path.join(mnt.work, "user_ssh_config")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(f"Include \"{mnt.mountpoint}/ssh_config\"\n")
        self.assertLogsIn(cfg, "e2e" + SUFFIX, "from a mount point with a space and a %")


# --------------------------------------------------------------------------
# 4: a thousand hosts
# --------------------------------------------------------------------------

class SshThousandHostsTest(SshCase):
    SEED = 1000
    MOUNT_OPTIONS = {"cache_ttl": 60}

    def test_ssh_G_over_a_1000_host_file(self):
        text = self.ssh_config()
        self.assertWellFormed(text)
        lines = host_lines(text)
        self.assertEqual(len(lines), 1000)
        self.assertEqual(len({a for aliases in lines for a in aliases}), 2000,
                         "an alias appears in two Host lines")
        cfg = self.user_config()
        records = {h["id"]: h for h in self.server_hosts()}
        picks = [self.seeded[0], self.seeded[-1], self.seeded[500],
                 lines[0][0][:-len(SUFFIX)], lines[-1][0][:-len(SUFFIX)]]
        for host_id in picks:
            rec = records[host_id]
            for alias in (host_id + SUFFIX, rec["name"] + SUFFIX):
                res, got = ssh_g(cfg, alias)
                self.assertEqual(res.returncode, 0, res)
                self.assertEqual((got.get("hostname"), got.get("port"), got.get("user")),
                                 (rec["external_ssh_host"], str(rec["external_ssh_port"]),
                                  rec["ssh_username"]), alias)
                self.assertEqual(got.get("userknownhostsfile"),
                                 f"{self.mnt.mountpoint}/hosts/{host_id}/known_hosts")
                self.assertEqual(got.get("stricthostkeychecking"), "true")



class SshConfigVersionTest(SshCase):
    SEED = 1000
    MOUNT_OPTIONS = {"cache_ttl": 1}

    def test_reads_at_any_offset_are_the_file_and_one_version(self):
        """ssh_config's blocks are rendered for the READs that cover them
        (src/fs/parts.h): a READ at any offset, with the page cache
        dropped before it, gives those bytes of the file; the inode stays
        while no host changes; and a descriptor opened before a change
        keeps reading the file as it was, whole."""
        path = self.mnt.path("ssh_config")
        text = self.ssh_config().encode()
        ino = os.stat(path).st_ino
        self.assertEqual(os.stat(path).st_size, len(text))
        fd = os.open(path, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        rnd = random.Random(1000)
        for _ in range(40):
            off = rnd.randrange(0, len(text) + 100)
            n = rnd.randrange(1, 3 * 65536)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            self.assertEqual(os.pread(fd, n, off), text[off:off + n],
                             f"{n} bytes at {off}")
        self.assertEqual(os.stat(path).st_ino, ino, "a new inode, nothing changed")

        # No refresh: the next list (cache_ttl 1) lacks the host, and the
        # lookup must see that the hosts differ.
        gone = self.seeded[500]
        self.srv.remove_host(gone)
        self.wait_for_text(lambda t: f"Host {gone}{SUFFIX} " not in t,
                           "the removed host's block to go")
        self.assertNotEqual(os.stat(path).st_ino, ino)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        self.assertEqual(os.pread(fd, len(text) + 10, 0), text,
                         "the descriptor opened before the change")


# --------------------------------------------------------------------------
# 5: hostile values
# --------------------------------------------------------------------------

class SshHostileValuesTest(SshCase):
    SEED = 64
    MOUNT_OPTIONS = {"cache_ttl": 60}

    def setUp(self) -> None:
        super().setUp()
        self.marker_dir = tempfile.mkdtemp(prefix="pwned-")
        self.addCleanup(shutil.rmtree, self.marker_dir, True)
        self.pwned_before = os.path.exists("/tmp/pwned")

    def marker(self, n: int) -> str:
        return os.path.join(self.marker_dir, f"pwned-{n}")

    def payloads(self) -> list[tuple[str, object]]:
        """(field, value) pairs; each goes to a host of its own."""
        m = self.marker
        return [
            ("external_ssh_host", f"198.51.100.9\nProxyCommand touch {m(1)}"),
            ("external_ssh_host", f"198.51.100.9\n    ProxyCommand touch {m(2)}"),
            ("external_ssh_host", f"198.51.100.9\nMatch exec \"touch {m(3)}\""),
            ("external_ssh_host",
             f"198.51.100.9\nPermitLocalCommand yes\nLocalCommand touch {m(4)}"),
            ("external_ssh_host", f"198.51.100.9\r\nProxyCommand touch {m(5)}"),
            ("external_ssh_host", f"-oProxyCommand=touch {m(6)}"),
            ("external_ssh_host", "evil\thost.example"),
            ("external_ssh_host", "\"198.51.100.9\""),
            ("external_ssh_host", "198.51.100.9'"),
            ("external_ssh_host", "%h.example.com"),
            ("external_ssh_host", "${HOME}"),
            ("external_ssh_host", "host#frag"),
            ("external_ssh_host", "two words.example"),
            ("external_ssh_host", "bell\x07.example"),
            ("external_ssh_host", "\x1b[2J"),
            ("external_ssh_host", "del\x7f.example"),
            ("external_ssh_host", "*"),
            ("external_ssh_host", "h?st.example"),
            ("ssh_username", f"sandbox\nProxyCommand touch {m(7)}"),
            ("ssh_username", f"-oProxyCommand=touch {m(8)}"),
            ("ssh_username", "sand box"),
            ("ssh_username", "ro\tot"),
            ("ssh_username", "%u"),
            ("ssh_username", "${USER}"),
            ("ssh_username", "root#x"),
            ("ssh_username", "\"root\""),
            ("ssh_username", "root\x1b"),
            ("ssh_username", "*"),
            ("ssh_username", "ro?t"),
            ("ssh_username", "a" * 33),
            ("name", f"x\nProxyCommand touch {m(9)}"),
            ("name", f"x\nMatch exec \"touch {m(10)}\""),
            ("name", "two words"),
            ("name", "tab\tname"),
            ("name", "*"),
            ("name", "n?me"),
            ("name", "!negated"),
            ("name", "%h"),
            ("name", "${HOME}"),
            ("name", "#name"),
            ("name", "\"q\""),
            ("name", "ctl\x01x"),
            ("name", "-F/tmp/x"),
            ("internal_ssh_host", f"10.0.0.1\nProxyCommand touch {m(11)}"),
            ("internal_ssh_host", "*"),
        ]

    def patch_hostile(self, payloads) -> dict[str, tuple[str, object]]:
        """Patches one seeded host per payload (after a first read, so drukfs
        replaces blocks it served), drops caches and waits until none of the
        patched hosts has a block.  {host id: (field, value)}."""
        self.assertGreater(len(self.seeded), len(payloads) + 3)
        first = self.ssh_config()
        self.assertEqual(len(host_lines(first)), self.SEED)
        hostile = {}
        for host_id, (field, value) in zip(self.seeded, payloads):
            self.srv.patch_host(host_id, **{field: value})
            hostile[host_id] = (field, value)
        self.mnt.refresh()
        self.wait_for_text(lambda t: not any(h in t for h in hostile),
                           "the hostile hosts' blocks to go")
        return hostile

    def check_hostile(self, hostile: dict, *, malformed: bool = False) -> None:
        """First that nothing was injected (the file's shape, the other
        hosts' blocks, ssh -G, real connection attempts, the markers), then
        that every hostile host was left out and logged.

        malformed: the values break the record itself (a port that is not
        an integer in 1-65535, a NUL inside a string), so the client leaves
        the whole record out: the host is not listed, reading its files
        fails with EPROTO, and the log names it as a malformed record."""
        text = self.ssh_config()
        self.assertWellFormed(text)

        # Every other host's block is intact.
        records = {h["id"]: h for h in self.server_hosts()}
        blocks = blocks_by_alias(text)
        controls = [h for h in self.seeded if h not in hostile]
        for host_id in controls:
            rec = records[host_id]
            want = expected_block(self.mnt.mountpoint, host_id, rec["name"],
                                  rec["external_ssh_host"], rec["external_ssh_port"],
                                  rec["ssh_username"], has_key=False)
            self.assertEqual(blocks.get(host_id + SUFFIX), want)
        cfg = self.user_config()
        res, got = ssh_g(cfg, controls[0] + SUFFIX)
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(got.get("hostname"), records[controls[0]]["external_ssh_host"])

        # ssh -G over the file (it evaluates Match exec) exits 0 for every
        # hostile alias; real connection attempts (ConnectTimeout=2) fail
        # without running anything.
        g_results = {h: ssh_g(cfg, h + SUFFIX) for h in hostile}
        for host_id, (res, _) in g_results.items():
            self.assertEqual(res.returncode, 0, res)

        def attempt(host_id: str) -> CmdResult:
            return ssh(cfg, host_id + SUFFIX, "true", timeout=30,
                       options=("-o", "ConnectTimeout=2"))

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(attempt, hostile))
        for res in results:
            self.assertNotEqual(res.returncode, 0, res)
        self.assertEqual(os.listdir(self.marker_dir), [], "an injected command ran")
        if not self.pwned_before:
            self.assertFalse(os.path.exists("/tmp/pwned"), "an injected command ran")

        # Every hostile host is left out: no block (ssh -G finds none), an
        # empty hosts/<id>/ssh_config, and a log line naming it.
        for host_id, (field, value) in hostile.items():
            self.assertFalse(host_id in text, f"{field}={value!r} was not left out:\n" +
                             blocks_by_alias(text).get(host_id + SUFFIX, ""))
            self.assertEqual(g_results[host_id][1].get("hostname"), host_id + SUFFIX,
                             f"{field}={value!r}: ssh -G found a block")
            content, err = call(read_text, self.host(host_id, "ssh_config"), timeout=10)
            if malformed:
                self.assertEqual(err, errno.EPROTO, f"{field}={value!r}")
                self.assertNotIn(host_id, os.listdir(os.path.join(self.mnt.mountpoint, "hosts")))
            else:
                self.assertEqual((content, err), ("", 0), f"{field}={value!r}")
        self.assertEqual(len(host_lines(text)), len(controls))
        log = self.mnt.log()
        for host_id, (field, value) in hostile.items():
            kind = "list" if malformed else "ssh_config"
            self.assertRegex(log, rf"{kind}: left out {re.escape(host_id)}: \S",
                             f"the log does not name the host with {field}={value!r}")

    def test_hostile_strings_never_inject(self):
        hostile = self.patch_hostile(self.payloads())
        self.check_hostile(hostile)

    def test_hostile_ports_never_inject(self):
        # Out-of-range or mistyped ports make the record malformed: the
        # client leaves the host out altogether, and the log names it.
        payloads = [("external_ssh_port", 0), ("external_ssh_port", 70000),
                    ("external_ssh_port", "22"), ("external_ssh_port", -22),
                    ("external_ssh_port", f"22\nProxyCommand touch {self.marker(12)}")]
        hostile = self.patch_hostile(payloads)
        self.check_hostile(hostile, malformed=True)

    def test_a_nul_byte_does_not_shorten_a_value_into_a_valid_one(self):
        # "198.51.100.9<NUL>ProxyCommand ..." is not an IP address or a DNS
        # name; cut at the NUL it would look like one.
        payloads = [("external_ssh_host", f"198.51.100.9\x00ProxyCommand touch {self.marker(13)}"),
                    ("ssh_username", "sandbox\x00x"),
                    ("name", "nul\x00name")]
        hostile = {}
        for host_id, (field, value) in zip(self.seeded, payloads):
            self.srv.patch_host(host_id, **{field: value})
            hostile[host_id] = (field, value)
        self.mnt.refresh()
        # Wait for the refresh to land (another host's patch shows up) ...
        sentinel = self.seeded[-1]
        self.srv.patch_host(sentinel, external_ssh_host="203.0.113.77")
        self.mnt.refresh()
        self.wait_for_text(lambda t: "HostName 203.0.113.77" in t, "the refresh")
        self.check_hostile(hostile, malformed=True)

    def assertNoCapture(self, text: str, alias: str, want_host: str,
                        own_key: str | None = None) -> None:
        """`ssh -G alias` over the file reaches want_host, offers no key but
        the alias's own, and no alias is claimed by two Host lines."""
        res, got = ssh_g(self.user_config(), alias)
        self.assertEqual(res.returncode, 0, res)
        related = "\n".join(" ".join(a) for a in host_lines(text) if alias in a)
        self.assertEqual(got.get("hostname"), want_host,
                         f"{alias} reaches another host; the Host lines naming it:\n{related}")
        keys = [line.split(" ", 1)[1] for line in res.stdout.splitlines()
                if line.startswith("identityfile ") and "/hosts/" in line]
        self.assertEqual(keys, [own_key] if own_key else [])
        aliases = [a for line in host_lines(text) for a in line]
        dupes = sorted({a for a in aliases if aliases.count(a) > 1})
        self.assertEqual(dupes, [], "an alias is claimed by two Host lines")

    def test_a_name_cannot_capture_another_hosts_handle(self):
        # The service names host A after host B's id (B's handle), and A's
        # block comes first: `ssh B.drukbox` must still reach B.
        text = self.ssh_config()
        order = [aliases[0][:-len(SUFFIX)] for aliases in host_lines(text)]
        first, last = order[0], order[-1]
        self.srv.patch_host(first, name=last, external_ssh_host="203.0.113.66")
        self.srv.patch_host(last, external_ssh_host="203.0.113.99")
        self.mnt.refresh()
        text = self.wait_for_text(lambda t: "203.0.113.66" in t or first not in t,
                                  "the patched names")
        self.assertWellFormed(text)
        self.assertNoCapture(text, last + SUFFIX, "203.0.113.99")

    def test_a_name_cannot_capture_a_local_name(self):
        # mkdir web, then the service lists a newer host it calls "web":
        # `ssh web.drukbox` must reach our host, and our private key must not
        # be offered to the other one.
        self.mkdir_host("web")
        self.wait_active("web")
        address = self.read(self.host("web", "external_ssh_host")).strip()
        (other,) = self.srv.seed(1, name="web", external_ssh_host="203.0.113.66")
        self.mnt.refresh()
        text = self.wait_for_text(lambda t: "HostName 203.0.113.66" in t or
                                  (other in self.listdir(self.path("hosts")) and other not in t),
                                  "the new host")
        self.assertWellFormed(text)
        self.assertNoCapture(text, "web" + SUFFIX, address,
                             own_key=f"{self.mnt.mountpoint}/hosts/web/private_key")

# --------------------------------------------------------------------------
# 6: known_hosts
# --------------------------------------------------------------------------

class SshKnownHostsTest(SshCase):
    SEED = 2
    MOUNT_OPTIONS = {"cache_ttl": 60}

    def test_known_hosts_serves_only_plain_lines(self):
        host_id = self.seeded[0]
        key = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        good = f"198.51.100.1 ssh-ed25519 {key}"
        raw = "\n".join([
            f"@cert-authority * ssh-ed25519 {key}",
            f"@revoked 198.51.100.1 ssh-ed25519 {key}",
            f"|1|JfKTdBh7rNbXkVAQCRp4OQoPfmI=|USECr3SWf1JUPsms5AqfD5QfxkM= ssh-ed25519 {key}",
            "# a comment",
            "junk",
            "",
            f"* ssh-ed25519 {key}",
            f"!198.51.100.1 ssh-ed25519 {key}",
            f"198.51.100.1 ssh-ed25519 {key} trailing comment",
            f"198.51.100.1 ssh-unknown {key}",
            f"198.51.100.1 ssh-ed25519 not*base64",
            f"198.51.100.1,*.example ssh-ed25519 {key}",
            f"[198.51.100.1]:0 ssh-ed25519 {key}",
            good,
            "   ",
        ]) + "\n"
        self.read(self.host(host_id, "known_hosts"))  # cached before the patch
        self.srv.patch_host(host_id, known_hosts=raw)
        self.mnt.refresh()
        self.wait_until(lambda: "junk" in self.read(self.host(host_id, "host.json")), 10,
                        interval=0.1, what="the patched record")
        self.assertEqual(self.read(self.host(host_id, "known_hosts")), good + "\n")
        # The host keeps its block.
        self.assertIn(f"Host {host_id}{SUFFIX} ", self.ssh_config())


# --------------------------------------------------------------------------
# 7-8: never blocks; modes
# --------------------------------------------------------------------------

class SshNeverBlocksTest(SshCase):
    # timeout bounds the background refresh that the hang holds up, so the
    # unmount at cleanup does not wait for the 30 s hang.
    MOUNT_OPTIONS = {"cache_ttl": 1, "timeout": 3}

    def timed_read(self, path: str) -> tuple[float, object, int]:
        start = time.monotonic()
        value, err = call(read_text, path, timeout=10)
        return time.monotonic() - start, value, err

    def timed_stat(self, path: str) -> tuple[float, int]:
        start = time.monotonic()
        _, err = call(os.stat, path, timeout=10)
        return time.monotonic() - start, err

    def test_ssh_files_never_wait_for_a_hanging_service(self):
        self.mkdir_host("e2e")
        self.wait_active("e2e")
        config = self.ssh_config()
        self.assertIn("Host e2e" + SUFFIX, config)
        known = self.read(self.host("e2e", "known_hosts"))
        self.assertTrue(known)
        self.assertErrno(errno.ENOENT, os.stat, self.host("e2e", "private_key.pub"))

        self.addCleanup(self.srv.clear_faults)
        self.srv.fault("GET /hosts", "hang", latency_ms=30000, count=-1)
        self.srv.fault("GET /hosts/{id}", "hang", latency_ms=30000, count=-1)
        listed = self.route_count("GET /hosts")
        time.sleep(1.5)  # past cache_ttl and the kernel's entry/attr timeouts

        # 0.5 s is generous: a cached answer takes milliseconds (cat's own
        # fork+exec included); anything waiting on the hung service would
        # take the 3 s request timeout or the 30 s hang.  The bound leaves
        # room for a loaded 2-core machine.
        timings = {}
        start = time.monotonic()
        res = run(["cat", self.path("ssh_config")], timeout=10)
        timings["cat ssh_config"] = time.monotonic() - start
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(res.stdout, config)
        start = time.monotonic()
        res = run(["cat", self.host("e2e", "known_hosts")], timeout=10)
        timings["cat known_hosts"] = time.monotonic() - start
        self.assertEqual((res.returncode, res.stdout), (0, known), res)
        for name in ("private_key.pub", "private_key-cert.pub"):
            elapsed, err = self.timed_stat(self.host("e2e", name))
            timings[f"stat {name}"] = elapsed
            self.assertEqual(errno.errorcode.get(err, err), "ENOENT", name)
        elapsed, value, err = self.timed_read(self.host("e2e", "private_key"))
        timings["read private_key"] = elapsed
        self.assertEqual(err, 0)
        self.assertIn("PRIVATE KEY", value)
        for what, elapsed in timings.items():
            self.assertLess(elapsed, 0.5, f"{what} took {elapsed:.2f}s: {timings}")
        # ... and the stale answers started a refresh in the background.
        self.wait_until(lambda: self.route_count("GET /hosts") > listed, 5,
                        what="a background GET /hosts")
        self.srv.clear_faults()


class SshModesTest(SshCase):
    MOUNT_OPTIONS = {"cache_ttl": 30}

    def test_modes_and_owner(self):
        self.mkdir_host("e2e")
        self.wait_active("e2e")
        want = {
            self.path("ssh_config"): 0o444,
            self.host("e2e", "ssh_config"): 0o444,
            self.host("e2e", "known_hosts"): 0o444,
            self.host("e2e", "private_key"): 0o600,
        }
        for path, mode in want.items():
            st, err = call(os.stat, path, timeout=10)
            self.assertEqual(err, 0, path)
            self.assertTrue(stat.S_ISREG(st.st_mode), path)
            self.assertEqual(oct(stat.S_IMODE(st.st_mode)), oct(mode), path)
            self.assertFalse(st.st_mode & (stat.S_IWGRP | stat.S_IWOTH), path)
            self.assertEqual((st.st_uid, st.st_gid), (os.getuid(), os.getgid()), path)
        self.assertIn(f"IdentityFile \"{self.host('e2e', 'private_key')}\"", self.ssh_config())


class SshUnsafeMountPointTest(SshCase):
    SEED = 2
    AUTO_MOUNT = False

    def test_a_mount_point_ssh_cannot_read_leaves_every_host_out(self):
        # '$' would be expanded by ssh (${VAR}) and '"' would end the quoted
        # path: no block can be written, and the log says why.
        mnt = self.mount_at("mnt$HOME")
        self.assertEqual(sorted(self.listdir(mnt.path("hosts"))), sorted(self.seeded))
        text = self.ssh_config(mnt)
        self.assertWellFormed(text)
        self.assertEqual(host_lines(text), [])
        self.assertNotIn("$", text)
        log = mnt.log()
        for host_id in self.seeded:
            self.assertIn(f"ssh_config: left out {host_id}: the mount point", log)
            self.assertEqual(self.read(mnt.host(host_id, "ssh_config")), "")


# --------------------------------------------------------------------------
# 9: ssh_suffix and ssh_address
# --------------------------------------------------------------------------

class SshOptionsTest(SshCase):
    SEED = 2
    MOUNT_OPTIONS = {"cache_ttl": 30}

    def prepare(self) -> None:
        # Host A has an internal (tailnet) name; host B does not.
        self.a, self.b = self.seeded
        self.srv.patch_host(self.a, external_ssh_host="203.0.113.7", external_ssh_port=2222,
                            internal_ssh_host="a-box.tailnet.example")
        self.srv.patch_host(self.b, external_ssh_host="203.0.113.8", external_ssh_port=2200)

    def resolve(self, mnt, alias: str) -> tuple:
        res, got = ssh_g(write_user_config(mnt.work, mnt.mountpoint), alias)
        self.assertEqual(res.returncode, 0, res)
        return got.get("hostname"), got.get("port")

    def test_ssh_suffix_changes_the_aliases(self):
        names = {h["id"]: h["name"] for h in self.server_hosts()}
        mnt = self.mount({"ssh_suffix": ".sb", "ssh_address": "external"})
        text = self.ssh_config(mnt)
        self.assertWellFormed(text)
        self.assertEqual(sorted(map(tuple, host_lines(text))),
                         sorted((f"{h}.sb", f"{names[h]}.sb") for h in self.seeded))
        self.assertNotIn(SUFFIX, text)
        self.assertEqual(self.resolve(mnt, f"{self.a}.sb"), ("203.0.113.7", "2222"))
        self.assertEqual(self.resolve(mnt, f"{names[self.b]}.sb"), ("203.0.113.8", "2200"))
        # The default suffix no longer matches anything.
        self.assertEqual(self.resolve(mnt, f"{self.a}{SUFFIX}")[0], f"{self.a}{SUFFIX}")

        # An empty suffix is refused: a host the service names github.com
        # would capture `ssh github.com`.
        for bad in ("", "sb", ".", ".s*b", "..sb"):
            with self.assertRaises(AssertionError, msg=f"ssh_suffix={bad!r} was accepted"):
                self.mount({"ssh_suffix": bad})

    def test_ssh_address_external_internal_and_auto(self):
        auto = self.mnt  # the default, ssh_address=auto
        self.assertEqual(self.resolve(auto, self.a + SUFFIX), ("a-box.tailnet.example", "22"))
        self.assertEqual(self.resolve(auto, self.b + SUFFIX), ("203.0.113.8", "2200"))
        self.assertIn("    HostName a-box.tailnet.example\n    Port 22\n", self.ssh_config(auto))

        ext = self.mount({"ssh_address": "external"})
        self.assertEqual(self.resolve(ext, self.a + SUFFIX), ("203.0.113.7", "2222"))
        self.assertEqual(self.resolve(ext, self.b + SUFFIX), ("203.0.113.8", "2200"))
        self.assertNotIn("tailnet", self.ssh_config(ext))

        internal = self.mount({"ssh_address": "internal"})
        text = self.ssh_config(internal)
        self.assertEqual([a[0] for a in host_lines(text)], [self.a + SUFFIX])
        self.assertEqual(self.resolve(internal, self.a + SUFFIX), ("a-box.tailnet.example", "22"))

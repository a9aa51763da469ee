#!/usr/bin/env python3
"""What `meson install` delivers, checked in a temporary DESTDIR, and the
systemd files of contrib/systemd checked by systemd's own tools.

  (a) `meson install --destdir TMP` of the build tree succeeds and installs
      bin/drukfs, lib*/libdrukbox.so*, include/drukbox/drukbox.h,
      lib*/pkgconfig/libdrukbox.pc and share/man/man1/drukfs.1 under the
      prefix -- everything `meson introspect --installed` promises; the
      header and the man page are the sources' copies; the installed binary
      carries no run path into the build tree, runs (--version) against the
      installed library, and the library exports only drukbox_* symbols.
  (b) pkg-config finds libdrukbox in the DESTDIR (PKG_CONFIG_PATH, with the
      prefix redefined, and with PKG_CONFIG_SYSROOT_DIR), reports the
      project's version, and a tiny C program built with
      `pkg-config --cflags --libs libdrukbox` (strict C99, -Werror) links
      against the installed library and runs drukbox_err_name(1).
  (c) contrib/systemd/drukfs.service and drukfs@.service pass
      `systemd-analyze verify` (system and --user), with ExecStart pointed
      at the installed drukfs and MANPATH at the installed man page, and
      keep the settings that matter (Type=notify, -f, no NoNewPrivileges,
      no mount namespace, ...).
  (d) contrib/systemd/README.md's fstab line goes through
      systemd-fstab-generator into a .mount and an .automount unit that
      systemd-analyze verify accepts.

Environment: BUILD_ROOT (the meson build directory; meson sets it),
SOURCE_ROOT (default: two levels up), MESON (default: meson in PATH).
Python 3 standard library only.  The last line printed is
"N passed, N failed" (", N skipped" when checks were skipped); the exit
status is non-zero on any failure.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("BUILD_ROOT", "")
MESON = os.environ.get("MESON") or shutil.which("meson") or "meson"
UNIT_DIR = os.path.join(ROOT, "contrib", "systemd")
USER_UNIT = os.path.join(UNIT_DIR, "drukfs@.service")
SYSTEM_UNIT = os.path.join(UNIT_DIR, "drukfs.service")
UNIT_README = os.path.join(UNIT_DIR, "README.md")
FSTAB_GENERATOR = "/lib/systemd/system-generators/systemd-fstab-generator"

TEST_PROGRAM = r"""
#include <drukbox/drukbox.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	const char *name = drukbox_err_name(DRUKBOX_EAUTH);

	printf("%s\n%s\n", name ? name : "(null)", DRUKBOX_VERSION);
	return name && strcmp(name, "auth") == 0 && DRUKBOX_EAUTH == 1 ? 0 : 1;
}
"""

passed = 0
failed = 0
skipped = 0


def check(ok, what, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok      " + what)
    else:
        failed += 1
        print("FAIL    " + what + (": " + why if why else ""))
    sys.stdout.flush()
    return ok


def skip(what, why):
    global skipped
    skipped += 1
    print("SKIP    " + what + ": " + why)


def run(args, env=None, cwd=None, timeout=300):
    """(returncode, stdout, stderr); returncode -1 when it could not run."""
    try:
        p = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL,
                           errors="replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, "", str(e)
    return p.returncode, p.stdout, p.stderr


def tail(text, lines=15):
    return "\n" + "\n".join(text.strip().splitlines()[-lines:]) if text.strip() else ""


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


# ---- the build's configuration ----------------------------------------------

def introspect(what):
    rc, out, err = run([MESON, "introspect", BUILD, "--" + what])
    if rc != 0:
        raise RuntimeError(f"meson introspect --{what}: {err.strip()}")
    return json.loads(out)


def build_config():
    opts = {o["name"]: o["value"] for o in introspect("buildoptions")}
    cfg = {
        "version": introspect("projectinfo")["version"],
        "prefix": opts["prefix"],
        "bindir": opts["bindir"],
        "libdir": opts["libdir"],
        "includedir": opts["includedir"],
        "mandir": opts["mandir"],
        "sanitize": opts.get("b_sanitize", "none"),
        "installed": introspect("installed"),
        "cc": ["cc"],
    }
    # The compiler the library was built with (clang for a clang build).
    for target in introspect("targets"):
        if target.get("name") == "drukbox" and target.get("type") == "shared library":
            for source in target.get("target_sources", []):
                if source.get("language") == "c" and source.get("compiler"):
                    cfg["cc"] = source["compiler"]
    return cfg


def under(destdir, path, cfg):
    """DESTDIR + an absolute path, or + prefix + a prefix-relative path."""
    if not os.path.isabs(path):
        path = os.path.join(cfg["prefix"], path)
    return destdir + path


# ---- (a) meson install ------------------------------------------------------

def test_install(destdir, cfg):
    rc, out, err = run([MESON, "install", "-C", BUILD, "--no-rebuild",
                        "--destdir", destdir])
    if not check(rc == 0, "meson install --destdir", f"exit {rc}" + tail(out + err)):
        return False
    root = destdir + cfg["prefix"]

    drukfs = os.path.join(root, cfg["bindir"], "drukfs")
    check(os.path.isfile(drukfs) and os.access(drukfs, os.X_OK),
          "installs bin/drukfs (executable)", drukfs)
    check(glob.glob(os.path.join(root, "bin", "drukfs")) == [drukfs],
          "bin/drukfs is at PREFIX/bin/drukfs")
    libs = sorted(glob.glob(os.path.join(root, "lib*", "**", "libdrukbox.so*"),
                            recursive=True))
    names = [os.path.basename(p) for p in libs]
    check("libdrukbox.so" in names and any(re.fullmatch(r"libdrukbox\.so\.\d+", n)
                                           for n in names),
          "installs lib*/libdrukbox.so and libdrukbox.so.N", repr(libs))
    real = [p for p in libs if os.path.isfile(p) and not os.path.islink(p)]
    check(len(real) == 1 and all(os.path.realpath(p) == os.path.realpath(real[0])
                                 for p in libs),
          "the libdrukbox.so* symlinks lead to one installed file", repr(libs))
    header = os.path.join(root, cfg["includedir"], "drukbox", "drukbox.h")
    check(glob.glob(os.path.join(root, "include", "drukbox", "drukbox.h")) == [header]
          and read(header, "rb") == read(os.path.join(ROOT, "include", "drukbox",
                                                      "drukbox.h"), "rb"),
          "installs include/drukbox/drukbox.h (the source's copy)")
    pcs = glob.glob(os.path.join(root, "lib*", "**", "pkgconfig", "libdrukbox.pc"),
                    recursive=True)
    check(len(pcs) == 1, "installs lib*/pkgconfig/libdrukbox.pc", repr(pcs))
    man = os.path.join(root, cfg["mandir"], "man1", "drukfs.1")
    check(glob.glob(os.path.join(root, "share", "man", "man1", "drukfs.1")) == [man]
          and read(man, "rb") == read(os.path.join(ROOT, "docs", "drukfs.1"), "rb"),
          "installs share/man/man1/drukfs.1 (the source's copy)")

    missing = [dest for dest in cfg["installed"].values()
               if not os.path.lexists(under(destdir, dest, cfg))]
    check(not missing, "every file meson introspect --installed lists is installed",
          repr(missing))

    libdir = os.path.join(root, cfg["libdir"])
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    rc, out, err = run([drukfs, "--version"], env=env)
    check(rc == 0 and f"drukfs {cfg['version']} (libdrukbox {cfg['version']})"
          in out.splitlines(),
          "the installed drukfs runs with the installed library (--version)",
          f"exit {rc}" + tail(out + err))
    rc, out, err = run([drukfs, "--help"], env=env)
    check(rc == 0 and "token_file" in out, "the installed drukfs --help exits 0",
          f"exit {rc}" + tail(out + err))

    if shutil.which("readelf"):
        rc, out, err = run(["readelf", "-d", drukfs])
        paths = re.findall(r"\((?:RPATH|RUNPATH)\).*\[(.*)\]", out)
        check(rc == 0 and not any(os.path.realpath(BUILD) in p or "$ORIGIN" in p
                                  for p in paths),
              "the installed drukfs has no run path into the build tree", repr(paths))
    else:
        skip("run path of the installed drukfs", "readelf (binutils) not installed")

    if shutil.which("nm"):
        rc, out, err = run(["nm", "-D", "--defined-only", real[0]] if real else ["false"])
        exported = [line.split()[-1] for line in out.splitlines() if line.split()]
        foreign = [s for s in exported if not s.startswith(("drukbox_", "_"))]
        check(rc == 0 and exported and not foreign,
              "libdrukbox exports only drukbox_* symbols", repr(foreign[:10]))
    else:
        skip("libdrukbox's exported symbols", "nm (binutils) not installed")
    return True


# ---- (b) pkg-config and a program built against the install ------------------

def test_pkgconfig(destdir, cfg, work):
    if not shutil.which("pkg-config"):
        skip("pkg-config checks", "pkg-config not installed")
        return
    root = destdir + cfg["prefix"]
    pcdir = os.path.dirname(glob.glob(os.path.join(root, "lib*", "**", "pkgconfig",
                                                   "libdrukbox.pc"), recursive=True)[0])
    libdir = os.path.join(root, cfg["libdir"])
    incdir = os.path.join(root, cfg["includedir"])
    base = dict(os.environ, PKG_CONFIG_PATH=pcdir)
    base.pop("PKG_CONFIG_SYSROOT_DIR", None)
    base.pop("PKG_CONFIG_LIBDIR", None)

    rc, out, err = run(["pkg-config", "--modversion", "libdrukbox"], env=base)
    check(rc == 0 and out.strip() == cfg["version"],
          f"pkg-config --modversion libdrukbox is {cfg['version']}",
          f"exit {rc}: {out.strip()} {err.strip()}")

    source = os.path.join(work, "use_drukbox.c")
    with open(source, "w", encoding="utf-8") as f:
        f.write(TEST_PROGRAM)
    sanitize = ([f"-fsanitize={cfg['sanitize']}"]
                if cfg["sanitize"] not in ("", "none") else [])
    ways = {
        "prefix redefined": (base, ["--define-variable=prefix=" + root]),
        "PKG_CONFIG_SYSROOT_DIR": (dict(base, PKG_CONFIG_SYSROOT_DIR=destdir), []),
    }
    for way, (env, extra) in ways.items():
        rc, out, err = run(["pkg-config"] + extra + ["--cflags", "--libs", "libdrukbox"],
                           env=env)
        flags = out.split()
        if not check(rc == 0 and f"-I{incdir}" in flags and f"-L{libdir}" in flags
                     and "-ldrukbox" in flags,
                     f"pkg-config --cflags --libs points into the DESTDIR ({way})",
                     f"exit {rc}: {out.strip()} {err.strip()}"):
            continue
        exe = os.path.join(work, "use_drukbox-" + re.sub(r"\W+", "_", way))
        cmd = (cfg["cc"] + ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
               + sanitize + [source, "-o", exe] + flags)
        rc, out, err = run(cmd)
        if not check(rc == 0, f"a C program builds against the install ({way})",
                     " ".join(cmd) + tail(out + err)):
            continue
        run_env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        rc, out, err = run([exe], env=run_env)
        check(rc == 0 and out == f"auth\n{cfg['version']}\n",
              f"it runs drukbox_err_name(1) -> \"auth\" ({way})",
              f"exit {rc}: {out!r}" + tail(err))
        if shutil.which("ldd"):
            rc, out, err = run(["ldd", exe], env=run_env)
            m = re.search(r"libdrukbox\.so\.\S+ => (\S+)", out)
            check(m is not None and os.path.realpath(m.group(1)).startswith(
                      os.path.realpath(destdir) + os.sep),
                  f"it loads the installed libdrukbox ({way})", out.strip())


# ---- (c) the unit files -------------------------------------------------------

def unit_settings(path):
    """[(section, key, value)] of a unit file."""
    out, section = [], ""
    for line in read(path).splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(settings, key, section="Service"):
    return [v for s, k, v in settings if s == section and k == key]


# Give the service a mount namespace: its FUSE mount would be invisible.
NAMESPACE_KEYS = ("ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
                  "PrivateMounts", "PrivateUsers", "ProtectKernelTunables",
                  "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
                  "ProtectProc", "ProcSubset", "ReadOnlyPaths", "ReadWritePaths",
                  "InaccessiblePaths", "TemporaryFileSystem", "BindPaths",
                  "BindReadOnlyPaths", "RootDirectory", "RootImage", "MountFlags",
                  "DynamicUser", "ProtectClock", "DeviceAllow", "DevicePolicy")
# Imply NoNewPrivileges=yes in a user unit (systemd.exec(5)).
NNP_KEYS = ("NoNewPrivileges", "SystemCallFilter", "SystemCallArchitectures",
            "SystemCallLog", "RestrictAddressFamilies", "RestrictNamespaces",
            "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
            "MemoryDenyWriteExecute", "ProtectHostname", "CapabilityBoundingSet")


def lint_unit(path, user):
    name = os.path.basename(path)
    s = unit_settings(path)
    check(values(s, "Type") == ["notify"], f"{name}: Type=notify")
    starts = values(s, "ExecStart")
    argv = starts[0].split() if len(starts) == 1 else []
    check(argv[:2] == ["/usr/local/bin/drukfs", "-f"],
          f"{name}: ExecStart=/usr/local/bin/drukfs -f ...", repr(starts))
    check(not any("token=" in a.replace("token_file=", "") for a in argv),
          f"{name}: no token on the command line")
    check(any("token_file=" in a for a in argv), f"{name}: -o token_file=")
    check(values(s, "Restart") == ["on-failure"] and values(s, "RestartSec") == ["5"],
          f"{name}: Restart=on-failure, RestartSec=5")
    check("network-online.target" in " ".join(values(s, "After", "Unit")),
          f"{name}: After=network-online.target")
    stops = values(s, "ExecStop")
    fusermount = os.path.realpath(shutil.which("fusermount3") or "/bin/fusermount3")
    ok = (len(stops) == 1 and stops[0].lstrip("-").split()[:2] == ["/bin/fusermount3", "-u"]
          and os.path.realpath("/bin/fusermount3") == fusermount)
    check(ok, f"{name}: ExecStop=/bin/fusermount3 -u (where fuse3 installs it: "
              f"{fusermount})", repr(stops))
    check(any(v.lstrip("-").startswith("/bin/fusermount3 -uz") for v in
              values(s, "ExecStopPost")),
          f"{name}: ExecStopPost detaches a dead mount")
    bad = [k for _, k, v in s if k in NAMESPACE_KEYS]
    check(not bad, f"{name}: nothing that makes a mount namespace", repr(bad))
    nnp = [k for _, k, v in s if k == "NoNewPrivileges" and v.lower() in
           ("yes", "true", "1", "on")]
    check(not nnp, f"{name}: NoNewPrivileges is not set (setuid fusermount3)")
    if user:
        implied = [k for _, k, v in s if k in NNP_KEYS]
        check(not implied, f"{name}: no option that implies NoNewPrivileges in a "
                           "user unit", repr(implied))
        check(values(s, "EnvironmentFile") == ["%h/.config/drukfs/%i.env"],
              f"{name}: EnvironmentFile=%h/.config/drukfs/%i.env")
        check("%h/drukbox/%i" in argv and
              any("mkdir -p %h/drukbox/%i" in v for v in values(s, "ExecStartPre")),
              f"{name}: mounts on %h/drukbox/%i, made by ExecStartPre")
        check(values(s, "WantedBy", "Install") == ["default.target"],
              f"{name}: WantedBy=default.target")
    else:
        check(values(s, "EnvironmentFile") == ["/etc/drukfs/drukfs.env"],
              f"{name}: EnvironmentFile=/etc/drukfs/drukfs.env")
        opts = ",".join(a for a in argv if "=" in a or a == "allow_other")
        check("/mnt/drukbox" in argv and "token_file=/etc/drukfs/token" in opts
              and "allow_other" in opts.split(","),
              f"{name}: /mnt/drukbox, token_file=/etc/drukfs/token, allow_other",
              repr(argv))
        check(values(s, "WantedBy", "Install") == ["multi-user.target"],
              f"{name}: WantedBy=multi-user.target")


def verify(unit_paths, user, destdir, cfg, work, what):
    """systemd-analyze verify; passes only with exit 0 and no message about
    the units themselves (unknown keys and bad values are only warnings)."""
    env = dict(os.environ, MANPATH=os.path.join(destdir + cfg["prefix"], cfg["mandir"]))
    args = ["systemd-analyze"]
    if user:
        runtime = os.path.join(work, "runtime")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = runtime
        args.append("--user")
    rc, out, err = run(args + ["verify"] + unit_paths, env=env, cwd=work)
    names = [os.path.basename(p) for p in unit_paths]
    mine = [line for line in (out + err).splitlines()
            if any(n in line or n.replace("@.", "@i.") in line for n in names)
            or any(p in line for p in unit_paths)]
    check(rc == 0 and not mine, f"systemd-analyze {'--user ' if user else ''}verify "
                                f"{what}", f"exit {rc}" + tail(out + err))


def test_units(destdir, cfg, work):
    lint_unit(SYSTEM_UNIT, user=False)
    lint_unit(USER_UNIT, user=True)
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze verify", "systemd-analyze not installed (Debian "
             "package systemd; it runs without systemd as PID 1)")
        return
    rc, out, err = run(["systemd-analyze", "--version"])
    if rc != 0:
        skip("systemd-analyze verify", "systemd-analyze does not run: " + err.strip())
        return
    installed = os.path.join(destdir + cfg["prefix"], cfg["bindir"], "drukfs")
    udir = os.path.join(work, "units")
    os.makedirs(udir, exist_ok=True)
    # verify insists that ExecStart's program exists: use the installed one.
    copies = {}
    for src, dst in ((SYSTEM_UNIT, "drukfs.service"),
                     (USER_UNIT, "drukfs@.service"),
                     (USER_UNIT, "drukfs@work.service")):
        text = read(src).replace("/usr/local/bin/drukfs", installed)
        copies[dst] = os.path.join(udir, dst)
        with open(copies[dst], "w", encoding="utf-8") as f:
            f.write(text)
    verify([copies["drukfs.service"]], False, destdir, cfg, work, "drukfs.service")
    verify([copies["drukfs@.service"]], True, destdir, cfg, work, "drukfs@.service")
    verify([copies["drukfs@work.service"]], True, destdir, cfg, work,
           "drukfs@work.service (an instance)")

    # The checks catch what they should: a broken copy must fail verify.
    broken = os.path.join(udir, "broken.service")
    with open(broken, "w", encoding="utf-8") as f:
        f.write(read(copies["drukfs.service"]).replace(
            "Restart=on-failure", "Restart=sometimes"))
    env = dict(os.environ, MANPATH=os.path.join(destdir + cfg["prefix"], cfg["mandir"]))
    rc, out, err = run(["systemd-analyze", "verify", broken], env=env, cwd=work)
    check("broken.service" in out + err,
          "systemd-analyze verify reports a bad value (the check is not blind)",
          tail(out + err))


# ---- (d) the fstab line ------------------------------------------------------------

def test_fstab(destdir, cfg, work):
    lines = [line.strip() for line in read(UNIT_README).splitlines()
             if len(line.split()) == 6 and line.split()[2] == "fuse.drukfs"]
    if not check(len(lines) == 1, "contrib/systemd/README.md has one fstab line",
                 repr(lines)):
        return
    fields = lines[0].split()
    options = fields[3].split(",")
    check(fields[2] == "fuse.drukfs" and "token_file=/etc/drukfs/token" in options
          and not any(o.startswith("token=") for o in options)
          and {"_netdev", "nofail", "x-systemd.automount", "allow_other"} <= set(options),
          "the fstab line: fuse.drukfs, token_file, _netdev, nofail, "
          "x-systemd.automount, allow_other", lines[0])
    if not os.access(FSTAB_GENERATOR, os.X_OK):
        skip("systemd-fstab-generator", f"{FSTAB_GENERATOR} not installed")
        return
    fstab = os.path.join(work, "fstab")
    with open(fstab, "w", encoding="utf-8") as f:
        f.write(lines[0] + "\n")
    out_dir = os.path.join(work, "generated")
    os.makedirs(out_dir)
    env = dict(os.environ, SYSTEMD_FSTAB=fstab, SYSTEMD_PROC_CMDLINE="",
               SYSTEMD_LOG_LEVEL="warning")
    rc, out, err = run([FSTAB_GENERATOR, out_dir, out_dir, out_dir], env=env)
    mount = os.path.join(out_dir, "mnt-drukbox.mount")
    automount = os.path.join(out_dir, "mnt-drukbox.automount")
    if not check(rc == 0 and os.path.isfile(mount) and os.path.isfile(automount),
                 "systemd-fstab-generator makes mnt-drukbox.mount and .automount",
                 f"exit {rc}" + tail(out + err)):
        return
    text = read(mount)
    check(f"What={fields[0]}" in text and "Where=/mnt/drukbox" in text
          and "Type=fuse.drukfs" in text and "token_file=/etc/drukfs/token" in text,
          "the .mount unit: What=URL, Where=/mnt/drukbox, Type=fuse.drukfs", text)
    check(os.path.lexists(os.path.join(out_dir, "remote-fs.target.wants",
                                       "mnt-drukbox.automount")),
          "_netdev,nofail: remote-fs.target wants (not requires) the automount",
          repr(sorted(os.listdir(out_dir))))
    if shutil.which("systemd-analyze"):
        rc, out, err = run(["systemd-analyze", "verify", "--man=no", mount, automount],
                           cwd=work)
        mine = [line for line in (out + err).splitlines() if "mnt-drukbox" in line]
        check(rc == 0 and not mine, "systemd-analyze verify accepts the generated units",
              f"exit {rc}" + tail(out + err))


def main():
    if not BUILD or not os.path.isfile(os.path.join(BUILD, "build.ninja")):
        check(False, "BUILD_ROOT names a meson build directory", repr(BUILD))
        print(f"{passed} passed, {failed} failed")
        return 1
    work = tempfile.mkdtemp(prefix="drukfs-install-")
    try:
        try:
            cfg = build_config()
        except (RuntimeError, ValueError, KeyError) as e:
            check(False, "meson introspect", str(e))
            cfg = None
        if cfg:
            destdir = os.path.join(work, "destdir")
            if test_install(destdir, cfg):
                test_pkgconfig(destdir, cfg, work)
                test_units(destdir, cfg, work)
            test_fstab(destdir, cfg, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    sys.stdout.flush()
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
